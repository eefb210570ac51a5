package dev.roster;

import java.util.List;

/**
 * What a publisher holds now: its version and data ({@link Publisher#current()}).
 *
 * @param version the version of the data, newer with every republish
 * @param data the published items
 */
public record PublisherState(long version, List<String> data) {}
