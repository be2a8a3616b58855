package io.raftkv.server;

/**
 * Deliberate bugs in the {@link ClientRequests} table, switched on only by tests through its constructor
 * (test sources start a node with one through {@code UnsafeLocalReadsNodeMain}; no option, property or flag
 * of a deployed node reaches them), to show that the simulator's and the chaos harness's checks find them.
 */
public enum InjectedRequestBug {
    NONE,
    /** Answer linearizable reads from the node's own map: stale reads. */
    LINEARIZABLE_READS_FROM_LOCAL_MAP,
    /** Serve serializable reads at once after a start: a node's answers can go back in time across a crash. */
    NO_STARTUP_BARRIER,
    /** Let a linearizable read join a batch whose read index was asked before the core's last Ready: stale reads. */
    READ_BATCH_NEVER_CLOSES
}
