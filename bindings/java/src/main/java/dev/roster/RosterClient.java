package dev.roster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * A connection to the registry: publish and subscribe. Build one with {@link #builder()};
 * {@link #close()} unregisters everything. Endpoints {@code host:port} reach a Roster server,
 * {@code sofa://host[:port]} a SOFARegistry.
 *
 * <p>Every operation takes effect when called, so operations apply in the order they are
 * called. The blocking form returns once the registry acknowledged (bounded by the request
 * timeout), or at once while no session is up (the client registers everything it holds when
 * one comes up), and may be called from a listener; the {@code ...Async} form returns a future
 * completed on the Roster dispatcher thread, failed with a {@link RosterException} on error.
 * Either form throws {@link NullPointerException} or {@link IllegalArgumentException} at once
 * for a bad argument.
 */
public final class RosterClient implements AutoCloseable {
    private final long handle;
    private final AtomicBoolean closed = new AtomicBoolean();

    private RosterClient(long handle) {
        this.handle = handle;
        // A client nobody closed is closed when it becomes unreachable (publishers and
        // subscribers keep their client reachable, so nothing they hold is dropped early).
        Futures.CLEANER.register(this, () -> Native.clientFree(handle));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The id that identifies this client's session to the registry. */
    public String clientId() {
        return Native.clientId(handle);
    }

    public boolean isConnected() {
        return Native.clientConnected(handle);
    }

    /** {@code "roster"} or {@code "sofa"}, from the endpoints' scheme. */
    public String protocol() {
        return Native.clientProtocol(handle);
    }

    /** The registry nodes this client knows, in the order it tries them. */
    public List<String> members() {
        return List.of(Native.clientMembers(handle));
    }

    /** Waits until a session is up; RosterException NOT_CONNECTED after {@code timeout}. */
    public void waitConnected(Duration timeout) {
        Native.clientWaitConnected(handle, millis(timeout, "timeout"));
    }

    public PublishMode publishMode() {
        return PublishMode.fromWireName(Native.clientPublishMode(handle));
    }

    /** Switches how this client publishes: its publishers are re-registered at the new level. */
    public void setPublishMode(PublishMode mode) {
        Publisher.checkNotNull(mode, "mode");
        Native.clientSetPublishMode(handle, mode.wireName(), null);
    }

    public CompletableFuture<Void> setPublishModeAsync(PublishMode mode) {
        Publisher.checkNotNull(mode, "mode");
        return Futures.start(done -> Native.clientSetPublishMode(handle, mode.wireName(), done));
    }

    public SubscribeMode subscribeMode() {
        return SubscribeMode.fromWireName(Native.clientSubscribeMode(handle));
    }

    /** Switches how this client's subscribers (those without a mode of their own) find providers. */
    public void setSubscribeMode(SubscribeMode mode) {
        Publisher.checkNotNull(mode, "mode");
        Native.clientSetSubscribeMode(handle, mode.wireName(), null);
    }

    public CompletableFuture<Void> setSubscribeModeAsync(SubscribeMode mode) {
        Publisher.checkNotNull(mode, "mode");
        return Futures.start(done -> Native.clientSetSubscribeMode(handle, mode.wireName(), done));
    }

    /** Publishes {@code data} under {@code dataId}; returns once the registry acknowledged it. */
    public Publisher publish(String dataId, List<String> data) {
        return publish(dataId, data, PublishOptions.DEFAULT);
    }

    public Publisher publish(String dataId, List<String> data, PublishOptions options) {
        return new Publisher(this, (Long) startPublish(dataId, data, options, null));
    }

    public CompletableFuture<Publisher> publishAsync(String dataId, List<String> data) {
        return publishAsync(dataId, data, PublishOptions.DEFAULT);
    }

    public CompletableFuture<Publisher> publishAsync(String dataId, List<String> data, PublishOptions options) {
        CompletableFuture<Long> started = Futures.start(done -> startPublish(dataId, data, options, done));
        return started.thenApply(h -> new Publisher(this, h));
    }

    private Object startPublish(
            String dataId, List<String> data, PublishOptions options, CompletableFuture<Long> done) {
        Publisher.checkNotNull(dataId, "dataId");
        Publisher.checkNotNull(options, "options");
        String[] items = items(data);
        return Native.clientPublish(handle, dataId, items, options.group(), options.instanceId(), done);
    }

    /** Subscribes without a listener: read with {@link Subscriber#peek} or {@link Subscriber#waitFor}. */
    public Subscriber subscribe(String dataId) {
        return subscribe(dataId, SubscribeOptions.DEFAULT, null);
    }

    public Subscriber subscribe(String dataId, SubscribeOptions options) {
        return subscribe(dataId, options, null);
    }

    /**
     * Subscribes; {@code listener} gets every newer data on the Roster dispatcher thread (the
     * newest first when it falls behind). A listener that throws is logged to the
     * {@code dev.roster} System.Logger; later pushes still come.
     */
    public Subscriber subscribe(String dataId, SubscribeOptions options, Consumer<SubscriberData> listener) {
        return new Subscriber(this, (Long) startSubscribe(dataId, options, listener, null));
    }

    public CompletableFuture<Subscriber> subscribeAsync(
            String dataId, SubscribeOptions options, Consumer<SubscriberData> listener) {
        CompletableFuture<Long> started = Futures.start(done -> startSubscribe(dataId, options, listener, done));
        return started.thenApply(h -> new Subscriber(this, h));
    }

    private Object startSubscribe(
            String dataId, SubscribeOptions options, Consumer<SubscriberData> listener, CompletableFuture<Long> done) {
        Publisher.checkNotNull(dataId, "dataId");
        Publisher.checkNotNull(options, "options");
        Object l = listener == null ? null : new Dispatch.Listener(dataId, listener);
        return Native.clientSubscribe(
                handle,
                dataId,
                options.scope().wireName(),
                options.group(),
                options.instanceId(),
                options.mode() == null ? null : options.mode().wireName(),
                l,
                done);
    }

    /** Unregisters everything and closes the session; later calls fail with SHUT_DOWN. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            Native.clientClose(handle, null);
        }
    }

    public CompletableFuture<Void> closeAsync() {
        if (closed.compareAndSet(false, true)) {
            return Futures.start(done -> Native.clientClose(handle, done));
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public String toString() {
        return "RosterClient(" + clientId() + ", connected=" + isConnected() + ")";
    }

    static String[] items(List<String> data) {
        Publisher.checkNotNull(data, "data");
        String[] items = new String[data.size()];
        for (int i = 0; i < items.length; i++) {
            items[i] = data.get(i);
            if (items[i] == null) {
                throw new NullPointerException("data[" + i + "] must not be null");
            }
        }
        return items;
    }

    static long millis(Duration d, String name) {
        Publisher.checkNotNull(d, name);
        if (d.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, got " + d);
        }
        return d.toMillis();
    }

    /** Builds a {@link RosterClient}; every setting has a default. */
    public static final class Builder {
        private final Map<String, Object> options = new LinkedHashMap<>();

        private Builder() {}

        private Builder put(String name, Object value) {
            Publisher.checkNotNull(value, name);
            options.put(name, value);
            return this;
        }

        /** {@code host:port} of Roster servers, or {@code sofa://host[:port]} of a SOFARegistry. */
        public Builder endpoints(String... endpoints) {
            return endpoints(List.of(endpoints));
        }

        public Builder endpoints(List<String> endpoints) {
            Publisher.checkNotNull(endpoints, "endpoints");
            return put("endpoints", new ArrayList<>(endpoints).toArray(new String[0]));
        }

        public Builder appName(String appName) {
            return put("appName", appName);
        }

        public Builder zone(String zone) {
            return put("zone", zone);
        }

        public Builder dataCenter(String dataCenter) {
            return put("dataCenter", dataCenter);
        }

        /** The default tenant of this client's registrations. */
        public Builder instanceId(String instanceId) {
            return put("instanceId", instanceId);
        }

        public Builder publishMode(PublishMode mode) {
            Publisher.checkNotNull(mode, "publishMode");
            return put("publishMode", mode.wireName());
        }

        public Builder subscribeMode(SubscribeMode mode) {
            Publisher.checkNotNull(mode, "subscribeMode");
            return put("subscribeMode", mode.wireName());
        }

        /** Share of the interface level the application level must hold before force-application. */
        public Builder migrationThreshold(double threshold) {
            return put("migrationThreshold", threshold);
        }

        /** Where the node list and the failover snapshots are kept. */
        public Builder cacheDir(Path dir) {
            Publisher.checkNotNull(dir, "cacheDir");
            return put("cacheDir", dir.toString());
        }

        public Builder requestTimeout(Duration timeout) {
            return put("requestTimeoutMs", (double) millis(timeout, "requestTimeout"));
        }

        public Builder connectTimeout(Duration timeout) {
            return put("connectTimeoutMs", (double) millis(timeout, "connectTimeout"));
        }

        /** Speak TLS to the registry, trusting the system's roots unless {@link #tlsCaFile} is given. */
        public Builder tls(boolean tls) {
            return put("tls", tls);
        }

        /** PEM CA bundle the registry's certificate must chain to (implies TLS). */
        public Builder tlsCaFile(Path caFile) {
            Publisher.checkNotNull(caFile, "tlsCaFile");
            return put("tlsCaFile", caFile.toString());
        }

        /** A PEM client certificate and its key, for a registry that requires mutual TLS. */
        public Builder tlsClientCertificate(Path certFile, Path keyFile) {
            Publisher.checkNotNull(certFile, "tlsCertFile");
            Publisher.checkNotNull(keyFile, "tlsKeyFile");
            put("tlsCertFile", certFile.toString());
            return put("tlsKeyFile", keyFile.toString());
        }

        /** The name the registry's certificate must carry (default: the endpoint's host). */
        public Builder tlsServerName(String serverName) {
            return put("tlsServerName", serverName);
        }

        /**
         * The access key the registry authenticates this client with, and its secret key: it
         * signs each session start and is never sent.
         */
        public Builder credentials(String accessKey, String secretKey) {
            Publisher.checkNotNull(secretKey, "secretKey");
            put("accessKey", accessKey);
            return put("secretKey", secretKey);
        }

        /** Starts connecting in the background; operations made before are queued. */
        public RosterClient build() {
            String[] keys = options.keySet().toArray(new String[0]);
            Object[] values = options.values().toArray();
            return new RosterClient(Native.clientNew(keys, values));
        }
    }
}
