package dev.roster;

import dev.roster.testing.RosterTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** A server per test and clients closed after it. */
abstract class Fixtures {
    static final Duration WAIT = Duration.ofSeconds(10);

    final List<AutoCloseable> made = new ArrayList<>();

    RosterTestServer server() {
        RosterTestServer s = RosterTestServer.start(0, Duration.ofSeconds(1));
        made.add(s);
        return s;
    }

    RosterClient connect(RosterTestServer server) {
        return connect(RosterClient.builder().endpoints(server.endpoint()));
    }

    RosterClient connect(RosterClient.Builder builder) {
        RosterClient c =
                builder.appName("junit").requestTimeout(Duration.ofSeconds(5)).build();
        made.add(0, c); // closed before the server
        c.waitConnected(WAIT);
        return c;
    }

    @org.junit.jupiter.api.AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : made) {
            c.close();
        }
        made.clear();
    }

    static void eventually(String what, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + " within " + WAIT);
            }
            Thread.sleep(10);
        }
    }
}
