package dev.roster;

/** Where a publisher goes besides its dataId: the group and the tenant (instanceId). */
public record PublishOptions(String group, String instanceId) {
    public static final PublishOptions DEFAULT = new PublishOptions(null, null);

    public PublishOptions withGroup(String group) {
        return new PublishOptions(group, instanceId);
    }

    public PublishOptions withInstanceId(String instanceId) {
        return new PublishOptions(group, instanceId);
    }
}
