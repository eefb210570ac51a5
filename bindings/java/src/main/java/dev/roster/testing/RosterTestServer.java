package dev.roster.testing;

import java.time.Duration;

/**
 * A reference Roster registry in-process on loopback, for the tests of services that use
 * Roster. {@link #endpoint()} is what to give {@code RosterClient.builder().endpoints(...)}.
 *
 * <pre>{@code
 * try (RosterTestServer server = RosterTestServer.start()) {
 *     RosterClient client = RosterClient.builder().endpoints(server.endpoint()).build();
 * }
 * }</pre>
 */
public final class RosterTestServer implements AutoCloseable {
    private final long handle;
    private final String endpoint;
    private volatile boolean stopped;

    private RosterTestServer(long handle) {
        this.handle = handle;
        this.endpoint = Access.endpoint(handle);
    }

    /** On free ports, with a 2 s grace period. */
    public static RosterTestServer start() {
        return start(0, Duration.ofSeconds(2));
    }

    /** On gRPC port {@code port} (0: a free one), with {@code gracePeriod} for disconnected clients. */
    public static RosterTestServer start(int port, Duration gracePeriod) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (gracePeriod == null || gracePeriod.isNegative()) {
            throw new IllegalArgumentException("gracePeriod must be a non-negative duration");
        }
        return new RosterTestServer(Access.start(port, gracePeriod.toMillis(), 1000));
    }

    /** {@code host:port}. */
    public String endpoint() {
        return endpoint;
    }

    public int port() {
        return Integer.parseInt(endpoint.substring(endpoint.lastIndexOf(':') + 1));
    }

    public long sessions() {
        return Access.counts(handle)[0];
    }

    public long publishers() {
        return Access.counts(handle)[1];
    }

    public long subscribers() {
        return Access.counts(handle)[2];
    }

    /** Stops the server; its registrations are gone (clients redo them on the next one). */
    @Override
    public void close() {
        if (!stopped) {
            stopped = true;
            Access.stop(handle);
        }
    }

    @Override
    public String toString() {
        return "RosterTestServer(" + endpoint + ")";
    }

    /** The native calls, reached through the package's bridge. */
    private static final class Access {
        static long start(int port, long graceMillis, long keepaliveMillis) {
            return dev.roster.TestSupport.start(port, graceMillis, keepaliveMillis);
        }

        static String endpoint(long h) {
            return dev.roster.TestSupport.endpoint(h);
        }

        static long[] counts(long h) {
            return dev.roster.TestSupport.counts(h);
        }

        static void stop(long h) {
            dev.roster.TestSupport.stop(h);
        }
    }
}
