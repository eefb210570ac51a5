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

    static Scope fromWire(String name) {
        for (Scope s : values()) {
            if (s.wire.equals(name)) {
                return s;
            }
        }
        throw new IllegalStateException("unknown scope " + name);
    }
}
