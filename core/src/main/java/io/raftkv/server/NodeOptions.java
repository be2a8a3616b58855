package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.Leases;
import io.raftkv.net.PeerCodec;
import io.raftkv.net.TimerWheel;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.Frames;
import io.raftkv.raft.Entry;
import io.raftkv.wal.WalOptions;

/**
 * The knobs of one node, with units last. Defaults follow etcd where it has an equivalent (100 ms
 * heartbeat, 1 s election timeout, 1.5 MiB request limit becomes 4 MiB frames here).
 * {@code outboundBytesPerConnectionMax} bounds what is queued on a link this node dials to a peer;
 * {@code clientOutboundBytesMax} what is queued for a connection it accepted (a client, or a peer's inbound
 * link): smaller, since any client may stop reading, and every connection may hold that much.
 * {@code txnOpsMax}: compares and operations in one transaction (etcd's --max-txn-ops, 128).
 * {@code autoCompactionRetentionRevisions}: the leader compacts the history to this many revisions behind the
 * current one, checking every {@code autoCompactionIntervalMs} (0 turns it off; see docs/architecture.md);
 * {@code autoCompactionRetentionMs}: and to the revision that was current this long ago (etcd's periodic mode; 0, the
 * default, off). With both, history goes once either rule lets it go.
 * {@code snapshotEntries}: entries applied since the last snapshot that make the node take the next one (etcd's
 * --snapshot-count; 10,000 as etcd 3.6); {@code snapshotCatchUpEntries}: entries kept in memory before the snapshot,
 * so that a follower a little behind catches up from the log, not with a whole snapshot (etcd's 5,000);
 * {@code snapshotBytesMax}: the largest snapshot this node accepts from a leader; {@code snapshotLogPercentMin}: the log
 * since the last snapshot must also reach this percentage of the store's live bytes, so that a large store is not
 * copied every {@code snapshotEntries} (docs/snapshots.md).
 * {@code peerSilenceTicks}: a peer link that hears nothing for this long (links ping every heartbeat) is closed and
 * dialled again: at least three heartbeats, so that one late answer is not a cut, and at most the election timeout (the
 * default), by when Raft gives up on the peer anyway; a loop turn stalled by a slow disk must not cut links. Dials are
 * given up after {@link #peerConnectTimeoutMs()} and repeated every heartbeat, so a node cut off for long is back soon
 * after the heal (docs/architecture.md, "Peer links notice a silent peer").
 * {@code leasesMax}: leases the cluster may hold, a grant past it refused (the LEASES answer listing them all must fit a
 * frame and a client's queue); {@code keysPerLeaseMax}: keys one lease may hold, a put past it refused (docs/architecture.md,
 * "Leases").
 * {@code leaseReads}: a leader serves linearizable reads from its read lease, without a heartbeat round each (thesis
 * §6.4.1); off by default, as etcd, since it trusts the clocks: {@code leaseReadClockDriftPercent} is how much slower, in
 * percent of the election timeout, a member's clock may run than another's (docs/architecture.md, "Lease reads"). Set
 * both alike on every node.
 * {@code tls}: TLS on client and peer links, off by default ({@link TlsOptions}, docs/security.md).
 * {@code metricsPort}: the HTTP port of the node's metrics and health ({@code /metrics}, {@code /health}, {@code /readyz},
 * {@code /livez}; docs/metrics.md), on the node's own host; 0, the default, serves none.
 */
public record NodeOptions(long tickMs, int electionTicks, int heartbeatTicks, int frameBytesMax, int keyBytesMax,
                          int valueBytesMax, int connectionsMax, long outboundBytesPerConnectionMax, long requestTimeoutMs,
                          int pendingRequestsMax, long walSegmentBytesMax, long clientOutboundBytesMax, int txnOpsMax,
                          long autoCompactionRetentionRevisions, long autoCompactionRetentionMs, long autoCompactionIntervalMs, long snapshotEntries,
                          long snapshotCatchUpEntries, long snapshotBytesMax, int snapshotLogPercentMin, int peerSilenceTicks,
                          int leasesMax, int keysPerLeaseMax, boolean leaseReads, int leaseReadClockDriftPercent, TlsOptions tls,
                          int metricsPort) {

    public static final long CLIENT_OUTBOUND_BYTES_MAX_DEFAULT = 4L << 20;

    public static NodeOptions defaults() {
        return new NodeOptions(100, 10, 1, 4 << 20, 4096, 1 << 20, 1024, 64L << 20, 5_000, 100_000, 64L << 20,
                CLIENT_OUTBOUND_BYTES_MAX_DEFAULT, 128, 10_000, 0, 1_000, 10_000, 5_000, 64L << 30, 50, 10, 100_000, 10_000, false, 10, TlsOptions.OFF, 0);
    }

    /** The election timeout in milliseconds: what a new leader adds to every lease (docs/architecture.md, "Leases"). */
    public long electionTimeoutMs() {
        return electionTicks * tickMs;
    }

    /**
     * The shortest lease TTL, in whole seconds: 1.5 election timeouts rounded up (etcd's minTTL), so that a lease
     * outlives a leader change; a grant of less is raised to it. 2 s with the defaults.
     */
    public long leaseTtlSecondsMin() {
        return Math.max(1, (3 * electionTimeoutMs() / 2 + 999) / 1000);
    }

    /** Snapshot chunks: big enough that a transfer costs few loop turns, well inside a frame and the link's queue. */
    int snapshotChunkBytesMax() {
        return (int) Math.min(1 << 20, Math.min(frameBytesMax - PeerCodec.SNAPSHOT_CHUNK_OVERHEAD_BYTES, outboundBytesPerConnectionMax / 4));
    }

    /** Timers the loop keeps besides those the limits count: the Raft tick, the start-up barrier, auto compaction. */
    public static final int FIXED_TIMERS = 3;
    /** Raft's pipelining window per follower when the peer link's queue allows it. */
    static final int RAFT_INFLIGHT_MESSAGES_DEFAULT = 64;
    /** What a WAL record adds to an entry's data. */
    private static final int WAL_RECORD_SLACK_BYTES = 1024;

    /**
     * Every timer the node can hold: one per pending request (its deadline), one per accepted connection that
     * has not said HELLO yet, one per peer link waiting to redial, and the fixed ones. The wheel is sized to
     * this, so it can never be full when a limit below it still admits the newcomer.
     */
    public int timersMax(int peers) {
        return pendingRequestsMax + connectionsMax + peers + FIXED_TIMERS;
    }

    /**
     * Key-value bytes one answer may carry: the answer must fit a frame and an accepted connection's queue, less what
     * frames, headers and a transaction's per-operation results add around the key-values.
     */
    long resultBytesMax() {
        return Math.min(frameBytesMax, clientOutboundBytesMax) - (256 + 16L * txnOpsMax);
    }

    /**
     * The largest command a request may become in the log: what one APPEND frame can carry as its only entry
     * (the core sends an entry alone when it is over the message budget). A transaction may use all of it: a
     * compare-and-swap of the largest value carries that value twice.
     */
    long commandBytesMax() {
        return (long) frameBytesMax + Frames.LENGTH_BYTES - PeerCodec.RAFT_FRAME_OVERHEAD_BYTES - PeerCodec.ENTRY_OVERHEAD_BYTES;
    }

    /** The largest PUT command, which the frame must hold in an APPEND. */
    long putCommandBytesMax() {
        return KvCommand.PUT_OVERHEAD_BYTES + (long) keyBytesMax + valueBytesMax;
    }

    /** The byte budget of one APPEND: half a frame, and a 1/128 of the link's queue, so that many batches fit in the window. */
    long raftBytesPerMessageMax() {
        return Math.max(1, Math.min(frameBytesMax / 2, outboundBytesPerConnectionMax / (2L * RAFT_INFLIGHT_MESSAGES_DEFAULT)));
    }

    /** APPENDs in flight per follower (Raft's pipelining window, in messages). */
    int raftInflightMessagesMax() {
        return RAFT_INFLIGHT_MESSAGES_DEFAULT;
    }

    /**
     * Entry bytes in flight per follower: half the peer link's outbound queue. The window admits a message while
     * below it, so what is queued stays under half the queue plus one largest frame, which the other half holds:
     * catching up a follower on large entries never overflows the queue (which would cut the link over and over).
     */
    long raftInflightBytesMax() {
        return outboundBytesPerConnectionMax / 2;
    }

    /** Watches one node serves, and one connection opens, at most; progress notifications, when asked, this often. */
    public static final int WATCHES_MAX = 100_000;
    public static final int WATCHES_PER_CONNECTION_MAX = 10_000;
    public static final long WATCH_PROGRESS_INTERVAL_MS = 10_000;
    /** Keys the history reads that catch watches up may visit per tick (or per drained connection): a few ms of a turn. */
    static final long WATCH_CATCH_UP_KEYS_MAX = 100_000;

    /**
     * A watch stops sending while its connection holds a quarter of its queue: with the largest single event (a key and
     * value, and its previous ones) on top, the queue never overflows (checked in {@link #validate}).
     */
    Watches.Limits watchLimits() {
        long backlog = clientOutboundBytesMax / 4;
        return new Watches.Limits(WATCHES_MAX, WATCHES_PER_CONNECTION_MAX, backlog, Math.min(1 << 20, backlog), WATCH_CATCH_UP_KEYS_MAX,
                WATCH_PROGRESS_INTERVAL_MS);
    }

    /** The largest WATCH_EVENTS frame with one event: a key and value of the largest sizes, with its previous ones. */
    long watchEventFrameBytesMax() {
        return 2L * (keyBytesMax + valueBytesMax) + 256;
    }

    long peerSilenceMs() {
        return peerSilenceTicks * tickMs;
    }

    /** Two and a half heartbeats (250 ms by default), and at most half the silence bound: a SYN that went nowhere is sent again. */
    long peerConnectTimeoutMs() {
        return Math.max(1, Math.min(peerSilenceMs() / 2, heartbeatTicks * tickMs * 5 / 2));
    }

    /** The longest wait between two dials of a peer that is unreachable: one heartbeat. */
    long peerRedialMsMax() {
        return heartbeatTicks * tickMs;
    }

    WalOptions walOptions() {
        return new WalOptions(walSegmentBytesMax, frameBytesMax + WAL_RECORD_SLACK_BYTES);
    }

    /**
     * Checks each limit and how the limits relate; throws {@link IllegalArgumentException} with one line that
     * names the options that contradict each other. {@code peers}: the other members of the cluster.
     */
    public void validate(int peers) {
        require(tickMs >= 1, "tickMs (" + tickMs + ") must be at least 1");
        require(heartbeatTicks >= 1, "heartbeatTicks (" + heartbeatTicks + ") must be at least 1");
        require(electionTicks > heartbeatTicks, "electionTicks (" + electionTicks + ") must be greater than heartbeatTicks (" + heartbeatTicks + ")");
        require(keyBytesMax >= 1, "keyBytesMax (" + keyBytesMax + ") must be at least 1");
        require(valueBytesMax >= 0, "valueBytesMax (" + valueBytesMax + ") must not be negative");
        require(requestTimeoutMs >= 1, "requestTimeoutMs (" + requestTimeoutMs + ") must be at least 1");
        require(pendingRequestsMax >= 1, "pendingRequestsMax (" + pendingRequestsMax + ") must be at least 1");
        require(txnOpsMax >= 1, "txnOpsMax (" + txnOpsMax + ") must be at least 1");
        require(autoCompactionRetentionRevisions >= 0, "autoCompactionRetentionRevisions (" + autoCompactionRetentionRevisions + ") must not be negative (0: off)");
        require(autoCompactionRetentionMs >= 0, "autoCompactionRetentionMs (" + autoCompactionRetentionMs + ") must not be negative (0: off)");
        require(autoCompactionIntervalMs >= tickMs, "autoCompactionIntervalMs (" + autoCompactionIntervalMs + ") must be at least tickMs (" + tickMs + ")");
        // frameBytesMax counts what follows a frame's length field; the overheads below count the field too.
        long frameBytesWithLength = (long) frameBytesMax + Frames.LENGTH_BYTES;
        long putBytes = ClientCodec.PUT_FRAME_OVERHEAD_BYTES + (long) keyBytesMax + valueBytesMax;
        require(putBytes <= frameBytesWithLength, "frameBytesMax (" + frameBytesMax + ") must hold the largest PUT: keyBytesMax ("
                + keyBytesMax + ") + valueBytesMax (" + valueBytesMax + ") + " + ClientCodec.PUT_FRAME_OVERHEAD_BYTES + " bytes of frame");
        require(putCommandBytesMax() <= commandBytesMax(), "frameBytesMax (" + frameBytesMax + ") must hold an APPEND of the largest PUT ("
                + putCommandBytesMax() + " bytes of command with keyBytesMax " + keyBytesMax + " and valueBytesMax " + valueBytesMax + ")");
        require(resultBytesMax() >= 64L + keyBytesMax + valueBytesMax, "frameBytesMax (" + frameBytesMax + ") and clientOutboundBytesMax ("
                + clientOutboundBytesMax + ") must hold the largest answer: one key-value of keyBytesMax (" + keyBytesMax + ") + valueBytesMax ("
                + valueBytesMax + ") with " + (256 + 16L * txnOpsMax + 64) + " bytes of frame, header and per-operation results");
        require(clientOutboundBytesMax / 4 + watchEventFrameBytesMax() <= clientOutboundBytesMax, "clientOutboundBytesMax (" + clientOutboundBytesMax
                + ") must hold a quarter of itself (a watch's backlog) and one watch event of keyBytesMax (" + keyBytesMax + ") + valueBytesMax ("
                + valueBytesMax + ") with its previous key-value (" + watchEventFrameBytesMax() + " bytes)");
        require(outboundBytesPerConnectionMax >= 2 * frameBytesWithLength, "outboundBytesPerConnectionMax (" + outboundBytesPerConnectionMax
                + ") must hold two of the largest frames (2 x " + frameBytesWithLength + " bytes): half for Raft's window, half for one more message");
        require(connectionsMax >= 2L * peers + 1, "connectionsMax (" + connectionsMax + ") must leave room for the links to and from "
                + peers + " peers and one client (" + (2 * peers + 1) + ")");
        require((long) pendingRequestsMax + connectionsMax + peers + FIXED_TIMERS <= TimerWheel.TIMERS_MAX_LIMIT, "pendingRequestsMax ("
                + pendingRequestsMax + ") + connectionsMax (" + connectionsMax + ") must stay below the timer wheel's " + TimerWheel.TIMERS_MAX_LIMIT + " timers");
        require(snapshotEntries >= 1, "snapshotEntries (" + snapshotEntries + ") must be at least 1");
        require(snapshotCatchUpEntries >= 0, "snapshotCatchUpEntries (" + snapshotCatchUpEntries + ") must not be negative");
        require(snapshotBytesMax >= 1 << 20, "snapshotBytesMax (" + snapshotBytesMax + ") must be at least 1 MiB");
        require(peerSilenceTicks >= 3L * heartbeatTicks, "peerSilenceTicks (" + peerSilenceTicks + ") must be at least three heartbeats (3 x heartbeatTicks = "
                + 3L * heartbeatTicks + ")");
        require(leaseReadClockDriftPercent >= 0 && leaseReadClockDriftPercent <= 50, "leaseReadClockDriftPercent (" + leaseReadClockDriftPercent
                + ") must be from 0 to 50");
        require(!leaseReads || electionTimeoutMs() - tickMs - electionTimeoutMs() * leaseReadClockDriftPercent / 100 > 0,
                "leaseReads leaves no lease: electionTicks (" + electionTicks + ") less a tick and leaseReadClockDriftPercent (" + leaseReadClockDriftPercent + "%)");
        require(peerSilenceTicks <= electionTicks, "peerSilenceTicks (" + peerSilenceTicks + ") must not exceed electionTicks (" + electionTicks + ")");
        require(metricsPort >= 0 && metricsPort <= 65_535, "metricsPort (" + metricsPort + ") must be a TCP port, or 0 for none");
        require(snapshotLogPercentMin >= 0, "snapshotLogPercentMin (" + snapshotLogPercentMin + ") must not be negative");
        require(leasesMax >= 1, "leasesMax (" + leasesMax + ") must be at least 1");
        require(keysPerLeaseMax >= 1, "keysPerLeaseMax (" + keysPerLeaseMax + ") must be at least 1");
        long leasesFrameBytes = ClientCodec.leasesFrameBytes(leasesMax);
        require(leasesFrameBytes <= frameBytesWithLength && leasesFrameBytes <= clientOutboundBytesMax, "leasesMax (" + leasesMax
                + ") must fit a LEASES answer listing every lease (" + leasesFrameBytes + " bytes) in frameBytesMax (" + frameBytesMax
                + ") and clientOutboundBytesMax (" + clientOutboundBytesMax + ")");
        require(leaseTtlSecondsMin() <= Leases.TTL_SECONDS_MAX, "electionTicks (" + electionTicks + ") x tickMs (" + tickMs
                + ") makes a minimum lease TTL over the maximum of " + Leases.TTL_SECONDS_MAX + " s");
        tls.validate();
        try {
            walOptions();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("walSegmentBytesMax (" + walSegmentBytesMax + ") and frameBytesMax (" + frameBytesMax + "): " + e.getMessage());
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException("node options contradict each other: " + message);
    }

    /** The same options with another tick (in-process test clusters run faster ticks). */
    public NodeOptions withTickMs(long ms) {
        return new NodeOptions(ms, electionTicks, heartbeatTicks, frameBytesMax, keyBytesMax, valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, requestTimeoutMs, pendingRequestsMax, walSegmentBytesMax, clientOutboundBytesMax, txnOpsMax,
                autoCompactionRetentionRevisions, autoCompactionRetentionMs, autoCompactionIntervalMs, snapshotEntries, snapshotCatchUpEntries, snapshotBytesMax, snapshotLogPercentMin,
                peerSilenceTicks, leasesMax, keysPerLeaseMax, leaseReads, leaseReadClockDriftPercent, tls, metricsPort);
    }

    /** The same options with other snapshot thresholds (tests that want snapshots often). */
    public NodeOptions withSnapshotEntries(long entries, long catchUpEntries) {
        return new NodeOptions(tickMs, electionTicks, heartbeatTicks, frameBytesMax, keyBytesMax, valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, requestTimeoutMs, pendingRequestsMax, walSegmentBytesMax, clientOutboundBytesMax, txnOpsMax,
                autoCompactionRetentionRevisions, autoCompactionRetentionMs, autoCompactionIntervalMs, entries, catchUpEntries, snapshotBytesMax, snapshotLogPercentMin,
                peerSilenceTicks, leasesMax, keysPerLeaseMax, leaseReads, leaseReadClockDriftPercent, tls, metricsPort);
    }

    /** The same options with other TLS settings. */
    public NodeOptions withTls(TlsOptions tls) {
        return new NodeOptions(tickMs, electionTicks, heartbeatTicks, frameBytesMax, keyBytesMax, valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, requestTimeoutMs, pendingRequestsMax, walSegmentBytesMax, clientOutboundBytesMax, txnOpsMax,
                autoCompactionRetentionRevisions, autoCompactionRetentionMs, autoCompactionIntervalMs, snapshotEntries, snapshotCatchUpEntries, snapshotBytesMax, snapshotLogPercentMin,
                peerSilenceTicks, leasesMax, keysPerLeaseMax, leaseReads, leaseReadClockDriftPercent, tls, metricsPort);
    }

    /** The same options with another metrics port (0: none). */
    public NodeOptions withMetricsPort(int port) {
        return new NodeOptions(tickMs, electionTicks, heartbeatTicks, frameBytesMax, keyBytesMax, valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, requestTimeoutMs, pendingRequestsMax, walSegmentBytesMax, clientOutboundBytesMax, txnOpsMax,
                autoCompactionRetentionRevisions, autoCompactionRetentionMs, autoCompactionIntervalMs, snapshotEntries, snapshotCatchUpEntries, snapshotBytesMax, snapshotLogPercentMin,
                peerSilenceTicks, leasesMax, keysPerLeaseMax, leaseReads, leaseReadClockDriftPercent, tls, port);
    }

    /**
     * The most leases whose LEASES answer fits a frame of {@code frameBytesMax} and a client queue of
     * {@code clientOutboundBytesMax}, at most {@code leasesMax}: the default when leasesMax is not set, so that a node with
     * small frames starts without being told a lease limit too.
     */
    static int leasesMaxFitting(int leasesMax, int frameBytesMax, long clientOutboundBytesMax) {
        long bytes = Math.min((long) frameBytesMax + Frames.LENGTH_BYTES, clientOutboundBytesMax) - ClientCodec.leasesFrameBytes(0);
        return (int) Math.max(1, Math.min(leasesMax, bytes / 8));
    }

    /**
     * Reads overrides from system properties {@code raftkv.<name>}, e.g. -Draftkv.tickMs=50; a value that does not parse is
     * an {@link IllegalArgumentException} naming it (NodeOptionsReader, which also reads an options file).
     */
    public static NodeOptions fromSystemProperties() {
        return NodeOptionsReader.read(new java.util.Properties(), null, System.getProperties()).options();
    }
}
