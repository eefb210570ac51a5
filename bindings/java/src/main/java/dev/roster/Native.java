package dev.roster;

import java.util.concurrent.CompletableFuture;

/**
 * The native layer (Rust, {@code bindings/java/native}). Handles are ids into the native
 * side's handle tables: a call on a freed id fails with SHUT_DOWN, never touches freed memory.
 * Operations take effect when called. Given a null {@code done}, they wait on the calling
 * thread and return the result (a boxed handle or null); otherwise they return null at once
 * and complete {@code done} from the Roster dispatcher thread (dependent stages added with the
 * non-async methods run there too).
 */
final class Native {
    static {
        NativeLoader.load();
        // Rust's log records at this level and above go to System.Logger (tracing's filter
        // syntax, e.g. "info" or "roster_core=debug").
        logInit(System.getProperty("roster.log", "info"));
        // Stop calling into Java before the JVM goes away.
        Runtime.getRuntime().addShutdownHook(new Thread(Native::shutdown, "roster-shutdown"));
    }

    private Native() {}

    static void ensureLoaded() {}

    static native void shutdown();

    static native void logInit(String filter);

    static native String[] errorCodes();

    /** {clients, publishers, subscribers} in the native handle tables. */
    static native long[] handleCounts();

    static native long clientNew(String[] keys, Object[] values);

    static native void clientFree(long client);

    static native String clientId(long client);

    static native boolean clientConnected(long client);

    static native String clientProtocol(long client);

    static native String[] clientMembers(long client);

    static native String clientPublishMode(long client);

    static native String clientSubscribeMode(long client);

    static native void clientWaitConnected(long client, long timeoutMillis);

    static native Object clientSetPublishMode(long client, String mode, CompletableFuture<Void> done);

    static native Object clientSetSubscribeMode(long client, String mode, CompletableFuture<Void> done);

    static native Object clientPublish(
            long client, String dataId, String[] data, String group, String instanceId, CompletableFuture<Long> done);

    static native Object clientSubscribe(
            long client,
            String dataId,
            String scope,
            String group,
            String instanceId,
            String mode,
            Object listener,
            CompletableFuture<Long> done);

    static native Object clientClose(long client, CompletableFuture<Void> done);

    static native String publisherRegistId(long publisher);

    static native String publisherDataInfoId(long publisher);

    /** The data (its version written to version[0]), or null once unregistered. */
    static native String[] publisherCurrent(long publisher, long[] version);

    /** The core's names of an enum's values (scope, publishMode, subscribeMode), in order. */
    static native String[] enumNames(String kind);

    /** The position of name among enumNames(kind); INVALID_ARGUMENT listing them otherwise. */
    static native int enumIndex(String kind, String name);

    static native Object publisherRepublish(long publisher, String[] data, CompletableFuture<Void> done);

    static native Object publisherUnregister(long publisher, CompletableFuture<Void> done);

    static native void publisherFree(long publisher);

    static native String subscriberRegistId(long subscriber);

    static native String subscriberDataInfoId(long subscriber);

    static native SubscriberData subscriberPeek(long subscriber);

    static native String subscriberMode(long subscriber);

    /** {statusIndex, application, interface}; statuses as in MigrationStatus.Status. */
    static native long[] subscriberMigrationStatus(long subscriber);

    static native Object subscriberSetMode(long subscriber, String mode, CompletableFuture<Void> done);

    static native Object subscriberUnsubscribe(long subscriber, CompletableFuture<Void> done);

    static native void subscriberFree(long subscriber);

    /** A wait for data of at most timeoutMillis (the core's rule and messages). */
    static native long waitNew(long subscriber, long timeoutMillis);

    /** The data to test next: the current data first (TIMEOUT, or SHUT_DOWN once unsubscribed). */
    static native SubscriberData waitNext(long wait);

    static native void waitFree(long wait);

    static native long testServerStart(int port, long graceMillis, long keepaliveMillis);

    static native String testServerEndpoint(long server);

    static native long[] testServerCounts(long server);

    static native void testServerStop(long server);
}
