package io.raftkv.client;

import io.raftkv.protocol.KeyValue;

/**
 * Hears an election's leaders ({@link Election#observe}), in the order the store saw them, one call at a time.
 */
public interface LeaderListener {

    /**
     * A new leader, or a new value of the leader (a proclaim): its key ({@code NAME/LEASE}), value and revisions (the
     * create revision tells one leader from the next; the mod revision, one value from the next).
     */
    void onLeader(KeyValue leader);

    /** The observation ended and says nothing more: the client was closed, or the node refused the watch. */
    default void onEnded(String reason) {
    }
}
