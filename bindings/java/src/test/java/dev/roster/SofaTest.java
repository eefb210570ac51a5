package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The same Java API against a real SOFARegistry: only the endpoint differs. Runs when
 * ROSTER_SOFA_ENDPOINT names one ({@code make sofa-test} starts it and sets it).
 */
@EnabledIfEnvironmentVariable(named = "ROSTER_SOFA_ENDPOINT", matches = ".+")
class SofaTest extends Fixtures {
    static final Duration SOFA_WAIT = Duration.ofSeconds(30); // about 2 s a push with its defaults

    static String fresh(String name) {
        return "roster.javatest." + name + "." + UUID.randomUUID() + ":1.0";
    }

    RosterClient sofa() {
        RosterClient c = RosterClient.builder()
                .endpoints(System.getenv("ROSTER_SOFA_ENDPOINT"))
                .appName("java-sofa")
                .requestTimeout(Duration.ofSeconds(10))
                .build();
        made.add(c);
        c.waitConnected(SOFA_WAIT);
        assertEquals("sofa", c.protocol());
        return c;
    }

    @Test
    void publishRepublishAndUnregisterReachASubscriberThroughSofaRegistry() {
        RosterClient provider = sofa();
        RosterClient consumer = sofa();
        String id = fresh("changes");
        Publisher pub = provider.publish(id, List.of("bolt://10.13.0.1:1"));
        Subscriber sub = consumer.subscribe(id, SubscribeOptions.scope(Scope.GLOBAL));
        SubscriberData one = sub.waitFor(d -> d.size() == 1, SOFA_WAIT);
        assertEquals(Map.of("DEFAULT_ZONE", List.of("bolt://10.13.0.1:1")), one.zones());
        pub.republish("bolt://10.13.0.1:1", "bolt://10.13.0.2:1");
        SubscriberData two = sub.waitFor(d -> d.size() == 2, SOFA_WAIT);
        pub.unregister();
        SubscriberData none = sub.waitFor(SubscriberData::isEmpty, SOFA_WAIT);
        assertTrue(one.version() < two.version() && two.version() < none.version());
    }

    @Test
    void listenersAndTheRefusalOfApplicationLevelModes() throws Exception {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> RosterClient.builder()
                        .endpoints(System.getenv("ROSTER_SOFA_ENDPOINT"))
                        .subscribeMode(SubscribeMode.APPLICATION_FIRST)
                        .build());
        assertTrue(e.getMessage().contains("needs application-level discovery"), e.getMessage());
        RosterClient c = sofa();
        String id = fresh("listener");
        List<Integer> seen = new CopyOnWriteArrayList<>();
        c.subscribe(id, SubscribeOptions.scope(Scope.GLOBAL), d -> seen.add(d.size()));
        c.publish(id, List.of("bolt://10.13.1.1:1"));
        long deadline = System.nanoTime() + SOFA_WAIT.toNanos();
        while (!seen.contains(1)) {
            assertTrue(System.nanoTime() < deadline, "listener saw " + seen);
            Thread.sleep(20);
        }
    }
}
