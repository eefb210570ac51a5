package dev.roster;

/** How a subscriber finds providers (a consumer's migration step). */
public enum SubscribeMode {
    /** Interface level only; the registry converts application-level providers for it. */
    FORCE_INTERFACE("force-interface"),
    /** Both levels, converted and merged in the client, de-duplicated by address. */
    APPLICATION_FIRST("application-first"),
    /** Application level only, once it holds the threshold share of the interface level. */
    FORCE_APPLICATION("force-application");

    private final String wire;

    SubscribeMode(String wire) {
        this.wire = wire;
    }

    public String wireName() {
        return wire;
    }

    /** The constant whose {@link #wireName()} is {@code name} (as in every Roster binding). */
    public static SubscribeMode fromWireName(String name) {
        StringBuilder names = new StringBuilder();
        for (SubscribeMode v : values()) {
            if (v.wire.equals(name)) {
                return v;
            }
            names.append(names.length() == 0 ? "" : ", ")
                    .append('"')
                    .append(v.wire)
                    .append('"');
        }
        throw new IllegalArgumentException("subscribe mode \"" + name + "\" is not one of " + names);
    }
}
