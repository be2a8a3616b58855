package io.raftkv.raft;

/**
 * A linearizable read that became safe: once the node has applied up to {@code index}, the read tagged
 * {@code context} may be answered from its state machine (ReadIndex, §6.4 of Ongaro's thesis).
 */
public record ReadState(long index, long context) {
}
