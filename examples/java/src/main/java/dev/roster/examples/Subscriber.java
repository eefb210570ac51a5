package dev.roster.examples;

import dev.roster.RosterClient;
import dev.roster.Scope;
import dev.roster.SubscribeOptions;
import dev.roster.SubscriberData;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Subscribes to a service and prints every push, from a listener.
 *
 * <pre>
 * java -cp examples/java/target/roster-examples.jar dev.roster.examples.Subscriber \
 *     --endpoint 127.0.0.1:9600[,HOST:PORT...] --data-id com.example.OrderService:1.0 \
 *     [--until-empty] [--scope global]
 * </pre>
 *
 * With {@code --until-empty} it exits once the service had providers and then has none (the
 * demo uses that); otherwise it runs until Ctrl-C.
 */
public final class Subscriber {
    private Subscriber() {}

    public static void main(String[] argv) throws InterruptedException {
        Args args = new Args(argv);
        String dataId = args.get("data-id", "com.example.OrderService:1.0");
        Scope scope = Scope.fromWireName(args.get("scope", "global"));
        boolean untilEmpty = args.has("until-empty");

        CountDownLatch gone = new CountDownLatch(1);
        boolean[] hadProviders = {false}; // written only on the dispatcher thread
        try (RosterClient client = RosterClient.builder()
                .endpoints(List.of(args.get("endpoint", "127.0.0.1:9600").split(",")))
                .appName("java-subscriber")
                .build()) {
            client.waitConnected(Duration.ofSeconds(10));
            // The first push may reach the listener before subscribe() returns: the lock keeps
            // the "subscribed" line first.
            Object out = new Object();
            synchronized (out) {
                var sub = client.subscribe(dataId, SubscribeOptions.scope(scope), (SubscriberData data) -> {
                    synchronized (out) {
                        System.out.println("java subscriber: v" + data.version() + " " + data.zones());
                    }
                    hadProviders[0] |= !data.isEmpty();
                    if (untilEmpty && hadProviders[0] && data.isEmpty()) {
                        gone.countDown();
                    }
                });
                System.out.println("java subscriber: subscribed to " + sub.dataInfoId());
            }
            gone.await();
        }
    }
}
