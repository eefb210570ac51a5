package dev.roster;

/** Which level a client publishes at (the migration to application-level discovery). */
public enum PublishMode {
    /** One publisher per interface, as always. */
    INTERFACE("interface"),
    /** One application publisher per instance plus revision metadata. */
    APPLICATION("application"),
    /** Both: the dual publish used while consumers migrate. */
    ALL("all");

    private final String wire;

    PublishMode(String wire) {
        this.wire = wire;
    }

    public String wireName() {
        return wire;
    }

    static PublishMode fromWire(String name) {
        for (PublishMode m : values()) {
            if (m.wire.equals(name)) {
                return m;
            }
        }
        throw new IllegalStateException("unknown publish mode " + name);
    }
}
