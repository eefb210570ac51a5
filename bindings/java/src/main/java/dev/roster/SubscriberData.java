package dev.roster;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The data a subscriber is given: every visible publisher's items, grouped by zone. Immutable. */
public final class SubscriberData {
    private final String dataInfoId;
    private final String dataId;
    private final long version;
    private final Scope scope;
    private final boolean fromCache;
    private final Map<String, List<String>> zones;
    private final List<String> added;
    private final List<String> removed;

    /** Built by the native layer. */
    SubscriberData(
            String dataInfoId,
            String dataId,
            long version,
            String scope,
            boolean fromCache,
            String[] zoneNames,
            String[][] zoneItems,
            String[] added,
            String[] removed) {
        this.dataInfoId = dataInfoId;
        this.dataId = dataId;
        this.version = version;
        this.scope = Scope.fromWireName(scope);
        this.fromCache = fromCache;
        Map<String, List<String>> z = new LinkedHashMap<>();
        for (int i = 0; i < zoneNames.length; i++) {
            z.put(zoneNames[i], List.of(zoneItems[i]));
        }
        this.zones = Collections.unmodifiableMap(z);
        this.added = List.of(added);
        this.removed = List.of(removed);
    }

    /** {@code dataId#@#instanceId#@#group}. */
    public String dataInfoId() {
        return dataInfoId;
    }

    public String dataId() {
        return dataId;
    }

    /** Grows with every change; a subscriber never goes back to an older one. */
    public long version() {
        return version;
    }

    public Scope scope() {
        return scope;
    }

    /** True while this is the failover snapshot from the cache directory. */
    public boolean fromCache() {
        return fromCache;
    }

    /** Zone name to the items published in that zone (unmodifiable). */
    public Map<String, List<String>> zones() {
        return zones;
    }

    /**
     * Items not in the previous data this subscriber's consumer was given (its listener; every
     * item for the first data). An address published twice counts twice. Unmodifiable.
     */
    public List<String> added() {
        return added;
    }

    /** Items of that previous data that are gone (unmodifiable). */
    public List<String> removed() {
        return removed;
    }

    /** Every item of every zone. */
    public List<String> items() {
        List<String> all = new ArrayList<>();
        zones.values().forEach(all::addAll);
        return Collections.unmodifiableList(all);
    }

    public int size() {
        int n = 0;
        for (List<String> items : zones.values()) {
            n += items.size();
        }
        return n;
    }

    public boolean isEmpty() {
        return size() == 0;
    }

    @Override
    public String toString() {
        return "SubscriberData(" + dataInfoId + ", version=" + version + ", zones=" + zones
                + (fromCache ? ", fromCache" : "") + ")";
    }
}
