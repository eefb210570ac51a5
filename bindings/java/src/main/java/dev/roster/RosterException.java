package dev.roster;

/**
 * An error of the Roster core, with a stable {@link Code} (one to one with the core's error
 * kinds). The message is the core's: {@code CODE: what went wrong}.
 *
 * <p>A bad argument is not a RosterException: it is thrown as an
 * {@link IllegalArgumentException} (a {@link NullPointerException} for a null), as Java code
 * expects, with the message naming the argument; when the core found it, the message starts
 * {@code INVALID_ARGUMENT:}.
 */
public class RosterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** The stable error codes, the same in every Roster language. */
    public enum Code {
        /**
         * An argument was empty, too long, malformed or over a limit; thrown as an
         * {@link IllegalArgumentException} whose message starts with this code.
         */
        INVALID_ARGUMENT,
        /** No registry node could be reached. */
        NOT_CONNECTED,
        /** The registry did not answer in time. */
        TIMEOUT,
        /** The registry refused the request. */
        REFUSED,
        /** The node is not its cluster's leader. */
        NOT_LEADER,
        /** The registration is not known to the registry. */
        NOT_FOUND,
        /** The client (or the handle) was closed. */
        SHUT_DOWN,
        /** Reading or writing the cache directory failed. */
        IO,
        /** A bug or an unexpected answer. */
        INTERNAL,
        /** The registry refused the client's credentials (missing, unknown key, wrong secret, clock skew, replay). */
        UNAUTHENTICATED,
        /** The client's access key may not do this (tenant or dataId). */
        PERMISSION_DENIED
    }

    private final Code code;

    /** Built by the native layer from the core's message, {@code CODE: ...}. */
    public RosterException(String message) {
        super(message);
        this.code = codeOf(message);
    }

    public RosterException(Code code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public Code code() {
        return code;
    }

    private static Code codeOf(String message) {
        int colon = message.indexOf(':');
        if (colon > 0) {
            try {
                return Code.valueOf(message.substring(0, colon));
            } catch (IllegalArgumentException e) {
                // not one of ours: INTERNAL below
            }
        }
        return Code.INTERNAL;
    }
}
