package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResilienceTest extends Fixtures {
    static final String SVC = "com.example.JavaResilience:1.0";

    @Test
    void afterTheServerRestartsEveryRegistrationIsRedoneAndPushedAgain() throws Exception {
        RosterTestServer first = RosterTestServer.start(0, Duration.ofSeconds(1));
        int port = first.port();
        RosterClient provider = connect(first);
        RosterClient consumer = connect(first);
        provider.publish(SVC, List.of("bolt://10.0.0.9:1"));
        Subscriber sub = consumer.subscribe(SVC, SubscribeOptions.scope(Scope.GLOBAL));
        sub.waitFor(d -> d.size() == 1, WAIT);
        first.close();

        RosterTestServer second = RosterTestServer.start(port, Duration.ofSeconds(1));
        made.add(second);
        provider.waitConnected(WAIT);
        consumer.waitConnected(WAIT);
        // The new server holds both again, with no user action.
        eventually("both redone", () -> second.publishers() == 1 && second.subscribers() == 1);
        assertEquals(
                List.of("bolt://10.0.0.9:1"),
                sub.waitFor(d -> d.size() == 1 && !d.fromCache(), WAIT).items());
    }

    @Test
    void aSubscriberStartedWhileTheRegistryIsDownGetsTheFailoverSnapshot(@TempDir Path cacheDir) {
        RosterTestServer srv = RosterTestServer.start();
        try (RosterClient provider = connect(srv)) {
            provider.publish(SVC, List.of("bolt://10.0.0.7:1"));
            try (RosterClient first = RosterClient.builder()
                    .endpoints(srv.endpoint())
                    .cacheDir(cacheDir)
                    .build()) {
                first.subscribe(SVC).waitFor(d -> d.size() == 1, WAIT);
            } // close() writes the last snapshots
        }
        String endpoint = srv.endpoint();
        srv.close();

        try (RosterClient offline =
                RosterClient.builder().endpoints(endpoint).cacheDir(cacheDir).build()) {
            SubscriberData cached = offline.subscribe(SVC)
                    .peek()
                    .orElseThrow(() -> new AssertionError("no snapshot at once in " + listing(cacheDir)));
            assertTrue(cached.fromCache());
            assertEquals(List.of("bolt://10.0.0.7:1"), cached.items());
            assertTrue(!offline.isConnected());
        }
    }

    static String listing(Path dir) {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir)) {
            return files.map(Path::toString).toList().toString();
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @Test
    void handlesTheUserForgotAreFreedWithoutUnregisteringAnything() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        Publisher kept = provider.publish(SVC, List.of("kept"));
        long before = TestSupport.handleCounts()[2];
        // Subscriber objects dropped without unsubscribe(): the Cleaner frees their native
        // handles; the subscriptions stay with their client (kept reachable by `kept`).
        for (int i = 0; i < 100; i++) {
            provider.subscribe(SVC + ".dropped" + i);
        }
        assertEquals(before + 100, TestSupport.handleCounts()[2]);
        for (int i = 0; i < 100 && TestSupport.handleCounts()[2] > before; i++) {
            System.gc();
            Thread.sleep(20);
        }
        long after = TestSupport.handleCounts()[2];
        assertTrue(
                after <= before, "the Cleaner freed the dropped handles: " + before + " before, " + after + " after");
        assertEquals(100, srv.subscribers(), "subscriptions stay until unsubscribed or the client closes");
        assertEquals(1, srv.publishers());
        assertEquals(List.of("kept"), kept.current().orElseThrow().data());
    }
}
