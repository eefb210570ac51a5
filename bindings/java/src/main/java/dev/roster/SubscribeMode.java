package dev.roster;

/** How a subscriber finds providers (a consumer's migration step). */
public enum SubscribeMode {
    /** Interface level only; the registry converts application-level providers for it. */
    FORCE_INTERFACE,
    /** Both levels, converted and merged in the client, de-duplicated by address. */
    APPLICATION_FIRST,
    /** Application level only, once it holds the threshold share of the interface level. */
    FORCE_APPLICATION;

    /** The core's names of the constants, in the same order. */
    private static final String[] WIRE = Native.enumNames("subscribeMode");

    /** The name every Roster binding uses for it (the core's). */
    public String wireName() {
        return WIRE[ordinal()];
    }

    /**
     * The constant whose {@link #wireName()} is {@code name}; an unknown name is an
     * IllegalArgumentException (INVALID_ARGUMENT) listing the valid ones.
     */
    public static SubscribeMode fromWireName(String name) {
        return values()[Native.enumIndex("subscribeMode", name)];
    }
}
