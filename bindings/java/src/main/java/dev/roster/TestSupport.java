package dev.roster;

/** The test server's native calls, for {@link dev.roster.testing.RosterTestServer}. */
public final class TestSupport {
    private TestSupport() {}

    public static long start(int port, long graceMillis, long keepaliveMillis) {
        return Native.testServerStart(port, graceMillis, keepaliveMillis);
    }

    public static String endpoint(long server) {
        return Native.testServerEndpoint(server);
    }

    public static long[] counts(long server) {
        return Native.testServerCounts(server);
    }

    public static void stop(long server) {
        Native.testServerStop(server);
    }

    /** The core's error codes, in its order (to check {@link RosterException.Code} against). */
    public static String[] errorCodes() {
        return Native.errorCodes();
    }

    /** {clients, publishers, subscribers} whose native handles are not yet freed. */
    public static long[] handleCounts() {
        return Native.handleCounts();
    }
}
