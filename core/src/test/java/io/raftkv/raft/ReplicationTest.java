package io.raftkv.raft;

import io.raftkv.replica.MemoryDurableLog;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Log replication, scripted step by step: commitment (Raft paper §5.3, §5.4.2), the new leader's no-op (§8),
 * repairing a follower's log with the thesis' faster back-off, batching and pipelining, flow control, and the
 * order in which a {@link Ready} hands out messages around the disk write (thesis §10.2.1).
 */
class ReplicationTest {

    /**
     * Scenarios that elect a second leader while the followers still follow the first one: without
     * CheckQuorum the followers grant (pre-)votes at once instead of waiting out the leader's lease.
     */
    private static final Consumer<RaftConfig> NO_LEASE = c -> c.checkQuorum(false);

    // ---------------------------------------------------------------- commitment and apply

    @Test
    @DisplayName("§5.3 an entry commits once a majority persisted it, and the leader and followers apply entries in log order")
    void commitsOnMajorityAndAppliesInOrder() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.isolate(3);
        for (String s : List.of("a", "b", "c")) assertTrue(c.propose(1, s).accepted());
        c.deliverAll();

        assertEquals(4, c.node(1).status().commit(), "no-op + 3 entries, held by nodes 1 and 2");
        assertEquals(List.of("a", "b", "c"), c.appliedData(1));
        assertEquals(List.of("a", "b", "c"), c.appliedData(2), "the follower applies once the commit reaches it");
        assertEquals(List.of(), c.appliedData(3));
        for (int id = 1; id <= 2; id++) assertEquals(List.of(1L, 2L, 3L, 4L), indexes(c.applied(id)));
    }

    @Test
    @DisplayName("§5.3 an entry only a minority holds is neither committed nor applied")
    void minorityDoesNotCommit() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        long commitBefore = c.node(1).status().commit();
        c.cut(1, 2);
        c.cut(1, 3);
        assertTrue(c.propose(1, "a").accepted());
        c.deliverAll();

        assertEquals(commitBefore, c.node(1).status().commit());
        assertEquals(List.of(), c.appliedData(1));
        assertEquals(2, c.node(1).status().lastIndex(), "the leader holds the entry, uncommitted");
    }

    @Test
    @DisplayName("§5.3 a follower learns the commit index from the leader's next message and applies then")
    void followerAppliesWhenCommitReachesIt() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.drop = m -> m.type() == MessageType.APPEND && m.to() == 3 && m.entries().isEmpty();
        c.propose(1, "a");
        c.deliverAll();
        assertEquals(List.of("a"), c.appliedData(1));
        assertEquals(2, c.node(3).status().lastIndex(), "node 3 holds the entry");
        assertEquals(List.of(), c.appliedData(3), "but has not heard that it committed");

        c.drop = m -> false;
        c.tick(1, 1); // a heartbeat carries the commit index
        c.deliverAll();
        assertEquals(List.of("a"), c.appliedData(3));
    }

    // ---------------------------------------------------------------- the leader's no-op

    @Test
    @DisplayName("§8 a new leader appends a no-op entry of its own term and commits it")
    void newLeaderCommitsNoop() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);

        Entry first = c.disk(1).entry(1);
        assertTrue(first.isNoop());
        assertEquals(leader.term(), first.term());
        for (int id = 1; id <= 3; id++) {
            assertEquals(1, c.node(id).status().commit(), "node " + id);
            assertEquals(List.of(first.index()), indexes(c.applied(id)), "node " + id);
        }
    }

    @Test
    @DisplayName("§5.4.2 and §8 an entry of an earlier term is committed only through the new leader's no-op")
    void earlierTermEntryCommitsThroughNoop() {
        RaftTestCluster c = RaftTestCluster.of(3, NO_LEASE);
        c.elect(1);
        c.drop = m -> m.type() == MessageType.APPEND_RESP; // every node gets "x", the leader never learns it
        c.propose(1, "x");
        c.deliverAll();
        for (int id = 1; id <= 3; id++) assertEquals(1, c.node(id).status().commit(), "x is not committed yet");

        c.crash(1);
        c.drop = m -> false;
        RaftCore leader = c.elect(2);
        c.deliverAll();

        Entry noop = c.disk(2).entry(3);
        assertTrue(noop.isNoop());
        assertEquals(leader.term(), noop.term());
        assertEquals(3, leader.status().commit());
        assertEquals(List.of("x"), c.appliedData(2));
        assertEquals(List.of("x"), c.appliedData(3));
    }

    // ---------------------------------------------------------------- repairing logs

    @Test
    @DisplayName("§5.3 a follower's uncommitted conflicting suffix is replaced by the leader's entries")
    void conflictingSuffixIsReplaced() {
        RaftTestCluster c = RaftTestCluster.of(3, NO_LEASE);
        c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        c.isolate(1);
        for (String s : List.of("stale1", "stale2", "stale3")) assertTrue(c.propose(1, s).accepted());
        c.elect(2);
        c.propose(2, "new1");
        c.propose(2, "new2");
        c.deliverAll();
        assertEquals(1, c.node(1).status().lastTerm(), "node 1 holds three uncommitted entries of term 1");

        c.heal();
        c.tick(2, 1);
        c.deliverAll();

        assertEquals(Role.FOLLOWER, c.node(1).role());
        assertEquals(describe(c.disk(2)), describe(c.disk(1)));
        assertEquals(List.of("a", "new1", "new2"), c.appliedData(1));
    }

    @Test
    @DisplayName("§5.3 (thesis faster back-off) a follower with a long conflicting term is repaired in few rejections")
    void longConflictingTermNeedsFewRejections() {
        int divergent = 50;
        RaftTestCluster c = RaftTestCluster.of(3, NO_LEASE);
        c.elect(1);
        c.isolate(1);
        for (int i = 0; i < divergent; i++) c.propose(1, "stale" + i); // indexes 2..51, term 1, never committed
        c.elect(2);
        for (int i = 0; i < divergent; i++) c.propose(2, "new" + i);
        c.deliverAll();
        c.elect(3); // its progress for node 1 starts past node 1's log, well above the divergence
        int mark = c.sent.size();

        c.heal();
        c.tick(3, 1);
        c.deliverAll();

        long rejections = count(c, mark, m -> m.type() == MessageType.APPEND_RESP && m.reject() && m.from() == 1);
        assertTrue(rejections >= 1 && rejections <= 3, "rejections: " + rejections);
        assertEquals(describe(c.disk(3)), describe(c.disk(1)));
    }

    @Test
    @DisplayName("§5.3 (thesis faster back-off) a follower far behind is brought up to date after one rejection")
    void farBehindFollowerNeedsOneRejection() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.crash(3);
        for (int i = 0; i < 100; i++) c.propose(1, "e" + i);
        c.deliverAll();
        c.restart(3);
        int mark = c.sent.size();

        c.propose(1, "last");
        c.tick(1, 1);
        c.deliverAll();

        long rejections = count(c, mark, m -> m.type() == MessageType.APPEND_RESP && m.reject() && m.from() == 3);
        assertEquals(1, rejections);
        assertEquals(102, c.node(3).status().lastIndex());
        assertEquals(101, c.appliedData(3).size());
    }

    // ---------------------------------------------------------------- batching and pipelining

    @Test
    @DisplayName("§5.3 batching: an APPEND carries at most entriesPerMessageMax entries, and proposals of one turn share messages")
    void appendCarriesAtMostEntriesPerMessageMax() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.entriesPerMessageMax(3));
        c.elect(1);
        int mark = c.sent.size();
        for (int i = 0; i < 10; i++) c.node(1).propose(bytes("e" + i)); // one turn: no Ready in between
        c.process(1);

        List<Message> toTwo = messages(c, mark, m -> m.type() == MessageType.APPEND && m.to() == 2);
        assertEquals(List.of(3, 3, 3, 1), toTwo.stream().map(m -> m.entries().size()).toList());
        c.deliverAll();
        assertEquals(10, c.appliedData(2).size());
    }

    @Test
    @DisplayName("§5.3 batching: an APPEND carries about bytesPerMessageMax of entries, and at least one entry")
    void appendRespectsBytesPerMessageMax() {
        int dataBytes = 30; // 46 bytes counted per entry: two fit in 100, three do not
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.bytesPerMessageMax(100));
        c.elect(1);
        int mark = c.sent.size();
        for (int i = 0; i < 5; i++) c.node(1).propose(new byte[dataBytes]);
        c.node(1).propose(new byte[500]);
        c.process(1);

        List<Message> toTwo = messages(c, mark, m -> m.type() == MessageType.APPEND && m.to() == 2);
        assertEquals(List.of(2, 2, 1, 1), toTwo.stream().map(m -> m.entries().size()).toList());
        for (Message m : toTwo) {
            long entryBytes = m.entries().stream().mapToLong(Entry::sizeBytes).sum();
            assertTrue(m.entries().size() == 1 || entryBytes <= 100, m.toString());
        }
    }

    @Test
    @DisplayName("§5.3 pipelining: in REPLICATE at most inflightMessagesMax APPENDs per follower are unacknowledged")
    void replicateWindowBoundsInflightAppends() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.inflightMessagesMax(3));
        c.elect(1);
        int mark = c.sent.size();
        for (int i = 0; i < 10; i++) c.propose(1, "e" + i); // each its own turn: one APPEND per proposal

        long inflight = count(c, mark, m -> m.type() == MessageType.APPEND && m.to() == 2);
        assertEquals(3, inflight, "APPENDs in flight to node 2");
        c.deliverAll();
        assertEquals(10, c.appliedData(2).size(), "acknowledgements reopen the window");
    }

    @Test
    @DisplayName("§5.3 pipelining: an acknowledged commit-only APPEND does not keep a window slot")
    void acknowledgedEmptyAppendFreesItsSlot() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.inflightMessagesMax(1));
        c.elect(1); // the no-op commits, then an empty APPEND carries commit=1 to each follower and is acknowledged
        c.propose(1, "a");
        c.deliverAll(); // no tick: only acknowledgements can reopen the window

        assertEquals(List.of("a"), c.appliedData(1));
        assertEquals(List.of("a"), c.appliedData(2));
    }

    @Test
    @DisplayName("§5.3 probing: right after the election a leader has one APPEND outstanding per follower until it answers")
    void probeAfterElectionSendsOneAppend() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.drop = m -> m.type() == MessageType.APPEND_RESP && m.from() == 2;
        c.elect(1);
        for (int i = 0; i < 5; i++) c.propose(1, "e" + i);
        c.deliverAll();

        assertEquals(1, count(c, 0, m -> m.type() == MessageType.APPEND && m.to() == 2));
        assertEquals(5, c.appliedData(1).size(), "node 3 carries the commit meanwhile");

        c.drop = m -> false;
        c.tick(1, 1); // a heartbeat answer lets the leader probe again
        c.deliverAll();
        assertEquals(5, c.appliedData(2).size());
    }

    @Test
    @DisplayName("§5.3 probing: after a rejection the leader has one APPEND outstanding to that follower")
    void probeAfterRejectionSendsOneAppend() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.crash(3);
        c.propose(1, "missed");
        c.deliverAll();
        c.restart(3);
        c.propose(1, "b"); // node 3 lacks the entry before it and rejects
        Message m;
        do {
            m = c.deliverOne();
        } while (!(m.type() == MessageType.APPEND_RESP && m.reject() && m.from() == 3));
        int mark = c.sent.size();

        for (int i = 0; i < 5; i++) c.propose(1, "e" + i);

        assertEquals(0, count(c, mark, x -> x.type() == MessageType.APPEND && x.to() == 3), "the probe is still out");
        assertEquals(5, count(c, mark, x -> x.type() == MessageType.APPEND && x.to() == 2));
        c.deliverAll();
        assertEquals(List.of("missed", "b", "e0", "e1", "e2", "e3", "e4"), c.appliedData(3));
    }

    // ---------------------------------------------------------------- Ready ordering (thesis §10.2.1)

    @Test
    @DisplayName("thesis §10.2.1 the leader's APPENDs leave before its own disk write: they are in Ready.messages()")
    void leaderAppendsGoOutBeforeItsSync() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        long index = leader.propose(bytes("x")).index();
        Ready rd = leader.ready();

        assertEquals(List.of(index), indexes(rd.entries()));
        assertTrue(rd.mustSync());
        List<Message> appends = rd.messages().stream().filter(m -> m.type() == MessageType.APPEND).toList();
        assertEquals(List.of(2, 3), appends.stream().map(Message::to).sorted().toList());
        for (Message m : appends) assertEquals(List.of(index), indexes(m.entries()));
        assertEquals(List.of(), rd.messagesAfterPersist());
        leader.advance(rd);
    }

    @Test
    @DisplayName("thesis §10.2.1 the leader counts its own entry toward commitment only once it is persisted")
    void leaderCountsItselfOnlyOncePersisted() {
        MemoryStorage disk = new MemoryStorage();
        RaftCore core = new RaftCore(new RaftConfig(1, List.of(1)), disk);
        while (core.role() != Role.LEADER) {
            core.tick();
            drain(core, disk);
        }
        long index = core.propose(bytes("x")).index();
        Ready rd = core.ready();

        assertEquals(List.of(index), indexes(rd.entries()));
        assertEquals(List.of(), rd.committedEntries());
        assertEquals(index - 1, core.status().commit(), "not durable yet: not counted");
        persist(rd, disk);
        core.advance(rd);
        assertEquals(index - 1, core.status().commit(), "handed to the disk, not reported durable: not counted");
        core.persisted(index, rd.entries().get(0).term());
        assertEquals(index, core.status().commit());

        Ready next = core.ready();
        assertEquals(List.of(index), indexes(next.committedEntries()));
        core.advance(next);
    }

    @Test
    @DisplayName("async storage writes: a follower applies a committed entry only once it is durable here too")
    void followerAppliesOnlyWhatItPersisted() {
        MemoryStorage disk = new MemoryStorage();
        RaftCore follower = new RaftCore(new RaftConfig(2, List.of(1, 2, 3)), disk);
        Entry x = new Entry(1, 1, bytes("x"));
        follower.step(new MessageBuilder(MessageType.APPEND, 1, 2, 1).index(0).logTerm(0).commit(1).entries(List.of(x)).build());
        Ready rd = follower.ready();
        assertEquals(List.of(x), rd.entries());
        assertEquals(List.of(), rd.committedEntries(), "committed, but not durable here");
        persist(rd, disk);
        follower.advance(rd);
        assertFalse(follower.hasReady(), "the write is in progress: nothing to hand out again, nothing to apply");

        follower.persisted(1, 1);
        Ready next = follower.ready();
        assertEquals(List.of(x), next.committedEntries());
        assertEquals(List.of(), next.entries());
        follower.advance(next);
    }

    @Test
    @DisplayName("async storage writes: entries replaced while being written are handed out again, and the late report of the old ones counts nothing")
    void replacedWhileWritingIsWrittenAgain() {
        MemoryStorage disk = new MemoryStorage();
        RaftCore follower = new RaftCore(new RaftConfig(2, List.of(1, 2, 3)), disk);
        Entry a1 = new Entry(1, 1, bytes("a")), b1 = new Entry(1, 2, bytes("b"));
        follower.step(new MessageBuilder(MessageType.APPEND, 1, 2, 1).index(0).logTerm(0).entries(List.of(a1, b1)).build());
        Ready first = follower.ready();
        assertEquals(List.of(a1, b1), first.entries());
        follower.advance(first);

        // A new leader of term 2 replaces entry 2 before the first write is durable.
        Entry b2 = new Entry(2, 2, bytes("B"));
        follower.step(new MessageBuilder(MessageType.APPEND, 3, 2, 2).index(1).logTerm(1).entries(List.of(b2)).build());
        Ready second = follower.ready();
        assertEquals(List.of(b2), second.entries(), "only the replacement: entry 1 is being written already");
        persist(first, disk);
        persist(second, disk);
        follower.advance(second);

        follower.persisted(2, 1);
        assertEquals(2, follower.status().lastIndex());
        follower.step(new MessageBuilder(MessageType.APPEND, 3, 2, 2).index(2).logTerm(2).commit(2).build());
        Ready third = follower.ready();
        assertEquals(List.of(), third.committedEntries(), "entry 2 of term 1 was reported, but term 2's is not durable yet");
        follower.advance(third);
        follower.persisted(2, 2);
        Ready fourth = follower.ready();
        assertEquals(List.of(a1, b2), fourth.committedEntries());
        follower.advance(fourth);
    }

    @Test
    @DisplayName("thesis §10.2.1 a follower's APPEND_RESP waits for the persist: it is in Ready.messagesAfterPersist()")
    void followerAckWaitsForPersist() {
        RaftCore follower = new RaftCore(new RaftConfig(2, List.of(1, 2, 3)), new MemoryStorage());
        Entry x = new Entry(1, 1, bytes("x"));
        follower.step(new MessageBuilder(MessageType.APPEND, 1, 2, 1).index(0).logTerm(0).entries(List.of(x)).build());
        Ready rd = follower.ready();

        assertTrue(rd.mustSync());
        assertEquals(List.of(x), rd.entries());
        assertEquals(List.of(), rd.messages());
        assertEquals(1, rd.messagesAfterPersist().size());
        Message ack = rd.messagesAfterPersist().get(0);
        assertEquals(MessageType.APPEND_RESP, ack.type());
        assertFalse(ack.reject());
        assertEquals(1, ack.index());
        follower.advance(rd);
    }

    @Test
    @DisplayName("Figure 2 and thesis §10.2.1 a VOTE_RESP waits for the persisted term and vote: it is in messagesAfterPersist()")
    void voteResponseWaitsForPersist() {
        RaftCore voter = new RaftCore(new RaftConfig(2, List.of(1, 2, 3)), new MemoryStorage());
        voter.step(new MessageBuilder(MessageType.VOTE, 1, 2, 1).index(0).logTerm(0).build());
        Ready rd = voter.ready();

        assertTrue(rd.mustSync());
        assertEquals(new HardState(1, 1, 0), rd.hardState());
        assertEquals(List.of(), rd.messages());
        assertEquals(1, rd.messagesAfterPersist().size());
        Message grant = rd.messagesAfterPersist().get(0);
        assertEquals(MessageType.VOTE_RESP, grant.type());
        assertFalse(grant.reject());
        voter.advance(rd);
    }

    @Test
    @DisplayName("thesis §10.2.1 a Ready whose only change is the commit index does not need a sync")
    void commitOnlyChangeNeedsNoSync() {
        MemoryStorage disk = new MemoryStorage();
        RaftCore follower = new RaftCore(new RaftConfig(2, List.of(1, 2, 3)), disk);
        Entry x = new Entry(1, 1, bytes("x"));
        follower.step(new MessageBuilder(MessageType.APPEND, 1, 2, 1).index(0).logTerm(0).entries(List.of(x)).build());
        drain(follower, disk);

        follower.step(new MessageBuilder(MessageType.APPEND, 1, 2, 1).index(1).logTerm(1).commit(1).build());
        Ready rd = follower.ready();
        assertFalse(rd.mustSync());
        assertEquals(new HardState(1, RaftCore.NONE, 1), rd.hardState());
        assertEquals(List.of(), rd.entries());
        assertEquals(List.of(x), rd.committedEntries());
        follower.advance(rd);
    }

    @Test
    @DisplayName("Ready contract: no step, tick, propose or readIndex between ready() and advance()")
    void callsBetweenReadyAndAdvanceThrow() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        leader.propose(bytes("x"));
        Ready rd = leader.ready();
        Message ack = new MessageBuilder(MessageType.APPEND_RESP, 2, 1, leader.term()).index(2).build();

        assertThrows(IllegalStateException.class, leader::tick);
        assertThrows(IllegalStateException.class, () -> leader.step(ack));
        assertThrows(IllegalStateException.class, () -> leader.propose(bytes("y")));
        assertThrows(IllegalStateException.class, () -> leader.readIndex(7));
        assertThrows(IllegalStateException.class, leader::ready);
        assertFalse(leader.hasReady());
        leader.advance(rd);
        leader.tick(); // accepted again once advanced
    }

    // ---------------------------------------------------------------- refused proposals

    @Test
    @DisplayName("§5.1 a follower refuses a proposal with NOT_LEADER and names the leader it knows")
    void followerRedirectsToKnownLeader() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        SubmitResult r = c.propose(2, "x");
        assertEquals(SubmitResult.Status.NOT_LEADER, r.status());
        assertEquals(1, r.leaderId());
    }

    @Test
    @DisplayName("§5.1 before any leader is known a proposal is refused with NOT_LEADER and leader NONE")
    void noLeaderKnownYet() {
        RaftTestCluster c = RaftTestCluster.of(3);
        SubmitResult r = c.propose(1, "x");
        assertEquals(SubmitResult.Status.NOT_LEADER, r.status());
        assertEquals(RaftCore.NONE, r.leaderId());
    }

    @Test
    @DisplayName("flow control: the leader refuses with OVERLOADED past uncommittedBytesMax, and accepts again once entries commit")
    void overloadedPastUncommittedBytesMax() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> cfg.uncommittedBytesMax(100));
        c.elect(1);
        String thirty = "x".repeat(30); // 46 bytes counted: two fit in 100
        assertTrue(c.propose(1, thirty).accepted());
        assertTrue(c.propose(1, thirty).accepted());
        SubmitResult refused = c.propose(1, thirty); // nothing delivered yet: both are uncommitted
        assertEquals(SubmitResult.Status.OVERLOADED, refused.status());
        assertEquals(1, refused.leaderId());

        c.deliverAll();
        assertEquals(2, c.appliedData(1).size());
        assertTrue(c.propose(1, thirty).accepted());
    }

    @Test
    @DisplayName("flow control: once everything committed the whole uncommittedBytesMax is free again, to the byte")
    void uncommittedBytesReturnToZero() {
        RaftTestCluster c = RaftTestCluster.of(3, cfg -> NO_LEASE.accept(cfg.uncommittedBytesMax(100)));
        c.elect(1);
        String full = "x".repeat(100 - Entry.OVERHEAD_BYTES); // counted as exactly 100 bytes
        for (int round = 0; round < 3; round++) {
            assertTrue(c.propose(1, full).accepted(), "round " + round + ": nothing left uncommitted");
            assertEquals(SubmitResult.Status.OVERLOADED, c.propose(1, "y").status(), "round " + round + ": the budget is used up");
            c.deliverAll();
        }
        assertEquals(3, c.appliedData(1).size());

        c.isolate(1);
        assertTrue(c.propose(1, full).accepted());
        c.elect(2);
        c.heal();
        c.tick(2, 1); // node 2's heartbeat makes node 1 step down; its uncommitted entry is replaced
        c.deliverAll();
        assertEquals(Role.FOLLOWER, c.node(1).role());
        c.crash(2);
        c.elect(1);
        assertTrue(c.propose(1, full).accepted(), "a new term's leader counts only its own entries");
    }

    @Test
    @DisplayName("§8 an empty proposal is refused: empty data marks the leader's no-op")
    void emptyProposalIsRejected() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        assertThrows(IllegalArgumentException.class, () -> leader.propose(new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> c.node(2).propose(new byte[0]));
    }

    // ---------------------------------------------------------------- crash and restart

    @Test
    @DisplayName("§5.3 a follower restarted from its storage catches up once the leader sends new entries")
    void restartedFollowerCatchesUpOnNewEntries() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        c.crash(3);
        c.propose(1, "b");
        c.propose(1, "c");
        c.deliverAll();
        c.restart(3);
        assertEquals(2, c.node(3).status().lastIndex(), "node 3 restarts from what it persisted");

        c.propose(1, "d");
        c.deliverAll();
        assertEquals(List.of("a", "b", "c", "d"), c.appliedData(3));
    }

    @Test
    @DisplayName("§5.3 a follower restarted from its storage catches up on the leader's heartbeats, with no new proposal")
    void restartedFollowerCatchesUpOnHeartbeat() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        c.crash(3);
        c.propose(1, "b");
        c.propose(1, "c");
        c.deliverAll();
        c.restart(3);

        for (int i = 0; i < 3; i++) {
            c.tick(1, 1);
            c.deliverAll();
        }
        assertEquals(List.of("a", "b", "c"), c.appliedData(3));
    }

    @Test
    @DisplayName("Figure 2 a restarted leader keeps its term and vote, and does not vote for another node in that term")
    void restartedLeaderKeepsTermAndVote() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore before = c.elect(1);
        long term = before.term();
        c.crash(1);
        c.restart(1);

        RaftStatus st = c.node(1).status();
        assertEquals(Role.FOLLOWER, st.role());
        assertEquals(term, st.term());
        assertEquals(1, st.vote());
        int mark = c.sent.size();
        // A candidate for the same term whose log is more up-to-date: only the earlier vote stops the grant.
        c.node(1).step(new MessageBuilder(MessageType.VOTE, 3, 1, term).index(100).logTerm(term).build());
        c.process(1);

        List<Message> answers = messages(c, mark, m -> m.type() == MessageType.VOTE_RESP);
        assertEquals(1, answers.size());
        assertTrue(answers.get(0).reject());
        assertEquals(1, c.node(1).status().vote());
        assertEquals(1, c.disk(1).hardState().vote());
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Long> indexes(List<Entry> entries) {
        return entries.stream().map(Entry::index).toList();
    }

    private static List<Message> messages(RaftTestCluster c, int from, Predicate<Message> p) {
        return c.sent.subList(from, c.sent.size()).stream().filter(p).toList();
    }

    private static long count(RaftTestCluster c, int from, Predicate<Message> p) {
        return messages(c, from, p).size();
    }

    /** Index, term and data of every persisted entry, comparable between nodes. */
    private static List<String> describe(MemoryStorage disk) {
        List<String> out = new ArrayList<>();
        for (long i = 1; i <= disk.lastIndex(); i++) {
            Entry e = disk.entry(i);
            out.add(e.index() + "@" + e.term() + ":" + new String(e.data(), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** Persists one Ready by hand, where a test looks at the core between persisting and advancing. */
    private static void persist(Ready rd, MemoryStorage disk) {
        new MemoryDurableLog(disk).persist(rd.hardState(), rd.entries(), rd.mustSync(), () -> { });
    }

    /** Processes every Ready of a lone core with the node's driver: messages dropped, entries to memory. */
    private static void drain(RaftCore core, MemoryStorage disk) {
        try {
            RaftTestCluster.isolatedDriver(core, disk).process();
        } catch (java.io.IOException e) {
            throw new AssertionError("a memory log does not fail", e);
        }
    }

    @Test
    @DisplayName("§5.3 a follower that lost entries it had acknowledged (a disk that dropped synced data) is caught up again")
    void followerThatLostAcknowledgedEntriesCatchesUp() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        for (int i = 0; i < 5; i++) c.propose(1, "e" + i);
        c.deliverAll();
        assertEquals(5, c.appliedData(3).size());
        c.crash(3);
        c.disk(3).truncateFrom(3);
        c.restart(3);
        assertEquals(2, c.node(3).status().lastIndex());
        assertEquals(2, c.node(3).status().commit(), "the persisted commit is cut back to the log that is left");
        for (int i = 0; i < 3; i++) {
            c.tick(1, 1);
            c.deliverAll();
        }
        assertEquals(List.of("e0", "e1", "e2", "e3", "e4"), c.appliedData(3), "the leader noticed and resent the lost entries");
    }

    @Test
    @DisplayName("§5.3 an APPEND whose entries do not follow its preceding index is dropped, not appended")
    void malformedAppendIsDropped() {
        RaftTestCluster c = RaftTestCluster.of(3);
        c.elect(1);
        RaftCore follower = c.node(2);
        long term = follower.term();
        long last = follower.status().lastIndex();
        List<Entry> gap = List.of(new Entry(term, last + 5, new byte[]{1}));
        follower.step(new Message(MessageType.APPEND, 1, 2, term, follower.status().lastTerm(), last, gap, 0, false, 0, 0, 0));
        List<Entry> futureTerm = List.of(new Entry(term + 3, last + 1, new byte[]{1}));
        follower.step(new Message(MessageType.APPEND, 1, 2, term, follower.status().lastTerm(), last, futureTerm, 0, false, 0, 0, 0));
        c.process(2);
        assertEquals(last, follower.status().lastIndex(), "nothing appended");
        assertEquals(term, follower.term());
    }

    @Test
    @DisplayName("§5.3 an APPEND_RESP acknowledging entries the leader does not hold is dropped: match never passes the leader's log")
    void acknowledgementPastTheLeadersLogIsDropped() {
        RaftTestCluster c = RaftTestCluster.of(3);
        RaftCore leader = c.elect(1);
        c.propose(1, "a");
        c.deliverAll();
        RaftStatus before = leader.status();
        int mark = c.sent.size();

        for (long index : new long[]{before.lastIndex() + 1, before.lastIndex() + 1000, Long.MAX_VALUE}) {
            for (int from = 2; from <= 3; from++) {
                leader.step(new MessageBuilder(MessageType.APPEND_RESP, from, 1, leader.term()).index(index).build());
                c.process(1);
            }
        }

        assertEquals(before, leader.status());
        assertEquals(0, count(c, mark, m -> m.type() == MessageType.APPEND), "nothing to send: the followers hold everything");
        assertTrue(c.propose(1, "b").accepted());
        c.deliverAll();
        assertEquals(List.of("a", "b"), c.appliedData(2), "replication goes on from the real match");
    }
}
