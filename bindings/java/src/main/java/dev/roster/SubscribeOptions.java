package dev.roster;

import java.util.Objects;

/**
 * What a subscriber sees and how it finds providers: scope (default zone), group, tenant, and
 * its own subscribe mode (default: the client's).
 */
public record SubscribeOptions(Scope scope, String group, String instanceId, SubscribeMode mode) {
    public static final SubscribeOptions DEFAULT = new SubscribeOptions(Scope.ZONE, null, null, null);

    public SubscribeOptions {
        Objects.requireNonNull(scope, "scope must not be null");
    }

    public static SubscribeOptions scope(Scope scope) {
        return DEFAULT.withScope(scope);
    }

    public SubscribeOptions withScope(Scope scope) {
        return new SubscribeOptions(scope, group, instanceId, mode);
    }

    public SubscribeOptions withGroup(String group) {
        return new SubscribeOptions(scope, group, instanceId, mode);
    }

    public SubscribeOptions withInstanceId(String instanceId) {
        return new SubscribeOptions(scope, group, instanceId, mode);
    }

    public SubscribeOptions withMode(SubscribeMode mode) {
        return new SubscribeOptions(scope, group, instanceId, mode);
    }
}
