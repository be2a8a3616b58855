package io.raftkv.sim;

import io.raftkv.raft.Entry;
import io.raftkv.raft.Membership;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.RaftStatus;
import io.raftkv.raft.Role;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The properties of configuration changes (thesis chapter 4), checked incrementally beside {@link SafetyChecker},
 * which calls it after every event. Knowledge is global: every node's disk can be read, and the configurations
 * committed so far are known in log order (an entry is seen the moment the first node counts it committed, while
 * that node still holds it).
 * <ul>
 *   <li>No two disjoint quorums: each configuration, when it is appended after the one before it in that log, and
 *       when it is committed after the committed one before it, has no majority disjoint from a majority of the
 *       one before (what a single-server change guarantees, §4.1).</li>
 *   <li>A leader appends a configuration only after committing an entry of its term and while no other change is
 *       uncommitted in its log (§4.1 and the fix from the raft-dev list, 2015).</li>
 *   <li>Every index a leader commits is held, on the simulated disks, by a majority of the leader's voters; none of
 *       them a node removed in a configuration committed at or before that index (a removed node is never counted).</li>
 *   <li>A node removed in a committed configuration is a member of no later committed configuration, and never
 *       becomes leader afterwards. Election safety across configurations is {@link SafetyChecker}'s global check:
 *       one leader per term, whichever configuration each believes in.</li>
 *   <li>Every node's applied configuration at applied index {@code i} is the configuration committed at or before
 *       {@code i}: nodes agree on it at equal applied indexes, and snapshots carry it (save the one case
 *       {@link #checkAppliedConfig} counts: a node that joined knows none before the entry that adds it).</li>
 * </ul>
 */
final class MembershipChecker {

    /** Node ids of the simulation's pool are 1..nodes.size(); nodes.get(id - 1) is node id. */
    private final List<SimNode> nodes;
    /** The configurations committed so far, by the index of their entry (0: the first members). */
    private final TreeMap<Long, Membership> committed = new TreeMap<>();
    /** For each node removed in a committed configuration, the index of the first committed one that lists it removed. */
    private final Map<Integer, Long> removedAt = new HashMap<>();

    /** Committed changes by kind, as the committed configurations differ from the one before. */
    long learnersAdded;
    long votersAdded;
    long learnersPromoted;
    long votersRemoved;
    long learnersRemoved;

    /** Applied indexes at which a node that joined later showed no configuration (before the entry that added it). */
    long joinerViews;

    MembershipChecker(List<SimNode> nodes, Membership first) {
        this.nodes = nodes;
        committed.put(0L, first);
    }

    /** The index at which {@code id} was removed in a committed configuration; -1 if it was not. */
    long removedAt(int id) {
        Long at = removedAt.get(id);
        return at == null ? -1 : at;
    }

    /** The latest committed configuration. */
    Membership lastCommitted() {
        return committed.lastEntry().getValue();
    }

    // ------------------------------------------------------------------ committed configurations

    /** {@code index} is known committed for the first time; {@code source} holds it. */
    void onCommitted(SimNode source, long index) {
        // The core's log: its copy may still be on its way to its disk.
        Entry e = source.disk.handedEntry(index);
        if (e != null) {
            if (Membership.isConfigEntry(e)) commit(index, Membership.fromEntry(e));
            return;
        }
        // A node holds a committed index only through a snapshot once some node committed it while holding the entry
        // (a snapshot is taken of applied entries): an entry the checker never saw would leave its configurations
        // incomplete.
        SafetyChecker.fail("node " + source.id + " is the first known to commit index " + index + ", which its log no longer holds (snapshot "
                + source.disk.storage.snapshot() + "): the membership checker would miss a configuration");
    }

    private void commit(long index, Membership next) {
        Membership prev = lastCommitted();
        if (!quorumsIntersect(prev, next)) {
            SafetyChecker.fail("disjoint quorums: the configuration committed at " + index + " (" + next + ") has a majority disjoint from one of "
                    + "the committed configuration before it (" + prev + ")");
        }
        countChange(prev, next);
        for (Map.Entry<Integer, Long> r : removedAt.entrySet()) {
            if (next.contains(r.getKey())) {
                SafetyChecker.fail("node " + r.getKey() + ", removed in the configuration committed at " + r.getValue() + ", is a member of the one "
                        + "committed at " + index + ": " + next);
            }
        }
        for (Membership.Member m : prev.members()) {
            if (!next.contains(m.id()) && !next.wasRemoved(m.id())) {
                SafetyChecker.fail("node " + m.id() + " left the configuration committed at " + index + " without being listed as removed: " + next);
            }
        }
        for (int id = 1; id <= nodes.size(); id++) if (next.wasRemoved(id)) removedAt.putIfAbsent(id, index);
        committed.put(index, next);
    }

    private void countChange(Membership prev, Membership next) {
        for (Membership.Member m : next.members()) {
            if (!prev.contains(m.id())) {
                if (m.isVoter()) votersAdded++; else learnersAdded++;
            } else if (m.isVoter() && prev.isLearner(m.id())) {
                learnersPromoted++;
            }
        }
        for (Membership.Member m : prev.members()) {
            if (!next.contains(m.id())) {
                if (m.isVoter()) votersRemoved++; else learnersRemoved++;
            }
        }
    }

    // ------------------------------------------------------------------ appended configurations

    /** {@code node} just handed the configuration entry {@code e} to its disk; {@code status} is its state as it did. */
    void onPersistConfig(SimNode node, Entry e, RaftStatus status) {
        Membership next = Membership.fromEntry(e);
        InForce before = configBefore(node, e.index());
        long prevIndex = before.index();
        Membership prev = before.config();
        // A node that joined holds no configuration before its leader's log names one: nothing to compare with.
        if (!prev.members().isEmpty() && !quorumsIntersect(prev, next)) {
            SafetyChecker.fail("disjoint quorums: node " + node.id + " appended at " + e.index() + " the configuration " + next
                    + ", which has a majority disjoint from one of the configuration before it in its log (" + prev + " at " + prevIndex + ")");
        }
        if (status.role() == Role.LEADER && e.term() == status.term()) {
            // The leader appended it itself.
            Entry committed = node.disk.handedEntry(status.commit());
            if ((committed != null ? committed.term() : node.disk.storage.term(status.commit())) != status.term()) {
                SafetyChecker.fail("leader " + node.id + " of term " + status.term() + " appended a configuration change at " + e.index()
                        + " before committing an entry of its term (commit " + status.commit() + ")");
            }
            if (prevIndex > status.commit()) {
                SafetyChecker.fail("leader " + node.id + " appended a configuration change at " + e.index() + " while the one at " + prevIndex
                        + " was not committed (commit " + status.commit() + "): two changes at once");
            }
        }
    }

    private record InForce(long index, Membership config) { }

    /** The configuration in force just before {@code index} in the node's log, and the index that set it (its snapshot's, or 0). */
    private static InForce configBefore(SimNode node, long index) {
        MemoryStorage storage = node.disk.storage;
        for (long i = index - 1; i >= storage.firstIndex(); i--) {
            Entry e = node.disk.handedEntry(i);
            if (Membership.isConfigEntry(e)) return new InForce(i, Membership.fromEntry(e));
        }
        // No configuration entry after the boundary: the one the snapshot holds (none changed between the boundary
        // and the snapshot, or the loop would have found it), or the bootstrap.
        long snapshot = storage.snapshot().index();
        return new InForce(snapshot, snapshot == 0 ? node.bootstrap : storage.snapshotMembership());
    }

    // ------------------------------------------------------------------ after every event

    /**
     * After every event, for each live node, once {@link SafetyChecker} has taken in what it committed:
     * {@code commitBefore} is its commit index after the previous event, {@code becameLeader} whether it took the
     * lead of its term in this event.
     */
    void afterEvent(SimNode node, RaftStatus status, long commitBefore, boolean becameLeader) {
        if (becameLeader) checkNotRemoved(node, status.term());
        if (status.role() == Role.LEADER && status.commit() > commitBefore) checkCommitQuorum(node, node.core().membership(), status.commit(), status.term());
        if (status.applied() != node.appliedConfigChecked) {
            node.appliedConfigChecked = status.applied();
            Membership applied = node.core().appliedMembership();
            Membership inForce = committed.floorEntry(status.applied()).getValue();
            // The same two configurations as the last time they were found equal: nothing to compare.
            if (applied == node.appliedConfigSeen && inForce == node.committedConfigSeen) return;
            if (checkAppliedConfig(node, status.applied(), applied, false)) {
                node.appliedConfigSeen = applied;
                node.committedConfigSeen = inForce;
            }
        }
    }

    /** {@code node} just took the lead of {@code term}: it was not removed in a committed configuration. */
    void checkNotRemoved(SimNode node, long term) {
        if (removedAt.containsKey(node.id)) {
            SafetyChecker.fail("node " + node.id + ", removed in the configuration committed at " + removedAt.get(node.id) + ", became leader of term " + term);
        }
    }

    /**
     * The commit index of {@code leader}, whose configuration is {@code config}, reached {@code c}: a majority of its
     * voters hold that entry durably (on their simulated disks), none of them removed at or before {@code c}.
     */
    void checkCommitQuorum(SimNode leader, Membership config, long c, long term) {
        // The leader's own copy may still be on its way to its disk: a majority of the others may commit it.
        long hash = leader.disk.handedPrefixHash(c);
        int holders = 0;
        StringBuilder who = new StringBuilder();
        for (Membership.Member m : config.members()) {
            if (!m.isVoter()) continue;
            long removed = removedAt(m.id());
            if (removed >= 0 && removed <= c) {
                SafetyChecker.fail("leader " + leader.id + " committed " + c + " counting the voters of " + config + ", among them node " + m.id()
                        + ", removed in the configuration committed at " + removed);
            }
            SimDisk disk = m.id() <= nodes.size() ? nodes.get(m.id() - 1).disk : null;
            if (disk != null && disk.lastIndex() >= c && disk.prefixHash(c) == hash) {
                holders++;
                who.append(' ').append(m.id());
            }
        }
        if (holders < config.majority()) {
            SafetyChecker.fail("leader " + leader.id + " of term " + term + " committed " + c + " but only nodes [" + who.toString().trim()
                    + "] hold it, not a majority of the voters of its configuration " + config);
        }
    }

    /**
     * The configuration a node reflects at {@code index}, applied or in a snapshot it takes ({@code snapshot}), is the
     * one committed in force there. One exception, counted: a node that joined later knows no configuration
     * ({@link Membership#EMPTY}, its bootstrap) for the entries before the one that adds it, when it caught up from
     * the log's first entry. Harmless while only it holds that view: it takes no snapshot then (as the real node), and a
     * snapshot with that view fails the run. Returns whether the two are equal.
     */
    boolean checkAppliedConfig(SimNode node, long index, Membership config, boolean snapshot) {
        Map.Entry<Long, Membership> inForce = committed.floorEntry(index);
        if (config.equals(inForce.getValue())) return true;
        boolean joinerView = config.members().isEmpty() && node.bootstrap.members().isEmpty() && !inForce.getValue().contains(node.id);
        if (joinerView && !snapshot) {
            joinerViews++;
            return false;
        }
        SafetyChecker.fail("node " + node.id + (snapshot ? " takes a snapshot at" : " applied") + " index " + index + " with the configuration " + config
                + ", but the one committed in force there (set at " + inForce.getKey() + ") is " + inForce.getValue());
        return false;
    }

    /**
     * Whether every majority of {@code a}'s voters overlaps every majority of {@code b}'s: a pair of disjoint ones
     * needs a majority of {@code a} taken first from the voters only {@code a} has, and one of {@code b} likewise,
     * whose remainders both fit in the voters they share.
     */
    static boolean quorumsIntersect(Membership a, Membership b) {
        int shared = 0;
        int onlyA = 0;
        int onlyB = 0;
        for (int v : a.voters()) if (b.isVoter(v)) shared++; else onlyA++;
        for (int v : b.voters()) if (!a.isVoter(v)) onlyB++;
        int fromSharedA = Math.max(0, a.majority() - onlyA);
        int fromSharedB = Math.max(0, b.majority() - onlyB);
        return fromSharedA + fromSharedB > shared;
    }
}
