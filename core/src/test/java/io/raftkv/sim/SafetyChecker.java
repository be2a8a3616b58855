package io.raftkv.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.Membership;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;

import java.util.HashMap;
import java.util.Map;

/**
 * The Raft safety properties (Figure 3 of the paper), checked incrementally after every simulated event.
 * Knowledge is global: a check may compare what one node did with what any node did at any time.
 * <ul>
 *   <li>Election safety: at most one leader per term.</li>
 *   <li>Log matching: two logs with an entry of the same index and term hold the same prefix up to it.</li>
 *   <li>Leader append-only and leader completeness: a leader never drops entries, and the leader of term T
 *       holds every entry known committed in a term before T.</li>
 *   <li>State machine safety: no two nodes commit or apply different entries at one index.</li>
 *   <li>A node's commit index never decreases while it lives, nor its synced commit across restarts.</li>
 *   <li>Every node's state machine is at the same revision and holds the same content (digest of keys, values and
 *       their revisions, and the number of keys) after applying a given index.</li>
 * </ul>
 * The properties of configuration changes are {@link MembershipChecker}'s, which this one calls.
 */
final class SafetyChecker {

    private record IndexTerm(long index, long term) { }

    private final MembershipChecker membership;
    private final Map<Long, Integer> leaderOfTerm = new HashMap<>();
    private final Map<IndexTerm, Long> prefixOf = new HashMap<>();
    /** The log known committed: prefix hash, entry term and the term it was first known committed in. */
    private long[] committedPrefix = new long[1024];
    private long[] committedAtTerm = new long[1024];
    private long committedLast;
    /** Per applied index: the state machine's revision, digest and size there, as the first node to apply it had them. */
    private long[] appliedRevision = new long[1024];
    private long[] appliedCompactRevision = new long[1024];
    private long[] appliedDigest = new long[1024];
    private long[] appliedSize = new long[1024];
    private long appliedLast;

    SafetyChecker(MembershipChecker membership) {
        this.membership = membership;
    }

    MembershipChecker membership() {
        return membership;
    }

    long committedLast() {
        return committedLast;
    }

    /**
     * The node handed {@code entries} (first index {@code first}) to its disk, its log before ending at {@code lastBefore}:
     * checked as the core holds its log, before the write is durable.
     */
    void onPersist(SimNode node, long first, long lastBefore, RaftStatus status) {
        if (first <= lastBefore) {
            if (status.role() == Role.LEADER) fail("leader append-only: leader " + node.id + " of term " + status.term() + " replaced entries from " + first);
            // The commit as of the previous event: this very step may have raised it past the new entries.
            if (first <= node.lastCommitSeen) fail("node " + node.id + " replaced committed entry " + first + " (commit " + node.lastCommitSeen + ")");
        }
        SimDisk disk = node.disk;
        for (long i = first; i <= disk.handedLastIndex(); i++) {
            Entry e = disk.handedEntry(i);
            IndexTerm key = new IndexTerm(i, e.term());
            Long known = prefixOf.putIfAbsent(key, disk.handedPrefixHash(i));
            if (known != null && known != disk.handedPrefixHash(i)) {
                fail("log matching: node " + node.id + " holds entry " + i + "@t" + key.term() + " with a different prefix than another node");
            }
            if (Membership.isConfigEntry(e)) membership.onPersistConfig(node, e, status);
        }
    }

    void onApply(SimNode node, Entry e, long term) {
        agreeCommitted(node, e.index(), term, "applied");
    }

    /** The node's state machine, just after applying {@code index}: its revision, compaction point, digest and size. */
    void onAppliedState(SimNode node, long index, long revision, long compactRevision, long digest, long size) {
        if (index <= appliedLast) {
            int i = (int) index;
            if (appliedCompactRevision[i] != compactRevision) {
                fail("compactions diverge: node " + node.id + " compacted to " + compactRevision + " after applying " + index + ", another node to "
                        + appliedCompactRevision[i]);
            }
            if (appliedRevision[i] != revision || appliedDigest[i] != digest || appliedSize[i] != size) {
                fail("state machines diverge: node " + node.id + " is at revision " + revision + " with " + size + " keys (digest " + Long.toHexString(digest)
                        + ") after applying " + index + ", another node was at " + appliedRevision[i] + " with " + appliedSize[i]
                        + " (digest " + Long.toHexString(appliedDigest[i]) + ")");
            }
            return;
        }
        if (index != appliedLast + 1) fail("node " + node.id + " applied " + index + " before anyone applied " + (appliedLast + 1));
        if (index >= appliedDigest.length) {
            appliedRevision = java.util.Arrays.copyOf(appliedRevision, appliedRevision.length * 2);
            appliedCompactRevision = java.util.Arrays.copyOf(appliedCompactRevision, appliedCompactRevision.length * 2);
            appliedDigest = java.util.Arrays.copyOf(appliedDigest, appliedDigest.length * 2);
            appliedSize = java.util.Arrays.copyOf(appliedSize, appliedSize.length * 2);
        }
        appliedRevision[(int) index] = revision;
        appliedCompactRevision[(int) index] = compactRevision;
        appliedDigest[(int) index] = digest;
        appliedSize[(int) index] = size;
        appliedLast = index;
    }

    /** After every event, for each live node. */
    void afterEvent(SimNode node, RaftStatus status) {
        if (status.commit() < node.lastCommitSeen) fail("node " + node.id + " commit went back from " + node.lastCommitSeen + " to " + status.commit());
        long commitBefore = node.lastCommitSeen;
        node.lastCommitSeen = status.commit();
        long persistedCommit = node.disk.syncedHardState().commit();
        if (persistedCommit < node.lastPersistedCommit) fail("node " + node.id + " persisted commit went back from " + node.lastPersistedCommit + " to " + persistedCommit);
        node.lastPersistedCommit = persistedCommit;
        // A node inside a turn (requests handled, its Ready not yet) has proposed entries it has not handed over.
        if (!node.turnPending && status.lastIndex() != node.disk.handedLastIndex()) {
            fail("node " + node.id + " core log ends at " + status.lastIndex() + ", the log handed to its disk at " + node.disk.handedLastIndex());
        }
        agreeCommitted(node, status.commit(), status.term(), "committed");
        boolean becameLeader = false;
        if (status.role() == Role.LEADER) {
            // Whatever configuration each believes in: one leader per term across configurations.
            Integer other = leaderOfTerm.putIfAbsent(status.term(), node.id);
            if (other != null && other != node.id) fail("election safety: nodes " + other + " and " + node.id + " both lead term " + status.term());
            becameLeader = other == null;
            if (becameLeader) checkLeaderCompleteness(node, status.term());
        }
        membership.afterEvent(node, status, commitBefore, becameLeader);
    }

    private void checkLeaderCompleteness(SimNode leader, long term) {
        long mustHold = 0;
        for (long i = committedLast; i >= 1; i--) {
            if (committedAtTerm[(int) i] < term) {
                mustHold = i;
                break;
            }
        }
        if (mustHold == 0) return;
        if (leader.disk.handedLastIndex() < mustHold || leader.disk.handedPrefixHash(mustHold) != committedPrefix[(int) mustHold]) {
            fail("leader completeness: leader " + leader.id + " of term " + term + " lacks entries committed before its term (up to " + mustHold + ")");
        }
    }

    private void agreeCommitted(SimNode node, long index, long term, String what) {
        if (index == 0) return;
        if (index > node.disk.handedLastIndex()) fail("node " + node.id + " " + what + " " + index + " beyond its log " + node.disk.handedLastIndex());
        if (index <= committedLast) {
            if (node.disk.handedPrefixHash(index) != committedPrefix[(int) index]) {
                fail("state machine safety: node " + node.id + " " + what + " index " + index + " with a log different from what was committed there before");
            }
            return;
        }
        if (committedLast > 0 && node.disk.handedPrefixHash(committedLast) != committedPrefix[(int) committedLast]) {
            fail("state machine safety: node " + node.id + " " + what + " " + index + " on a log that differs at " + committedLast);
        }
        if (index >= committedPrefix.length) {
            int size = (int) Math.max(index + 1, committedPrefix.length * 2L);
            committedPrefix = java.util.Arrays.copyOf(committedPrefix, size);
            committedAtTerm = java.util.Arrays.copyOf(committedAtTerm, size);
        }
        for (long i = committedLast + 1; i <= index; i++) {
            committedPrefix[(int) i] = node.disk.handedPrefixHash(i);
            committedAtTerm[(int) i] = term;
            committedLast = i;
            membership.onCommitted(node, i);
        }
    }

    static void fail(String message) {
        throw new SimulationFailure(message);
    }
}
