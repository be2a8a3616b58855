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
                D.txnOpsMax(), D.autoCompactionRetentionRevisions(), D.autoCompactionRetentionMs(), D.autoCompactionIntervalMs(), D.snapshotEntries(),
                D.snapshotCatchUpEntries(), D.snapshotBytesMax(), D.snapshotLogPercentMin(), D.peerSilenceTicks(), D.leasesMax(), D.keysPerLeaseMax(), D.leaseReads(), D.leaseReadClockDriftPercent(), D.tls(), D.metricsPort());
    }

    private static NodeOptions withPeerSilence(int heartbeatTicks, int peerSilenceTicks) {
        return new NodeOptions(D.tickMs(), D.electionTicks(), heartbeatTicks, D.frameBytesMax(), D.keyBytesMax(), D.valueBytesMax(),
                D.connectionsMax(), D.outboundBytesPerConnectionMax(), D.requestTimeoutMs(), D.pendingRequestsMax(), D.walSegmentBytesMax(),
                D.clientOutboundBytesMax(), D.txnOpsMax(), D.autoCompactionRetentionRevisions(), D.autoCompactionRetentionMs(), D.autoCompactionIntervalMs(), D.snapshotEntries(),
                D.snapshotCatchUpEntries(), D.snapshotBytesMax(), D.snapshotLogPercentMin(), peerSilenceTicks, D.leasesMax(), D.keysPerLeaseMax(), D.leaseReads(), D.leaseReadClockDriftPercent(), D.tls(), D.metricsPort());
    }

    private static NodeOptions withLeases(long tickMs, int electionTicks, long clientOutboundBytesMax, int leasesMax, int keysPerLeaseMax) {
        return new NodeOptions(tickMs, electionTicks, D.heartbeatTicks(), D.frameBytesMax(), D.keyBytesMax(), D.valueBytesMax(),
                D.connectionsMax(), D.outboundBytesPerConnectionMax(), D.requestTimeoutMs(), D.pendingRequestsMax(), D.walSegmentBytesMax(),
                clientOutboundBytesMax, D.txnOpsMax(), D.autoCompactionRetentionRevisions(), D.autoCompactionRetentionMs(), Math.max(tickMs, D.autoCompactionIntervalMs()),
                D.snapshotEntries(), D.snapshotCatchUpEntries(), D.snapshotBytesMax(), D.snapshotLogPercentMin(), Math.min(D.peerSilenceTicks(), electionTicks),
                leasesMax, keysPerLeaseMax, D.leaseReads(), D.leaseReadClockDriftPercent(), D.tls(), D.metricsPort());
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
        assertEquals(1000, D.peerSilenceMs(), "the election timeout");
        assertEquals(250, D.peerConnectTimeoutMs());
        assertEquals(100, D.peerRedialMsMax());
        assertTrue(refusal(withPeerSilence(2, 5), 2).contains("peerSilenceTicks (5) must be at least three heartbeats (3 x heartbeatTicks = 6)"));
        assertTrue(refusal(withPeerSilence(1, 11), 2).contains("peerSilenceTicks (11) must not exceed electionTicks (10)"));
    }

    @Test
    void theLeaseLimitsAreCheckedAndEveryLeaseFitsOneLeasesAnswer() {
        assertEquals(100_000, D.leasesMax());
        assertEquals(10_000, D.keysPerLeaseMax());
        assertTrue(refusal(withLeases(100, 10, D.clientOutboundBytesMax(), 0, 1), 2).contains("leasesMax (0) must be at least 1"));
        assertTrue(refusal(withLeases(100, 10, D.clientOutboundBytesMax(), 1, 0), 2).contains("keysPerLeaseMax (0) must be at least 1"));
        // 8 bytes a lease: 4 MiB of client queue lists 524,283 of them with the frame and header around.
        assertDoesNotThrow(() -> withLeases(100, 10, D.clientOutboundBytesMax(), 524_283, 1).validate(2));
        String m = refusal(withLeases(100, 10, D.clientOutboundBytesMax(), 524_284, 1), 2);
        assertTrue(m.contains("leasesMax (524284) must fit a LEASES answer listing every lease (4194309 bytes)"), m);
        // Not set, the default is lowered to what small frames list, so a node with small frames starts as before leases.
        assertEquals(100_000, NodeOptions.leasesMaxFitting(100_000, D.frameBytesMax(), D.clientOutboundBytesMax()));
        assertEquals(8_187, NodeOptions.leasesMaxFitting(100_000, 65_536, D.clientOutboundBytesMax()));
        assertEquals(524_283, NodeOptions.leasesMaxFitting(Integer.MAX_VALUE, D.frameBytesMax(), D.clientOutboundBytesMax()));
    }

    @Test
    void theMinimumLeaseTtlIsOneAndAHalfElectionTimeoutsInWholeSeconds() {
        assertEquals(1000, D.electionTimeoutMs());
        assertEquals(2, D.leaseTtlSecondsMin(), "etcd's: 1.5 s rounded up");
        assertEquals(1, withLeases(10, 10, D.clientOutboundBytesMax(), 1, 1).leaseTtlSecondsMin(), "never below 1 s");
        assertEquals(5, withLeases(100, 30, D.clientOutboundBytesMax(), 1, 1).leaseTtlSecondsMin());
    }
}
