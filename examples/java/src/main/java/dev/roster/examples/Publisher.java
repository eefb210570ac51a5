package dev.roster.examples;

import dev.roster.RosterClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Publishes one address for a service until Ctrl-C (or for {@code --seconds}).
 *
 * <pre>
 * java -cp examples/java/target/roster-examples.jar dev.roster.examples.Publisher \
 *     --endpoint 127.0.0.1:9600 --data-id com.example.OrderService:1.0 \
 *     --data bolt://127.0.0.1:12200?weight=100
 * </pre>
 */
public final class Publisher {
    private Publisher() {}

    public static void main(String[] argv) throws InterruptedException {
        Args args = new Args(argv);
        String dataId = args.get("data-id", "com.example.OrderService:1.0");
        String address = args.get("data", "bolt://127.0.0.1:12200?weight=100");
        RosterClient client = RosterClient.builder()
                .endpoints(List.of(args.get("endpoint", "127.0.0.1:9600").split(",")))
                .appName("java-publisher")
                .build();
        client.waitConnected(Duration.ofSeconds(10));
        dev.roster.Publisher publisher = client.publish(dataId, List.of(address));
        System.out.println("java publisher: published " + address + " under " + publisher.dataInfoId());

        // Ctrl-C: close() unregisters the address before the JVM exits.
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            client.close();
            stop.countDown();
        }));
        if (args.has("seconds")) {
            stop.await(Long.parseLong(args.get("seconds", "0")), TimeUnit.SECONDS);
            client.close();
            System.out.println("java publisher: unregistered");
        } else {
            stop.await();
        }
    }
}
