package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ErrorsTest extends Fixtures {
    static final String SVC = "com.example.JavaErrors:1.0";

    static void throwsWith(Class<? extends Throwable> type, String message, Executable call) {
        Throwable e = assertThrows(type, call);
        assertEquals(message, e.getMessage());
    }

    static void startsWith(Class<? extends Throwable> type, String prefix, Executable call) {
        Throwable e = assertThrows(type, call);
        assertTrue(
                e.getMessage().startsWith(prefix), () -> "\"" + e.getMessage() + "\" starts with \"" + prefix + "\"");
    }

    /** The error a future failed with. */
    static Throwable failure(Supplier<CompletableFuture<?>> call) {
        CompletionException e =
                assertThrows(CompletionException.class, () -> call.get().join());
        return e.getCause();
    }

    @Test
    void theCodesAreTheCoresOneToOne() {
        assertEquals(
                Arrays.asList(TestSupport.errorCodes()),
                Arrays.stream(RosterException.Code.values()).map(Enum::name).toList());
        assertEquals(RosterException.Code.TIMEOUT, new RosterException("TIMEOUT: slow").code());
        assertEquals(RosterException.Code.INTERNAL, new RosterException("no code here").code());
    }

    @Test
    void nullsAreNullPointerExceptionsNamingTheArgument() {
        RosterClient c = connect(server());
        throwsWith(NullPointerException.class, "dataId must not be null", () -> c.publish(null, List.of("x")));
        throwsWith(NullPointerException.class, "data must not be null", () -> c.publish(SVC, null));
        throwsWith(
                NullPointerException.class, "data[1] must not be null", () -> c.publish(SVC, Arrays.asList("a", null)));
        throwsWith(NullPointerException.class, "options must not be null", () -> c.subscribe(SVC, null));
        throwsWith(NullPointerException.class, "scope must not be null", () -> SubscribeOptions.scope(null));
        throwsWith(
                NullPointerException.class,
                "predicate must not be null",
                () -> c.subscribe(SVC).waitFor(null, WAIT));
        throwsWith(
                NullPointerException.class,
                "zone must not be null",
                () -> RosterClient.builder().zone(null));
        throwsWith(NullPointerException.class, "mode must not be null", () -> c.setPublishMode(null));
    }

    @Test
    void badValuesAreIllegalArgumentExceptionsNamingThem() {
        RosterClient c = connect(server());
        startsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: dataId must not be empty",
                () -> c.publish("", List.of("x")));
        startsWith(IllegalArgumentException.class, "INVALID_ARGUMENT: dataId", () -> c.subscribe("a#@#b"));
        throwsWith(
                IllegalArgumentException.class,
                "timeout must not be negative, got PT-1S",
                () -> c.waitConnected(Duration.ofSeconds(-1)));
        throwsWith(
                IllegalArgumentException.class,
                "port must be 0..65535, got 70000",
                () -> RosterTestServer.start(70000, Duration.ZERO));
        startsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: endpoint \"nowhere\" is not host:port",
                () -> RosterClient.builder().endpoints("nowhere").build());
        throwsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: migrationThreshold must be between 0 and 1, got 2",
                () -> RosterClient.builder().migrationThreshold(2).build());
        throwsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: endpoints must name at least one registry node",
                () -> RosterClient.builder().endpoints(List.of()).build());
        throwsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: scope \"galaxy\" is not one of \"zone\", \"dataCenter\", \"global\"",
                () -> Scope.fromWireName("galaxy"));
        assertEquals(SubscribeMode.APPLICATION_FIRST, SubscribeMode.fromWireName("application-first"));
        // Every constant has the core's name, in order, and reads back.
        for (Scope v : Scope.values()) {
            assertEquals(v, Scope.fromWireName(v.wireName()));
        }
        for (PublishMode v : PublishMode.values()) {
            assertEquals(v, PublishMode.fromWireName(v.wireName()));
        }
        for (SubscribeMode v : SubscribeMode.values()) {
            assertEquals(v, SubscribeMode.fromWireName(v.wireName()));
        }
        assertEquals("dataCenter", Scope.DATA_CENTER.wireName());
        assertEquals("force-application", SubscribeMode.FORCE_APPLICATION.wireName());
        // TLS and credentials reach the core, which reads the CA file when the client is built.
        startsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: tls.caFile /nonexistent/ca.pem: ",
                () -> RosterClient.builder()
                        .tlsCaFile(java.nio.file.Path.of("/nonexistent/ca.pem"))
                        .credentials("orders", "s3cret")
                        .build());
        throwsWith(
                IllegalArgumentException.class,
                "INVALID_ARGUMENT: credentials: accessKey and secretKey must both be given",
                () -> RosterClient.builder().tls(true).credentials("orders", "").build());
        // The async form fails its future with the same exception.
        Throwable e = failure(() -> c.publishAsync("", List.of("x")));
        assertInstanceOf(IllegalArgumentException.class, e);
        assertTrue(e.getMessage().startsWith("INVALID_ARGUMENT: dataId must not be empty"), e.getMessage());
    }

    @Test
    void noRegistryReachableIsNotConnected() {
        try (RosterClient c = RosterClient.builder()
                .endpoints("127.0.0.1:1")
                .connectTimeout(Duration.ofMillis(200))
                .build()) {
            RosterException e = assertThrows(RosterException.class, () -> c.waitConnected(Duration.ofMillis(300)));
            assertEquals(RosterException.Code.NOT_CONNECTED, e.code());
            assertTrue(
                    e.getMessage()
                            .startsWith(
                                    "NOT_CONNECTED: no registry node answered within 300 ms (tried 127.0.0.1:1; last error: "),
                    e.getMessage());
        }
    }

    @Test
    void aClosedClientIsShutDownInBothForms() {
        RosterTestServer srv = server();
        RosterClient c = connect(srv);
        c.publish(SVC, List.of("x"));
        c.close();
        c.close(); // twice is fine
        assertEquals(0, srv.publishers(), "close unregistered everything");
        RosterException e = assertThrows(RosterException.class, () -> c.publish(SVC, List.of("y")));
        assertEquals(RosterException.Code.SHUT_DOWN, e.code());
        assertEquals("SHUT_DOWN: the client is closed", e.getMessage());
        assertEquals(
                RosterException.Code.SHUT_DOWN,
                ((RosterException) failure(() -> c.subscribeAsync(SVC, SubscribeOptions.DEFAULT, null))).code());
        c.closeAsync().join();
    }

    @Test
    void aHandleUsedAfterUnregisterOrUnsubscribeIsShutDown() {
        RosterClient c = connect(server());
        Publisher p = c.publish(SVC, List.of("x"));
        p.unregister();
        p.close(); // twice is fine
        RosterException e = assertThrows(RosterException.class, () -> p.republish("y"));
        assertEquals(RosterException.Code.SHUT_DOWN, e.code());
        assertTrue(e.getMessage().matches("SHUT_DOWN: publisher .+ is unregistered"), e.getMessage());
        Throwable async = failure(() -> p.republishAsync(List.of("z")));
        assertEquals(RosterException.Code.SHUT_DOWN, ((RosterException) async).code());

        Subscriber s = c.subscribe(SVC);
        s.unsubscribe();
        s.unsubscribe();
        e = assertThrows(RosterException.class, s::mode);
        assertTrue(e.getMessage().matches("SHUT_DOWN: subscriber .+ is unsubscribed"), e.getMessage());
        assertThrows(RosterException.class, () -> s.setMode(SubscribeMode.FORCE_INTERFACE));
        assertEquals(
                RosterException.Code.SHUT_DOWN,
                assertThrows(RosterException.class, () -> s.waitFor(WAIT)).code());
    }
}
