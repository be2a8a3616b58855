package io.raftkv.client;

/**
 * Hears one watch, on the client's watch thread, in order. A listener that takes long holds up the watch: the client
 * reads no more from the node meanwhile, and the node catches the watch up from its history later (nothing is lost,
 * nothing piles up in memory).
 */
public interface WatchListener {

    void onEvents(WatchResponse response);

    /**
     * The watch ended and will say nothing more: the revisions it needed next were compacted ({@code compactRevision}
     * > 0: watch again from {@code compactRevision + 1} at the earliest), the node refused it ({@code reason} says why),
     * or the client was closed.
     */
    default void onCanceled(long compactRevision, String reason) {
    }
}
