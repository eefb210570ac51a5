package dev.roster.testing;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension giving each test a fresh {@link RosterTestServer} as a parameter,
 * stopped after the test:
 *
 * <pre>{@code
 * @ExtendWith(RosterServerExtension.class)
 * class MyServiceTest {
 *     @Test
 *     void registers(RosterTestServer server) { ... }
 * }
 * }</pre>
 */
public final class RosterServerExtension implements ParameterResolver, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(RosterServerExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext c) {
        return p.getParameter().getType() == RosterTestServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext c) {
        return c.getStore(NS).getOrComputeIfAbsent("server", k -> RosterTestServer.start(), RosterTestServer.class);
    }

    @Override
    public void afterEach(ExtensionContext c) {
        RosterTestServer server = c.getStore(NS).remove("server", RosterTestServer.class);
        if (server != null) {
            server.close();
        }
    }
}
