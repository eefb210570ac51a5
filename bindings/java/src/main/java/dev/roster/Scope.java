package dev.roster;

/** Which publishers a subscriber sees. */
public enum Scope {
    /** Only publishers in the client's zone. */
    ZONE,
    /** Publishers of every zone in the client's data center. */
    DATA_CENTER,
    /** Publishers of every zone. */
    GLOBAL;

    /** The core's names of the constants, in the same order. */
    private static final String[] WIRE = Native.enumNames("scope");

    /** The name every Roster binding uses for it (the core's). */
    public String wireName() {
        return WIRE[ordinal()];
    }

    /**
     * The constant whose {@link #wireName()} is {@code name}; an unknown name is an
     * IllegalArgumentException (INVALID_ARGUMENT) listing the valid ones.
     */
    public static Scope fromWireName(String name) {
        return values()[Native.enumIndex("scope", name)];
    }
}
