package io.raftkv.sim;

/**
 * Deliberate mistakes in the simulation's watching client (the client library's resume logic, as {@link SimWatchers}
 * mirrors it), only for {@code InjectedBugTest}: each must make {@link WatchChecker} fail some seed.
 */
enum InjectedWatcherBug {
    NONE,
    /** On another node, watches again from the revision after the one it needs: a gap when that revision touched its range. */
    RESUMES_ONE_REVISION_LATE,
    /** On another node, watches again from the last revision it delivered, and takes its events again: a duplicate. */
    RESUMES_FROM_LAST_DELIVERED,
    /** Hands on each fragment of a revision as it comes instead of joining them: a revision's events split. */
    DELIVERS_FRAGMENTS_UNJOINED
}
