package io.raftkv.replica;

/**
 * Deliberate bugs in the {@link ReplicaDriver}, switched on only by tests through its constructor (no option,
 * property or flag reaches them), to show that the simulator's checks find a broken driver, not only a broken
 * core.
 */
public enum InjectedDriverBug {
    NONE,
    /** Send votes and acknowledgements before the entries and hard state they promise are durable. */
    ACKNOWLEDGE_BEFORE_SYNC
}
