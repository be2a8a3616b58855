package io.raftkv.protocol;

/**
 * What every answer to a key/value request carries, as etcd's: the store's revision the answer was served at
 * (for a write, the revision it produced, or the current one if it changed nothing), the member that served
 * it and that member's Raft term.
 */
public record ResponseHeader(long revision, int memberId, long raftTerm) {
}
