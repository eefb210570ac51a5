package dev.roster.bench;

import dev.roster.Publisher;
import dev.roster.RosterClient;
import dev.roster.SubscribeOptions;
import dev.roster.Subscriber;
import dev.roster.SubscriberData;
import dev.roster.testing.RosterTestServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The Java binding's benchmark: the Rust bench's (h) and (i) from Java, plus memory (e).
 *
 * <pre>
 * make bench-java    # = java -Xmx2g -cp examples/java/target/roster-examples.jar dev.roster.bench.Bench
 * </pre>
 *
 * The registry runs in a child JVM, like the Rust bench's. Compare with
 * {@code cargo run --release -p roster-bench -- --only h,i} and the Python and Node benches.
 */
public final class Bench {
    private static final Duration LONG = Duration.ofSeconds(60);

    private Bench() {}

    static String item(int tag) {
        String s = "bolt://10.1.2.3:12200?weight=100&timeout=3000&app=bench&zone=z#" + tag;
        return s.replace("#", "_".repeat(Math.max(0, 100 - s.length())) + "#");
    }

    /** The tag of the data's item; -1 for no item (the provider closing at the end). */
    static int tag(SubscriberData d) {
        if (d.isEmpty()) {
            return -1;
        }
        String first = d.items().get(0);
        return Integer.parseInt(first.substring(first.lastIndexOf('#') + 1));
    }

    /** A registry in a child JVM: its endpoint, and closing its stdin stops it. */
    record Served(Process process, String endpoint) implements AutoCloseable {
        static Served start() throws IOException {
            String java =
                    Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(
                            java,
                            "-Droster.log=warn",
                            "-cp",
                            System.getProperty("java.class.path"),
                            Bench.class.getName(),
                            "serve")
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            return new Served(p, out.readLine());
        }

        @Override
        public void close() throws IOException {
            process.getOutputStream().close();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return 0;
    }

    static long heap() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        Runtime r = Runtime.getRuntime();
        return r.totalMemory() - r.freeMemory();
    }

    static double quantile(double[] sorted, double q) {
        return sorted[Math.min(sorted.length - 1, (int) (q * sorted.length))];
    }

    /** A listener that counts the callbacks that saw the current tag. */
    static final class Counting implements Consumer<SubscriberData> {
        final AtomicLong calls = new AtomicLong();
        final Object lock = new Object();
        volatile int current;
        long remaining;

        @Override
        public void accept(SubscriberData d) {
            calls.incrementAndGet();
            if (tag(d) == current) {
                synchronized (lock) {
                    if (--remaining == 0) {
                        lock.notifyAll();
                    }
                }
            }
        }

        void expect(int tag, long count) {
            synchronized (lock) {
                current = tag;
                remaining = count;
            }
        }

        void settled() throws InterruptedException {
            synchronized (lock) {
                while (remaining > 0) {
                    lock.wait();
                }
            }
        }
    }

    static void callbacks(String endpoint, int s, int changes) throws Exception {
        try (RosterClient consumer = RosterClient.builder()
                        .endpoints(endpoint)
                        .appName("bench-consumer")
                        .requestTimeout(LONG)
                        .build();
                RosterClient provider = RosterClient.builder()
                        .endpoints(endpoint)
                        .appName("bench-provider")
                        .build()) {
            consumer.waitConnected(LONG);
            provider.waitConnected(LONG);
            Publisher pub = provider.publish("bench.Callbacks", List.of(item(0)));
            Counting listener = new Counting();
            listener.expect(0, s);
            long rssBefore = rss();
            long heapBefore = heap();
            List<Subscriber> subs = new ArrayList<>(s);
            for (int i = 0; i < s; i++) {
                subs.add(consumer.subscribe("bench.Callbacks", SubscribeOptions.DEFAULT, listener));
            }
            listener.settled();
            long heapPerSub = (heap() - heapBefore) / s;
            long rssPerSub = (rss() - rssBefore) / s;

            double[] latencies = new double[changes];
            long calls0 = listener.calls.get();
            long t0 = System.nanoTime();
            for (int i = 1; i <= changes; i++) {
                listener.expect(i, s);
                long sent = System.nanoTime();
                pub.republish(item(i));
                listener.settled();
                latencies[i - 1] = (System.nanoTime() - sent) / 1e6;
            }
            double rate = (listener.calls.get() - calls0) / ((System.nanoTime() - t0) / 1e9);
            Arrays.sort(latencies);
            System.out.printf(
                    "(h) callbacks from Java: %d subscribers of one dataId on one client, %d changes: %.0f callbacks/s;"
                            + " republish to last callback p50 %.2f ms p99 %.2f ms%n",
                    s, changes, rate, quantile(latencies, 0.5), quantile(latencies, 0.99));
            System.out.printf(
                    "(e) Java memory per subscription (over %d subscriptions with one 100-byte item and a listener):"
                            + " %d bytes of process RSS growth, %d bytes of Java heap%n",
                    s, rssPerSub, heapPerSub);
            subs.clear();
        }
    }

    static void sequential(String endpoint, int n) {
        try (RosterClient client = RosterClient.builder()
                .endpoints(endpoint)
                .appName("bench-calls")
                .build()) {
            client.waitConnected(LONG);
            List<Publisher> held = new ArrayList<>(n);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                held.add(client.publish("bench.Calls." + i, List.of(item(i))));
            }
            double publish = (System.nanoTime() - t0) / 1e3 / n;
            t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                held.get(0).republish(item(i));
            }
            double republish = (System.nanoTime() - t0) / 1e3 / n;
            System.out.printf(
                    "(i) sequential calls from Java, %d each: publish %.1f us/call, republish %.1f us/call%n",
                    n, publish, republish);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("serve")) {
            try (RosterTestServer server = RosterTestServer.start(0, Duration.ofSeconds(30))) {
                System.out.println(server.endpoint());
                System.out.flush();
                while (System.in.read() >= 0) {
                    // until the parent closes stdin
                }
            }
            return;
        }
        boolean quick = Arrays.asList(args).contains("--quick");
        System.out.printf(
                "java %s on %d cores%n",
                System.getProperty("java.version"), Runtime.getRuntime().availableProcessors());
        try (Served server = Served.start()) {
            callbacks(server.endpoint(), quick ? 1000 : 10_000, quick ? 5 : 50);
        }
        try (Served server = Served.start()) {
            sequential(server.endpoint(), quick ? 200 : 5000);
        }
    }
}
