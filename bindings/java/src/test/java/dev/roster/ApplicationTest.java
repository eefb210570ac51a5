package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.roster.testing.RosterTestServer;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The migration to application-level discovery: every mode pair, and switching at run time. */
class ApplicationTest extends Fixtures {
    static final String ORDERS = "com.example.JavaOrders:1.0";

    static String url(int i) {
        return "bolt://10.0.0." + i + ":12200?timeout=3000&weight=100";
    }

    static Stream<Arguments> pairs() {
        return Stream.of(PublishMode.values())
                .flatMap(p -> Stream.of(SubscribeMode.values()).map(s -> Arguments.of(p, s)));
    }

    @ParameterizedTest(name = "a {0} provider and a {1} consumer")
    @MethodSource("pairs")
    void everyModePairFindsTheProviderOnce(PublishMode publishMode, SubscribeMode subscribeMode) {
        RosterTestServer srv = server();
        RosterClient provider = connect(RosterClient.builder()
                .endpoints(srv.endpoint())
                .appName("orders-" + publishMode.wireName())
                .publishMode(publishMode));
        provider.publish(ORDERS, List.of(url(1)));
        RosterClient consumer =
                connect(RosterClient.builder().endpoints(srv.endpoint()).subscribeMode(subscribeMode));
        Subscriber sub = consumer.subscribe(ORDERS);
        assertEquals(List.of(url(1)), sub.waitFor(d -> d.size() > 0, WAIT).items());
        assertEquals(subscribeMode, sub.mode());
        // Force-application over interface-only providers stays pending: the application
        // level holds nothing, so both levels are merged.
        MigrationStatus expected =
                publishMode == PublishMode.INTERFACE && subscribeMode == SubscribeMode.FORCE_APPLICATION
                        ? new MigrationStatus(MigrationStatus.Status.PENDING, 0, 1)
                        : new MigrationStatus(MigrationStatus.Status.valueOf(subscribeMode.name()), 0, 0);
        assertEquals(expected, sub.migrationStatus());
    }

    @Test
    void providersAndConsumersSwitchModesAtRunTime() throws Exception {
        RosterTestServer srv = server();
        RosterClient provider = connect(RosterClient.builder()
                .endpoints(srv.endpoint())
                .appName("orders-migrating")
                .publishMode(PublishMode.INTERFACE));
        provider.publish(ORDERS, List.of(url(2)));
        RosterClient consumer = connect(
                RosterClient.builder().endpoints(srv.endpoint()).subscribeMode(SubscribeMode.APPLICATION_FIRST));
        Subscriber sub = consumer.subscribe(ORDERS);
        sub.waitFor(d -> d.items().equals(List.of(url(2))), WAIT);
        for (PublishMode mode : List.of(PublishMode.ALL, PublishMode.APPLICATION)) {
            provider.setPublishMode(mode);
            assertEquals(mode, provider.publishMode());
            assertEquals(List.of(url(2)), sub.waitFor(d -> d.size() == 1, WAIT).items());
        }
        consumer.setSubscribeModeAsync(SubscribeMode.FORCE_APPLICATION).join();
        assertEquals(SubscribeMode.FORCE_APPLICATION, consumer.subscribeMode());
        eventually(
                "force-application", () -> sub.migrationStatus().status() == MigrationStatus.Status.FORCE_APPLICATION);
        assertEquals(List.of(url(2)), sub.waitFor(d -> d.size() == 1, WAIT).items());
        sub.setMode(SubscribeMode.APPLICATION_FIRST);
        assertEquals(SubscribeMode.APPLICATION_FIRST, sub.mode());
        assertEquals(SubscribeMode.FORCE_APPLICATION, consumer.subscribeMode());
        sub.setMode(null);
        assertEquals(SubscribeMode.FORCE_APPLICATION, sub.mode());
    }
}
