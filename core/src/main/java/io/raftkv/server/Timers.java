package io.raftkv.server;

/**
 * Deadlines for the request table: the node's timer wheel, or the simulator's virtual clock. A task runs on
 * the thread that drives the replica; the owner processes the replica's Ready after it, as after any input.
 */
public interface Timers {

    /** Runs {@code task} in {@code delayMs}; returns an id for {@link #cancel(long)}. */
    long schedule(long delayMs, Runnable task);

    /** Cancels a timer that has not fired; an id that fired or was cancelled is ignored. */
    void cancel(long timerId);
}
