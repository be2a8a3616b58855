package io.raftkv.raft;

/**
 * Deliberate safety bugs, switched on only by tests, to show that the simulator's checks find them.
 * Production configurations always use {@link #NONE}.
 */
public enum InjectedBug {
    NONE,
    /** Grant votes without the §5.4.1 check that the candidate's log is at least as up-to-date. */
    SKIP_UP_TO_DATE_CHECK,
    /** Commit an entry of an earlier term once a majority holds it: the §5.4.2 / Figure 8 error. */
    COMMIT_PREVIOUS_TERM_BY_COUNTING,
    /** A follower answers ReadIndex with its own commit index instead of asking the leader. */
    FOLLOWER_READ_INDEX_FROM_OWN_LOG
}
