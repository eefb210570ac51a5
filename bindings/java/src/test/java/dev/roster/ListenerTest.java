package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

class ListenerTest extends Fixtures {
    static final String SVC = "com.example.JavaListeners:1.0";

    /** Collects what reaches a java.util.logging logger (System.Logger's default backend). */
    static final class Captured extends Handler implements AutoCloseable {
        final List<LogRecord> records = new CopyOnWriteArrayList<>();
        final Logger logger; // held: JUL keeps loggers weakly

        Captured(String name) {
            logger = Logger.getLogger(name);
            logger.addHandler(this);
        }

        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {
            logger.removeHandler(this);
        }

        boolean has(Level level, String text) {
            return records.stream()
                    .anyMatch(r -> r.getLevel().equals(level) && r.getMessage().contains(text));
        }
    }

    @Test
    void aListenerGetsEachNewerVersionOnTheDispatcherThread() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        List<SubscriberData> seen = new CopyOnWriteArrayList<>();
        List<String> threads = new CopyOnWriteArrayList<>();
        consumer.subscribe(SVC, SubscribeOptions.DEFAULT, d -> {
            seen.add(d);
            threads.add(Thread.currentThread().getName());
        });
        Publisher pub = provider.publish(SVC, List.of("a"));
        eventually(
                "the first push",
                () -> !seen.isEmpty() && seen.get(seen.size() - 1).size() == 1);
        pub.republish("a", "b");
        eventually("the second push", () -> seen.get(seen.size() - 1).size() == 2);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i).version() > seen.get(i - 1).version(), "versions grow: " + seen);
        }
        assertEquals(
                List.of("roster-java-dispatch"), threads.stream().distinct().toList());
    }

    @Test
    void aListenerThatThrowsIsLoggedAndLaterPushesStillCome() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        List<SubscriberData> seen = new CopyOnWriteArrayList<>();
        try (Captured log = new Captured("dev.roster")) {
            consumer.subscribe(SVC, SubscribeOptions.DEFAULT, d -> {
                seen.add(d);
                if (d.size() == 1) {
                    throw new IllegalStateException("boom in the listener");
                }
            });
            Publisher pub = provider.publish(SVC, List.of("a"));
            eventually("the throw is logged", () -> log.has(Level.WARNING, "the listener of " + SVC + " threw"));
            LogRecord r = log.records.stream()
                    .filter(x -> x.getThrown() != null)
                    .findFirst()
                    .orElseThrow();
            assertEquals("boom in the listener", r.getThrown().getMessage());
            pub.republish("a", "b");
            eventually(
                    "the next push after the throw",
                    () -> seen.get(seen.size() - 1).size() == 2);
        }
    }

    @Test
    void aSlowListenerGetsTheNewestDataNextNotEveryVersion() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        Publisher pub = provider.publish(SVC, List.of("v0"));
        List<String> seen = new CopyOnWriteArrayList<>();
        consumer.subscribe(SVC, SubscribeOptions.DEFAULT, d -> {
            seen.add(d.items().get(0));
            if (seen.size() == 1) {
                sleep(500); // while this runs, 30 more versions are published
            }
        });
        eventually("the first call", () -> !seen.isEmpty());
        for (int i = 1; i <= 30; i++) {
            pub.republish("v" + i);
        }
        eventually("the newest", () -> seen.get(seen.size() - 1).equals("v30"));
        assertTrue(seen.size() < 10, "coalesced while slow: " + seen);
    }

    @Test
    void aListenerMayCallTheClientItself() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        // A blocking publish from the dispatcher thread: it must not wait on that thread.
        consumer.subscribe(SVC, SubscribeOptions.DEFAULT, d -> {
            if (d.size() == 1) {
                consumer.publish(SVC + ".echo", List.of("echo:" + d.items().get(0)));
            }
        });
        Subscriber echo = provider.subscribe(SVC + ".echo");
        provider.publish(SVC, List.of("ping"));
        assertEquals(
                List.of("echo:ping"), echo.waitFor(d -> d.size() == 1, WAIT).items());
    }

    @Test
    void rustLogsReachTheJavaLoggerNamedByTheirModule() throws Exception {
        try (Captured log = new Captured("roster_core")) {
            RosterTestServer srv = server();
            connect(srv);
            eventually(
                    "a roster_core record",
                    () -> log.records.stream()
                            .anyMatch(r -> r.getLoggerName().startsWith("roster_core.")
                                    && r.getMessage().contains("session up")));
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
