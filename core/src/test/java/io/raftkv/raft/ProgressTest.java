package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The leader's view of one follower, transition by transition: probing and repairing (Raft paper §5.3, with
 * the thesis' faster back-off), the pipelined window, heartbeat answers, and the invariants Progress checks
 * after every transition (match &lt; next, nothing in flight while probing, the window within its capacity).
 */
class ProgressTest {

    private static final int WINDOW = 3;

    // ---------------------------------------------------------------- probing

    @Test
    @DisplayName("§5.3 a new leader's view probes from the given next, knowing nothing")
    void resetProbesFromNext() {
        Progress pr = replicating(7, 9);
        pr.reset(11);

        assertEquals(Progress.State.PROBE, pr.state());
        assertEquals(0, pr.match());
        assertEquals(11, pr.next());
        assertEquals(0, pr.inflightCount());
        assertFalse(pr.paused());
        assertEquals(0, pr.sentCommit());
    }

    @Test
    @DisplayName("§5.3 probing: one APPEND at a time, and an acknowledgement switches to REPLICATE")
    void probeSendsOneAppendThenReplicates() {
        Progress pr = probing(5);
        pr.sentAppend(4, 2, 0, 3);

        assertTrue(pr.paused(), "the probe is out");
        assertEquals(5, pr.next(), "in PROBE next waits for the answer");
        assertEquals(0, pr.inflightCount(), "a probe takes no window slot");

        assertTrue(pr.maybeUpdate(6));
        assertEquals(6, pr.match());
        assertEquals(7, pr.next());
        assertFalse(pr.paused(), "answered");
        pr.becomeReplicate();
        assertEquals(Progress.State.REPLICATE, pr.state());
        assertEquals(7, pr.next());
    }

    @Test
    @DisplayName("§5.3 an acknowledgement at or below match tells nothing new and never moves next back")
    void staleAcknowledgementChangesNothing() {
        Progress pr = replicating(5, 5);
        pr.sentAppend(5, 3, 0, 0); // next 9

        assertFalse(pr.maybeUpdate(4));
        assertFalse(pr.maybeUpdate(5));
        assertEquals(5, pr.match());
        assertEquals(9, pr.next());
        assertEquals(1, pr.inflightCount());
    }

    // ---------------------------------------------------------------- rejections

    @Test
    @DisplayName("§5.3 (thesis faster back-off) a rejection moves next to the hint, never to or below match and never above the rejected index")
    void rejectionMovesNextWithinBounds() {
        Progress hinted = replicating(3, 3);
        hinted.sentAppend(3, 5, 0, 0); // entries 4..8 in flight
        assertTrue(hinted.maybeDecrTo(8, 6));
        assertEquals(Progress.State.PROBE, hinted.state());
        assertEquals(6, hinted.next());
        assertEquals(0, hinted.inflightCount(), "PROBE: nothing in flight");

        Progress belowMatch = replicating(3, 3);
        belowMatch.sentAppend(3, 5, 0, 0);
        assertTrue(belowMatch.maybeDecrTo(8, 1));
        assertEquals(4, belowMatch.next(), "the logs agree up to match");

        Progress aboveRejected = replicating(3, 3);
        aboveRejected.sentAppend(3, 5, 0, 0);
        assertTrue(aboveRejected.maybeDecrTo(6, 100));
        assertEquals(6, aboveRejected.next(), "the logs disagree at the rejected index");
    }

    @Test
    @DisplayName("§5.3 a stale rejection is ignored: in REPLICATE one at or below match, in PROBE one not about the probe outstanding")
    void staleRejectionIsIgnored() {
        Progress replicating = replicating(5, 5);
        replicating.sentAppend(5, 2, 0, 0);
        assertFalse(replicating.maybeDecrTo(5, 1));
        assertFalse(replicating.maybeDecrTo(2, 1));
        assertEquals(Progress.State.REPLICATE, replicating.state());
        assertEquals(8, replicating.next());
        assertEquals(1, replicating.inflightCount());

        Progress probing = probing(10);
        probing.sentAppend(9, 1, 0, 0);
        assertFalse(probing.maybeDecrTo(7, 3), "the probe was after 9");
        assertEquals(10, probing.next());
        assertTrue(probing.paused(), "still waiting for the probe's answer");
        assertTrue(probing.maybeDecrTo(9, 3));
        assertEquals(3, probing.next());
        assertFalse(probing.paused(), "answered: the next probe may go");
    }

    // ---------------------------------------------------------------- the window

    @Test
    @DisplayName("§5.3 pipelining: APPENDs with entries take window slots up to the capacity; an acknowledgement frees those it covers")
    void windowFillsAndAcknowledgementsFreeIt() {
        Progress pr = replicating(1, 1);
        pr.sentAppend(1, 2, 0, 0); // 2..3
        pr.sentAppend(3, 1, 0, 0); // 4
        assertFalse(pr.paused());
        pr.sentAppend(4, 4, 0, 0); // 5..8
        assertEquals(9, pr.next());
        assertEquals(WINDOW, pr.inflightCount());
        assertTrue(pr.paused(), "window full");

        assertTrue(pr.maybeUpdate(4));
        assertEquals(1, pr.inflightCount(), "the first two messages are acknowledged");
        assertFalse(pr.paused());
        assertTrue(pr.maybeUpdate(8));
        assertEquals(0, pr.inflightCount());
    }

    @Test
    @DisplayName("§5.3 pipelining: an APPEND without entries (commit, probe) takes no window slot and leaves next")
    void emptyAppendTakesNoSlot() {
        Progress pr = replicating(4, 4);
        pr.sentAppend(4, 0, 0, 4);

        assertEquals(0, pr.inflightCount());
        assertEquals(5, pr.next());
        assertEquals(4, pr.sentCommit());
    }

    // ---------------------------------------------------------------- heartbeat answers

    @Test
    @DisplayName("§5.3 a heartbeat answer frees one slot of a full window (its messages may be lost), and none of a window with room")
    void heartbeatAnswerFreesOneSlotOfAFullWindow() {
        Progress pr = replicating(1, 1);
        for (int i = 0; i < WINDOW; i++) pr.sentAppend(pr.next() - 1, 1, 0, 0);
        assertTrue(pr.paused());

        pr.heartbeatAnswered(1);
        assertEquals(WINDOW - 1, pr.inflightCount());
        assertFalse(pr.paused());

        pr.heartbeatAnswered(1);
        assertEquals(WINDOW - 1, pr.inflightCount(), "room left: nothing taken as lost");
        assertEquals(Progress.State.REPLICATE, pr.state());
    }

    @Test
    @DisplayName("§5.3 a heartbeat answer takes an unanswered probe as lost, so the next probe may go")
    void heartbeatAnswerUnpausesProbe() {
        Progress pr = probing(6);
        pr.sentAppend(5, 1, 0, 0);
        assertTrue(pr.paused());

        pr.heartbeatAnswered(5);
        assertFalse(pr.paused());
        assertEquals(6, pr.next());
    }

    @Test
    @DisplayName("§5.3 a follower that answers a heartbeat holding less than match lost acknowledged entries: match comes down, and the leader probes from there")
    void heartbeatAnswerBelowMatchLowersMatch() {
        Progress pr = replicating(9, 9);
        pr.sentAppend(9, 2, 0, 9);

        pr.heartbeatAnswered(4);
        assertEquals(4, pr.match());
        assertEquals(5, pr.next());
        assertEquals(Progress.State.PROBE, pr.state());
        assertEquals(0, pr.inflightCount());
        assertFalse(pr.paused());
    }

    @Test
    @DisplayName("§6.4 (thesis) a read round counts once, and only when later than any answered before")
    void readRoundAcknowledgedOnlyWhenLater() {
        Progress pr = probing(1);
        assertTrue(pr.maybeAckReadRound(3));
        assertFalse(pr.maybeAckReadRound(3), "a duplicate answer");
        assertFalse(pr.maybeAckReadRound(2), "a reordered answer");
        assertEquals(3, pr.ackedReadRound());
    }

    @Test
    @DisplayName("batching: a flush takes pending appends in hand; a probe request asks for an APPEND even without content")
    void sendPendingAndProbeRequest() {
        Progress pr = replicating(3, 3);
        pr.markSendPending();
        assertTrue(pr.sendPending());
        assertFalse(pr.probeWanted());
        pr.clearSendPending();
        assertFalse(pr.sendPending());

        pr.requestProbe();
        assertTrue(pr.sendPending());
        assertTrue(pr.probeWanted());
        pr.sentAppend(3, 0, 0, 3);
        assertFalse(pr.probeWanted(), "an APPEND went out");
    }

    // ---------------------------------------------------------------- invariants

    @Test
    @DisplayName("invariant: an acknowledgement whose next index overflows would break match < next: the transition throws")
    void overflowingAcknowledgementThrows() {
        Progress pr = replicating(3, 3);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pr.maybeUpdate(Long.MAX_VALUE));
        assertTrue(e.getMessage().contains("match is not below next"), e.getMessage());
        assertTrue(e.getMessage().contains("maybeUpdate"), "names the transition: " + e.getMessage());
    }

    @Test
    @DisplayName("invariant: sending to a paused follower, past the window, or not from next throws")
    void brokenSendsThrow() {
        Progress probing = probing(5);
        probing.sentAppend(4, 1, 0, 0);
        assertThrows(IllegalStateException.class, () -> probing.sentAppend(4, 1, 0, 0), "a second probe before the answer");

        Progress full = replicating(1, 1);
        for (int i = 0; i < WINDOW; i++) full.sentAppend(full.next() - 1, 1, 0, 0);
        assertThrows(IllegalStateException.class, () -> full.sentAppend(full.next() - 1, 1, 0, 0), "past the window");

        Progress gap = replicating(1, 1);
        assertThrows(IllegalStateException.class, () -> gap.sentAppend(5, 1, 0, 0), "entries not starting at next");
        assertThrows(IllegalStateException.class, () -> gap.sentAppend(0, 1, 0, 0), "entries resent before next");

        Progress commit = replicating(1, 1);
        commit.sentAppend(1, 0, 0, 5);
        assertThrows(IllegalStateException.class, () -> commit.sentAppend(1, 0, 0, 4), "a commit index going back");
    }

    @Test
    @DisplayName("invariant: the window holds messages in log order and frees only what it holds")
    void inflightsRefuseDisorder() {
        Inflights window = new Inflights(WINDOW, 0);
        window.add(5, 10);
        assertThrows(IllegalStateException.class, () -> window.add(5, 10));
        assertThrows(IllegalStateException.class, () -> window.add(4, 10));
        window.freeOldest();
        assertThrows(IllegalStateException.class, window::freeOldest);
        assertThrows(IllegalStateException.class, window::oldest);
    }

    @Test
    @DisplayName("the window is full once its bytes reach the bound, and one message over it is admitted (etcd's MaxInflightBytes)")
    void inflightBytesBoundTheWindow() {
        Inflights window = new Inflights(WINDOW, 100);
        window.add(1, 60);
        assertTrue(!window.full());
        window.add(2, 60); // admitted while below the bound: the bytes may pass it by one message at most
        assertTrue(window.full());
        assertEquals(120, window.bytesInFlight());
        window.freeUpTo(1);
        assertTrue(!window.full());
        assertEquals(60, window.bytesInFlight());
        window.reset();
        assertEquals(0, window.bytesInFlight());
    }

    @Test
    @DisplayName("invariant: whatever the follower answers, and in whatever order, no transition breaks an invariant")
    void anyAnswersKeepTheInvariants() {
        Random random = new Random(42);
        for (int run = 0; run < 200; run++) {
            long leaderLastIndex = 1 + random.nextInt(50);
            long commit = 0;
            Progress pr = new Progress(2, 1 + random.nextInt(WINDOW), random.nextBoolean() ? 0 : 1 + random.nextInt(1000));
            pr.reset(leaderLastIndex + 1);
            for (int step = 0; step < 200; step++) {
                switch (random.nextInt(6)) {
                    case 0 -> {
                        if (pr.paused()) break;
                        long prevIndex = pr.next() - 1;
                        int entries = (int) Math.min(random.nextInt(4), Math.max(0, leaderLastIndex - prevIndex));
                        commit = Math.min(leaderLastIndex, commit + random.nextInt(2));
                        pr.sentAppend(prevIndex, entries, entries * (1 + random.nextInt(200)), commit);
                    }
                    // Acknowledgements within the leader's log (the core drops others); any rejection or heartbeat answer.
                    case 1 -> {
                        if (pr.maybeUpdate(random.nextLong(leaderLastIndex + 1)) && pr.state() == Progress.State.PROBE) {
                            pr.becomeReplicate();
                        }
                    }
                    case 2 -> pr.maybeDecrTo(random.nextLong(leaderLastIndex + 2), random.nextLong(-2, leaderLastIndex + 3));
                    case 3 -> pr.heartbeatAnswered(random.nextLong(leaderLastIndex + 1));
                    case 4 -> pr.becomeProbe();
                    default -> leaderLastIndex += random.nextInt(3); // proposals
                }
                assertTrue(pr.match() < pr.next(), pr.toString());
                assertTrue(pr.inflightCount() == 0 || pr.state() == Progress.State.REPLICATE, pr.toString());
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    // ---------------------------------------------------------------- snapshots (§7)

    @Test
    @DisplayName("§7 while a snapshot is on its way nothing else is sent, and rejections of older appends are stale")
    void snapshotPausesTheFollower() {
        Progress pr = replicating(3, 5);
        pr.becomeSnapshot(20);

        assertEquals(Progress.State.SNAPSHOT, pr.state());
        assertEquals(20, pr.pendingSnapshot());
        assertTrue(pr.paused());
        assertEquals(0, pr.inflightCount(), "the window is emptied: the snapshot replaces what was in flight");
        assertFalse(pr.maybeDecrTo(5, 4), "a rejection can only be of an append sent before the snapshot");
        assertEquals(Progress.State.SNAPSHOT, pr.state());
        assertThrows(IllegalStateException.class, () -> pr.becomeSnapshot(2), "a snapshot at or below match is a leader bug");
    }

    @Test
    @DisplayName("§7 the follower acknowledging the snapshot's index ends the transfer: the leader probes from after it")
    void acknowledgementOfTheSnapshotEndsIt() {
        Progress pr = replicating(3, 3);
        pr.becomeSnapshot(20);
        assertTrue(pr.maybeUpdate(10), "an older acknowledgement raises match");
        assertEquals(Progress.State.SNAPSHOT, pr.state(), "but the snapshot is still on its way");

        assertTrue(pr.maybeUpdate(20));
        assertEquals(Progress.State.PROBE, pr.state());
        assertEquals(21, pr.next());
        assertFalse(pr.paused());
    }

    @Test
    @DisplayName("§7 a reported transfer, delivered or failed, leads to a probe only after the next heartbeat answer")
    void reportWaitsForHeartbeat() {
        Progress failed = replicating(3, 3);
        failed.becomeSnapshot(20);
        failed.snapshotReported(false);
        assertEquals(Progress.State.PROBE, failed.state());
        assertEquals(4, failed.next(), "a failed transfer probes from match again");
        assertTrue(failed.paused(), "until a heartbeat answer shows the follower alive");
        failed.heartbeatAnswered(3);
        assertFalse(failed.paused());

    }

    @Test
    @DisplayName("§7 a delivered snapshot is waited for while the follower installs it, then sent again if never installed")
    void deliveredSnapshotWaitsForInstall() {
        Progress pr = new Progress(2, WINDOW, 0, 3);
        pr.reset(4);
        pr.maybeUpdate(3);
        pr.becomeReplicate();
        pr.becomeSnapshot(20);
        pr.snapshotReported(true);
        pr.heartbeatAnswered(3);
        pr.heartbeatAnswered(3);
        assertEquals(Progress.State.SNAPSHOT, pr.state(), "the follower is still checking a big snapshot: nothing is sent meanwhile");
        assertTrue(pr.paused());
        pr.heartbeatAnswered(3);
        assertEquals(Progress.State.PROBE, pr.state(), "three answers without it installed: probe, and send again if needed");
        assertFalse(pr.paused());

        Progress installed = replicating(3, 3);
        installed.becomeSnapshot(20);
        installed.snapshotReported(true);
        assertTrue(installed.maybeUpdate(20), "the follower's acknowledgement of the snapshot");
        assertEquals(Progress.State.PROBE, installed.state());
        assertEquals(21, installed.next());
    }

    @Test
    @DisplayName("§7 a heartbeat answer ends a transfer only when the follower holds the snapshot's index")
    void heartbeatDuringSnapshot() {
        Progress pr = replicating(3, 3);
        pr.becomeSnapshot(20);
        pr.heartbeatAnswered(3);
        assertEquals(Progress.State.SNAPSHOT, pr.state(), "still receiving");
        pr.heartbeatAnswered(20);
        assertEquals(Progress.State.PROBE, pr.state());
        assertEquals(21, pr.next(), "a probe from after the snapshot: a rejection walks back if the logs disagree");
    }

    private static Progress probing(long next) {
        Progress pr = new Progress(2, WINDOW, 0);
        pr.reset(next);
        return pr;
    }

    /** A follower known to match up to {@code match}, replicating from {@code next - 1} sent (next = sent + 1). */
    private static Progress replicating(long match, long sent) {
        Progress pr = new Progress(2, WINDOW, 0);
        pr.reset(match + 1);
        pr.maybeUpdate(match);
        pr.becomeReplicate();
        if (sent > match) pr.sentAppend(match, (int) (sent - match), 0, 0);
        return pr;
    }
}
