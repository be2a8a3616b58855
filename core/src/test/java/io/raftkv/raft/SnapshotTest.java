package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Log compaction and snapshots (Raft paper §7, etcd's MsgSnap and ReportSnapshot), scripted: a leader that
 * compacted the entries a follower needs sends its snapshot instead, the follower replaces its log with it, and
 * replication goes on from the log after it.
 */
class SnapshotTest {

    private static List<String> letters(int n) {
        return IntStream.range(0, n).mapToObj(i -> "v" + i).toList();
    }

    private static RaftTestCluster leaderAheadOfCompactedLog(List<String> values) {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.isolate(3);
        for (String v : values) assertTrue(c.propose(1, v).accepted());
        c.deliverAll();
        SnapshotId snapshot = c.snapshot(1);
        c.compact(1, snapshot.index());
        return c;
    }

    private static long sentOfType(RaftTestCluster c, MessageType type, int to) {
        return c.sent.stream().filter(m -> m.type() == type && m.to() == to).count();
    }

    @Test
    @DisplayName("§7 a follower that needs compacted entries gets the leader's snapshot, then the entries after it")
    void laggingFollowerCatchesUpThroughSnapshot() {
        List<String> values = letters(10);
        RaftTestCluster c = leaderAheadOfCompactedLog(values);
        assertEquals(12, c.disk(1).firstIndex(), "no-op + 10 entries compacted");

        c.heal();
        c.tick(1, 1);
        c.deliverAll();
        assertTrue(c.propose(1, "after").accepted());
        c.deliverAll();

        assertEquals(1, sentOfType(c, MessageType.SNAPSHOT, 3), "one snapshot, then appends");
        assertEquals(c.appliedData(1), c.appliedData(3));
        assertEquals("after", c.appliedData(3).get(c.appliedData(3).size() - 1));
        assertEquals(new SnapshotId(11, c.node(1).term()), c.disk(3).snapshot());
        assertEquals(12, c.disk(3).firstIndex(), "the follower's log restarts after the snapshot");
        assertEquals(c.node(1).status().lastIndex(), c.node(3).status().lastIndex());
        assertEquals(c.node(1).status().commit(), c.node(3).status().commit());
    }

    @Test
    @DisplayName("§7 a snapshot lost on the way is reported, and sent again only after the next heartbeat answer")
    void lostSnapshotIsSentAgainAfterHeartbeat() {
        RaftTestCluster c = leaderAheadOfCompactedLog(letters(5));
        c.heal();
        c.drop = m -> m.type() == MessageType.SNAPSHOT;
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(1, sentOfType(c, MessageType.SNAPSHOT, 3), "after the failure report the leader waits for a heartbeat answer");

        c.drop = m -> false;
        c.tick(1, 1);
        c.deliverAll();
        assertEquals(2, sentOfType(c, MessageType.SNAPSHOT, 3));
        assertEquals(c.appliedData(1), c.appliedData(3));
    }

    @Test
    @DisplayName("§7 a follower whose log already holds the snapshot's last entry commits up to it instead of restoring")
    void followerHoldingTheSnapshotEntryDoesNotRestore() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.isolate(3);
        assertTrue(c.propose(1, "a").accepted());
        c.deliverAll();
        Message snap = new Message(MessageType.SNAPSHOT, 1, 2, c.node(1).term(), c.node(1).term(), 2, List.of(), 0, false, 0, 0, 0);
        c.node(2).step(snap);
        c.process(2);
        assertEquals(1, c.disk(2).firstIndex(), "no restore: the log is kept");
        assertEquals(2, c.node(2).status().commit());
    }

    @Test
    @DisplayName("§7 a node restarts from its installed snapshot and the log after it, and goes on replicating")
    void restartFromSnapshot() {
        RaftTestCluster c = leaderAheadOfCompactedLog(letters(8));
        c.heal();
        c.tick(1, 1);
        c.deliverAll();
        assertTrue(c.propose(1, "x").accepted());
        c.deliverAll();

        c.crash(3);
        c.restart(3);
        assertEquals(c.appliedData(1).subList(0, 8), c.appliedData(3).subList(0, 8), "the state machine restarts from the snapshot");
        c.tick(1, 1);
        c.deliverAll();
        assertTrue(c.propose(1, "y").accepted());
        c.deliverAll();
        assertEquals(c.appliedData(1), c.appliedData(3));
    }

    @Test
    @DisplayName("§7 a leader elected with a compacted log serves followers from its snapshot too")
    void newLeaderWithCompactedLog() {
        // Without CheckQuorum node 3, which no tick told that node 1 is gone, grants its pre-vote at once.
        RaftTestCluster c = RaftTestCluster.of(3, config -> config.checkQuorum(false));
        c.elect(1);
        c.isolate(3);
        for (String v : letters(6)) assertTrue(c.propose(1, v).accepted());
        c.deliverAll();
        SnapshotId at2 = c.snapshot(2);
        c.compact(2, at2.index() - 1);
        c.crash(1);
        c.heal();
        c.elect(2);
        c.deliverAll();
        assertTrue(c.propose(2, "z").accepted());
        c.deliverAll();
        assertEquals(c.appliedData(2), c.appliedData(3));
        assertEquals(1, sentOfType(c, MessageType.SNAPSHOT, 3));
    }

    @Test
    @DisplayName("compaction: the log keeps only the boundary's term, and refuses to compact past its snapshot")
    void storageCompaction() {
        MemoryStorage disk = new MemoryStorage();
        disk.append(List.of(new Entry(1, 1, new byte[]{1}), new Entry(1, 2, new byte[]{2}), new Entry(2, 3, new byte[]{3})));
        assertThrows(IllegalArgumentException.class, () -> disk.compactTo(2), "no snapshot covers it yet");
        disk.setSnapshot(new SnapshotId(2, 1), Membership.ofVoters(List.of(1)));
        disk.compactTo(2);
        assertEquals(3, disk.firstIndex());
        assertEquals(1, disk.term(2));
        assertEquals(2, disk.term(3));
        assertThrows(IndexOutOfBoundsException.class, () -> disk.term(1));
        assertThrows(IndexOutOfBoundsException.class, () -> disk.entries(2, 4, Long.MAX_VALUE));
        assertEquals(1, disk.entries(3, 4, Long.MAX_VALUE).size());
        assertThrows(IllegalArgumentException.class, () -> disk.append(List.of(new Entry(2, 2, new byte[]{9}))), "below the boundary");
    }
}
