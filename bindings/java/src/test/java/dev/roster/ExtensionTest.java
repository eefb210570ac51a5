package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.roster.testing.RosterServerExtension;
import dev.roster.testing.RosterTestServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(RosterServerExtension.class)
class ExtensionTest {
    static String previous;

    @Test
    void eachTestGetsAFreshServer(RosterTestServer server) throws InterruptedException {
        try (RosterClient c =
                RosterClient.builder().endpoints(server.endpoint()).build()) {
            c.waitConnected(Duration.ofSeconds(10));
            c.publish("svc.Extension", List.of("x"));
            assertEquals(1, server.publishers(), "acknowledged: the server holds it");
            Fixtures.eventually("the session's push stream attached", () -> server.sessions() == 1);
        }
        assertNotEquals(previous, server.endpoint());
        previous = server.endpoint();
    }

    @Test
    void andAnotherOne(RosterTestServer server) {
        assertEquals(0, server.publishers());
        assertNotEquals(previous, server.endpoint());
        previous = server.endpoint();
        try (RosterClient c =
                RosterClient.builder().endpoints(server.endpoint()).build()) {
            c.waitConnected(Duration.ofSeconds(10));
        }
    }
}
