package io.raftkv.server.metrics;

import io.raftkv.raft.Role;

/**
 * The loop's state as it was at one moment ({@code atNanos}, System.nanoTime), made by the loop every tick and handed
 * to other threads whole, through a volatile reference: the fields read together (commit and applied, the leader and
 * when it was heard) come from the same instant. {@code leaderSilentMs}: how long since this node heard from the leader
 * it knows (0 when it leads, -1 when it knows none). {@code caughtUp}: the start-up barrier passed (ClientRequests).
 * {@code txnsHeld}, {@code txnsHeldAnsweredAtOnce}: transactions held behind another on their key since start, and those
 * of them answered with the write they waited behind (ClientRequests).
 */
public record LoopView(long atNanos, Role role, long term, int leader, long leaderSilentMs, long commit, long applied,
                       int pendingRequests, boolean caughtUp, int clientConnections, int connections, long txnsHeld,
                       long txnsHeldAnsweredAtOnce) {
}
