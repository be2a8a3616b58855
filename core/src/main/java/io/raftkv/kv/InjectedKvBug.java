package io.raftkv.kv;

/**
 * Deliberate bugs in the {@link KvStateMachine}, switched on only by tests through its constructor (no option or
 * property reaches them), to show that the simulator's linearizability check finds a broken transaction.
 */
public enum InjectedKvBug {
    NONE,
    /** Every compare holds: two compare-and-swaps can both win on one value. */
    COMPARES_ALWAYS_HOLD
}
