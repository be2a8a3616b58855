package io.raftkv.server;

/**
 * Deliberate bugs in the {@link Lessor}, switched on only by tests through its constructor (no option or property of a
 * deployed node reaches them), to show that the simulator's lease checks find them.
 */
public enum InjectedLeaseBug {
    NONE,
    /**
     * Every node times leases from when it applied their grant, and a new leader keeps that deadline: renewals made at the
     * old leader (never replicated) are forgotten, so a lease its client kept alive expires at a leader change.
     */
    TIME_FROM_GRANT_AFTER_LEADER_CHANGE,
    /** The leader never proposes a revoke: keys outlive their lease for ever. */
    NO_REVOKES
}
