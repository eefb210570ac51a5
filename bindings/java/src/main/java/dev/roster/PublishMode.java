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

    /** The constant whose {@link #wireName()} is {@code name} (as in every Roster binding). */
    public static PublishMode fromWireName(String name) {
        StringBuilder names = new StringBuilder();
        for (PublishMode v : values()) {
            if (v.wire.equals(name)) {
                return v;
            }
            names.append(names.length() == 0 ? "" : ", ")
                    .append('"')
                    .append(v.wire)
                    .append('"');
        }
        throw new IllegalArgumentException("publish mode \"" + name + "\" is not one of " + names);
    }
}
