package dev.roster;

/** Which level a client publishes at (the migration to application-level discovery). */
public enum PublishMode {
    /** One publisher per interface, as always. */
    INTERFACE,
    /** One application publisher per instance plus revision metadata. */
    APPLICATION,
    /** Both: the dual publish used while consumers migrate. */
    ALL;

    /** The core's names of the constants, in the same order. */
    private static final String[] WIRE = Native.enumNames("publishMode");

    /** The name every Roster binding uses for it (the core's). */
    public String wireName() {
        return WIRE[ordinal()];
    }

    /**
     * The constant whose {@link #wireName()} is {@code name}; an unknown name is an
     * IllegalArgumentException (INVALID_ARGUMENT) listing the valid ones.
     */
    public static PublishMode fromWireName(String name) {
        return values()[Native.enumIndex("publishMode", name)];
    }
}
