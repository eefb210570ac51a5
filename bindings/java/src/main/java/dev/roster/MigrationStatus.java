package dev.roster;

/**
 * Where a subscription's migration stands: its status and, while {@link Status#PENDING}, the
 * application-level addresses against the interface-level ones.
 */
public record MigrationStatus(Status status, long application, long interfaceLevel) {
    public enum Status {
        FORCE_INTERFACE,
        APPLICATION_FIRST,
        /** Asked for force-application, still merging both levels until the threshold. */
        PENDING,
        FORCE_APPLICATION
    }
}
