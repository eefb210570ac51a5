package dev.roster;

/** Which publishers a subscriber sees. */
public enum Scope {
    /** Only publishers in the client's zone. */
    ZONE("zone"),
    /** Publishers of every zone in the client's data center. */
    DATA_CENTER("dataCenter"),
    /** Publishers of every zone. */
    GLOBAL("global");

    private final String wire;

    Scope(String wire) {
        this.wire = wire;
    }

    /** The name every Roster binding uses. */
    public String wireName() {
        return wire;
    }

    /** The constant whose {@link #wireName()} is {@code name} (as in every Roster binding). */
    public static Scope fromWireName(String name) {
        StringBuilder names = new StringBuilder();
        for (Scope v : values()) {
            if (v.wire.equals(name)) {
                return v;
            }
            names.append(names.length() == 0 ? "" : ", ")
                    .append('"')
                    .append(v.wire)
                    .append('"');
        }
        throw new IllegalArgumentException("scope \"" + name + "\" is not one of " + names);
    }
}
