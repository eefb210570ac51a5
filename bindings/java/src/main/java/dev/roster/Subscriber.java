package dev.roster;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * One subscriber: {@link #peek} reads the latest data, {@link #waitFor} waits for data that
 * matches, a listener given to {@code subscribe} gets every newer version. It stays
 * subscribed until {@link #unsubscribe} (or {@link #close}) or its client closes.
 */
public final class Subscriber implements AutoCloseable {
    private final RosterClient client;
    private final long handle;
    private final String registId;
    private final String dataInfoId;

    Subscriber(RosterClient client, long handle) {
        this.client = client;
        this.handle = handle;
        this.registId = Native.subscriberRegistId(handle);
        this.dataInfoId = Native.subscriberDataInfoId(handle);
        Futures.CLEANER.register(this, () -> Native.subscriberFree(handle));
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

    /** The latest data without waiting; empty before the first push. */
    public Optional<SubscriberData> peek() {
        return Optional.ofNullable(Native.subscriberPeek(handle));
    }

    /**
     * Waits until the data satisfies {@code predicate} and returns it; RosterException with
     * code TIMEOUT after {@code timeout}.
     */
    public SubscriberData waitFor(Predicate<SubscriberData> predicate, Duration timeout) {
        Publisher.checkNotNull(predicate, "predicate");
        long wait = Native.waitNew(handle, RosterClient.millis(timeout, "timeout"));
        try {
            while (true) {
                SubscriberData data = Native.waitNext(wait);
                if (predicate.test(data)) {
                    return data;
                }
            }
        } finally {
            Native.waitFree(wait);
        }
    }

    /** Waits for any data. */
    public SubscriberData waitFor(Duration timeout) {
        return waitFor(d -> true, timeout);
    }

    /** The subscribe mode in effect: its own, or else the client's. */
    public SubscribeMode mode() {
        return SubscribeMode.fromWireName(Native.subscriberMode(handle));
    }

    public MigrationStatus migrationStatus() {
        long[] s = Native.subscriberMigrationStatus(handle);
        return new MigrationStatus(MigrationStatus.Status.values()[(int) s[0]], s[1], s[2]);
    }

    /** Switches this subscription's mode ({@code null}: follow the client's). */
    public void setMode(SubscribeMode mode) {
        Native.subscriberSetMode(handle, mode == null ? null : mode.wireName(), null);
    }

    public CompletableFuture<Void> setModeAsync(SubscribeMode mode) {
        return Futures.start(done -> Native.subscriberSetMode(handle, mode == null ? null : mode.wireName(), done));
    }

    /** Removes the subscription; its listener gets no more data. Doing it twice is fine. */
    public void unsubscribe() {
        Native.subscriberUnsubscribe(handle, null);
    }

    public CompletableFuture<Void> unsubscribeAsync() {
        return Futures.start(done -> Native.subscriberUnsubscribe(handle, done));
    }

    /** Unsubscribes. */
    @Override
    public void close() {
        unsubscribe();
    }

    @Override
    public String toString() {
        return "Subscriber(" + dataInfoId + ", registId=" + registId + ")";
    }
}
