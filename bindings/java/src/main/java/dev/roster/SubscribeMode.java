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

    static SubscribeMode fromWire(String name) {
        for (SubscribeMode m : values()) {
            if (m.wire.equals(name)) {
                return m;
            }
        }
        throw new IllegalStateException("unknown subscribe mode " + name);
    }
}
