package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PubSubTest extends Fixtures {
    static final String SVC = "com.example.JavaService:1.0";

    @Test
    void publishThenSubscribeAndSubscribeThenPublishBothDeliver() {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        provider.publish(SVC + ".a", List.of("bolt://10.0.0.1:12200"));
        Subscriber first = consumer.subscribe(SVC + ".a", SubscribeOptions.scope(Scope.GLOBAL));
        SubscriberData d = first.waitFor(x -> x.size() == 1, WAIT);
        assertEquals(List.of("bolt://10.0.0.1:12200"), d.items());
        assertEquals(SVC + ".a", d.dataId());
        assertEquals(SVC + ".a#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP", d.dataInfoId());
        assertEquals(Scope.GLOBAL, d.scope());
        assertFalse(d.fromCache());

        Subscriber later = consumer.subscribe(SVC + ".b", SubscribeOptions.scope(Scope.GLOBAL));
        SubscriberData empty = later.waitFor(WAIT);
        assertTrue(empty.isEmpty());
        provider.publish(SVC + ".b", List.of("bolt://10.0.0.2:12200"));
        assertTrue(later.waitFor(x -> x.size() == 1, WAIT).version() > empty.version());
    }

    @Test
    void republishAndUnregisterArePushedDownToAnEmptyList() {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        Subscriber sub = consumer.subscribe(SVC, SubscribeOptions.scope(Scope.GLOBAL));
        Publisher pub = provider.publish(SVC, List.of("bolt://10.0.0.1:12200"));
        assertEquals(SVC + "#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP", pub.dataInfoId());
        SubscriberData one = sub.waitFor(x -> x.size() == 1, WAIT);
        pub.republish("bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200");
        SubscriberData two = sub.waitFor(x -> x.size() == 2, WAIT);
        assertEquals(Map.of("DEFAULT_ZONE", List.of("bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200")), two.zones());
        assertEquals(
                new PublisherState(2, List.of("bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200")),
                pub.current().orElseThrow());
        assertEquals(List.of("bolt://10.0.0.2:12200"), two.added());
        assertEquals(List.of(), two.removed());
        pub.unregister();
        SubscriberData none = sub.waitFor(SubscriberData::isEmpty, WAIT);
        assertTrue(one.version() < two.version() && two.version() < none.version());
        assertEquals(List.of(), none.added());
        assertEquals(
                List.of("bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200"),
                none.removed().stream().sorted().toList());
        assertTrue(pub.current().isEmpty());
        assertEquals(0, srv.publishers());
        assertThrows(UnsupportedOperationException.class, () -> two.zones().put("x", List.of()));
    }

    @Test
    void aZoneScopedSubscriberSeesOnlyItsZoneAGlobalOneEveryZone() {
        RosterTestServer srv = server();
        RosterClient a =
                connect(RosterClient.builder().endpoints(srv.endpoint()).zone("zone-a"));
        RosterClient b =
                connect(RosterClient.builder().endpoints(srv.endpoint()).zone("zone-b"));
        a.publish(SVC, List.of("in-a"));
        b.publish(SVC, List.of("in-b"));
        Subscriber everyone = a.subscribe(SVC, SubscribeOptions.scope(Scope.GLOBAL));
        Subscriber mine = a.subscribe(SVC, SubscribeOptions.scope(Scope.ZONE));
        assertEquals(
                Map.of("zone-a", List.of("in-a"), "zone-b", List.of("in-b")),
                everyone.waitFor(x -> x.size() == 2, WAIT).zones());
        assertEquals(List.of("in-a"), mine.waitFor(x -> x.size() > 0, WAIT).items());
        Subscriber dc = b.subscribe(SVC, SubscribeOptions.scope(Scope.DATA_CENTER));
        assertEquals(2, dc.waitFor(x -> x.size() == 2, WAIT).size());
    }

    @Test
    void peekAndWaitForWithATimeOut() {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer = connect(srv);
        provider.publish(SVC, List.of("a"));
        Subscriber sub = consumer.subscribe(SVC);
        sub.waitFor(x -> x.size() == 1, WAIT);
        assertEquals(List.of("a"), sub.peek().orElseThrow().items());
        RosterException e =
                assertThrows(RosterException.class, () -> sub.waitFor(x -> x.size() == 5, Duration.ofMillis(100)));
        assertEquals(RosterException.Code.TIMEOUT, e.code());
        assertEquals(
                "TIMEOUT: no data of " + SVC
                        + "#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP matched within 100 ms; the latest is version "
                        + sub.peek().orElseThrow().version() + " with 1 items",
                e.getMessage());
        // Nothing pushed yet (no registry reachable): peek() is empty.
        try (RosterClient offline =
                RosterClient.builder().endpoints("127.0.0.1:1").build()) {
            assertTrue(offline.subscribe(SVC).peek().isEmpty());
        }
    }

    @Test
    void tenThousandSubscribersOfOneDataIdEachGetEveryChange() {
        RosterTestServer srv = server();
        RosterClient provider = connect(srv);
        RosterClient consumer =
                connect(RosterClient.builder().endpoints(srv.endpoint()).requestTimeout(Duration.ofSeconds(30)));
        Publisher pub = provider.publish(SVC, List.of("v1"));
        List<Subscriber> subs = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            subs.add(
                    consumer.subscribeAsync(SVC, SubscribeOptions.DEFAULT, null).join());
        }
        for (Subscriber s : subs) {
            s.waitFor(x -> x.items().equals(List.of("v1")), Duration.ofSeconds(30));
        }
        pub.republish("v2");
        for (Subscriber s : subs) {
            s.waitFor(x -> x.items().equals(List.of("v2")), Duration.ofSeconds(30));
        }
        assertEquals(10_000, srv.subscribers());
    }

    @Test
    void asyncOperationsApplyInTheOrderTheyAreCalled() {
        RosterTestServer srv = server();
        RosterClient c = connect(srv);
        Publisher pub = c.publishAsync(SVC, List.of("v0")).join();
        List<java.util.concurrent.CompletableFuture<Void>> all = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            all.add(pub.republishAsync(List.of("v" + i)));
        }
        java.util.concurrent.CompletableFuture.allOf(all.toArray(new java.util.concurrent.CompletableFuture<?>[0]))
                .join();
        assertEquals(List.of("v50"), pub.current().orElseThrow().data());
        Subscriber s = c.subscribeAsync(SVC, SubscribeOptions.DEFAULT, null).join();
        s.waitFor(x -> x.items().equals(List.of("v50")), WAIT);
    }
}
