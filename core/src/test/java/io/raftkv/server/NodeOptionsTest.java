package io.raftkv.server;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Limits that relate are derived from each other, and options that contradict each other are refused at start. */
class NodeOptionsTest {

    private static final NodeOptions D = NodeOptions.defaults();

    private static NodeOptions with(int frameBytesMax, int valueBytesMax, int connectionsMax, long clientOutboundBytesMax, long outboundBytesPerConnectionMax) {
        return new NodeOptions(D.tickMs(), D.electionTicks(), D.heartbeatTicks(), frameBytesMax, D.keyBytesMax(), valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, D.requestTimeoutMs(), D.pendingRequestsMax(), D.walSegmentBytesMax(), clientOutboundBytesMax,
                D.txnOpsMax(), D.autoCompactionRetentionRevisions(), D.autoCompactionIntervalMs(), D.snapshotEntries(),
                D.snapshotCatchUpEntries(), D.snapshotBytesMax(), D.snapshotLogPercentMin(), D.peerSilenceTicks());
    }

    private static NodeOptions withPeerSilence(int heartbeatTicks, int peerSilenceTicks) {
        return new NodeOptions(D.tickMs(), D.electionTicks(), heartbeatTicks, D.frameBytesMax(), D.keyBytesMax(), D.valueBytesMax(),
                D.connectionsMax(), D.outboundBytesPerConnectionMax(), D.requestTimeoutMs(), D.pendingRequestsMax(), D.walSegmentBytesMax(),
                D.clientOutboundBytesMax(), D.txnOpsMax(), D.autoCompactionRetentionRevisions(), D.autoCompactionIntervalMs(), D.snapshotEntries(),
                D.snapshotCatchUpEntries(), D.snapshotBytesMax(), D.snapshotLogPercentMin(), peerSilenceTicks);
    }

    private static String refusal(NodeOptions o, int peers) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> o.validate(peers));
        assertTrue(e.getMessage().startsWith("node options contradict each other: "), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void theDefaultsHold() {
        assertDoesNotThrow(() -> D.validate(2));
        assertDoesNotThrow(() -> D.validate(4));
    }

    @Test
    void theTimerBudgetCountsEveryLimitThatCreatesTimers() {
        assertEquals(D.pendingRequestsMax() + D.connectionsMax() + 4 + NodeOptions.FIXED_TIMERS, D.timersMax(4));
    }

    @Test
    void aFrameTooSmallForTheLargestPutIsRefused() {
        String m = refusal(with(65_536, D.valueBytesMax(), D.connectionsMax(), D.clientOutboundBytesMax(), D.outboundBytesPerConnectionMax()), 2);
        assertTrue(m.contains("frameBytesMax (65536) must hold the largest PUT"), m);
    }

    @Test
    void aClientQueueTooSmallForTheLargestAnswerIsRefused() {
        String m = refusal(with(D.frameBytesMax(), D.valueBytesMax(), D.connectionsMax(), 1 << 20, D.outboundBytesPerConnectionMax()), 2);
        assertTrue(m.contains("clientOutboundBytesMax (1048576) must hold the largest answer"), m);
        assertTrue(D.resultBytesMax() < D.frameBytesMax(), "an answer of resultBytesMax key-value bytes fits a frame with its headers");
    }

    @Test
    void aPeerQueueTooSmallForTwoAppendsIsRefused() {
        String m = refusal(with(D.frameBytesMax(), D.valueBytesMax(), D.connectionsMax(), D.clientOutboundBytesMax(), 2 << 20), 2);
        assertTrue(m.contains("outboundBytesPerConnectionMax (2097152) must hold two of the largest frames"), m);
    }

    @Test
    void tooFewConnectionsForThePeersIsRefused() {
        String m = refusal(with(D.frameBytesMax(), D.valueBytesMax(), 8, D.clientOutboundBytesMax(), D.outboundBytesPerConnectionMax()), 4);
        assertTrue(m.contains("connectionsMax (8) must leave room for the links to and from 4 peers"), m);
    }

    @Test
    void theRaftWindowFitsHalfThePeerQueue() {
        // 64 APPENDs in flight, but never more entry bytes than half the peer link's queue (plus one message, which
        // the other half holds): catching up on large entries cannot overflow the queue.
        assertEquals(64, D.raftInflightMessagesMax());
        assertEquals(D.outboundBytesPerConnectionMax() / 2, D.raftInflightBytesMax());
        assertTrue(D.raftInflightBytesMax() + D.frameBytesMax() + 4 <= D.outboundBytesPerConnectionMax());
        assertEquals(512 << 10, D.raftBytesPerMessageMax());
    }

    @Test
    void aTransactionMayFillAWholeAppend() {
        // A compare-and-swap of the largest value carries it twice: the limit is what one APPEND frame carries.
        assertTrue(D.commandBytesMax() >= 2L * D.valueBytesMax() + 2L * D.keyBytesMax() + 64);
        assertTrue(D.commandBytesMax() < D.frameBytesMax());
    }

    @Test
    void thePeerSilenceBoundSitsBetweenThreeHeartbeatsAndTheElectionTimeout() {
        assertEquals(500, D.peerSilenceMs());
        assertTrue(refusal(withPeerSilence(2, 5), 2).contains("peerSilenceTicks (5) must be at least three heartbeats (3 x heartbeatTicks = 6)"));
        assertTrue(refusal(withPeerSilence(1, 11), 2).contains("peerSilenceTicks (11) must not exceed electionTicks (10)"));
    }
}
