package dev.roster;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * One publisher: {@link #republish} replaces its data, {@link #unregister} (or {@link #close})
 * removes it. It stays registered until then or until its client closes, whether or not this
 * object is still referenced.
 */
public final class Publisher implements AutoCloseable {
    private final RosterClient client; // keeps the client (and its session) alive
    private final long handle;
    private final String registId;
    private final String dataInfoId;

    Publisher(RosterClient client, long handle) {
        this.client = client;
        this.handle = handle;
        this.registId = Native.publisherRegistId(handle);
        this.dataInfoId = Native.publisherDataInfoId(handle);
        // Frees the native handle once this object is unreachable; the registration stays
        // with the client until unregistered or the client closes.
        Futures.CLEANER.register(this, () -> Native.publisherFree(handle));
    }

    public String registId() {
        return registId;
    }

    /** {@code dataId#@#instanceId#@#group}. */
    public String dataInfoId() {
        return dataInfoId;
    }

    public RosterClient client() {
        return client;
    }

    /** The version and data the client holds now; empty once unregistered. */
    public Optional<PublisherState> current() {
        long[] version = new long[1];
        String[] data = Native.publisherCurrent(handle, version);
        return data == null ? Optional.empty() : Optional.of(new PublisherState(version[0], List.of(data)));
    }

    /** Replaces the data under a newer version; returns once the registry acknowledged it. */
    public void republish(List<String> data) {
        Native.publisherRepublish(handle, RosterClient.items(data), null);
    }

    public void republish(String... data) {
        republish(List.of(data));
    }

    /** Replaces the data now; the future completes when the registry acknowledged it. */
    public CompletableFuture<Void> republishAsync(List<String> data) {
        String[] items = RosterClient.items(data);
        return Futures.start(done -> Native.publisherRepublish(handle, items, done));
    }

    /** Removes the publisher; later calls fail with SHUT_DOWN. Doing it twice is fine. */
    public void unregister() {
        Native.publisherUnregister(handle, null);
    }

    public CompletableFuture<Void> unregisterAsync() {
        return Futures.start(done -> Native.publisherUnregister(handle, done));
    }

    /** Unregisters. */
    @Override
    public void close() {
        unregister();
    }

    @Override
    public String toString() {
        return "Publisher(" + dataInfoId + ", registId=" + registId + ")";
    }

    static void checkNotNull(Object o, String name) {
        Objects.requireNonNull(o, () -> name + " must not be null");
    }
}
