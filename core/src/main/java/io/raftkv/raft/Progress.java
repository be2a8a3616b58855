package io.raftkv.raft;

/**
 * The leader's view of one follower (etcd's tracker.Progress). In PROBE the leader sends one APPEND at a
 * time and waits for the answer, walking {@code next} back to where the logs agree; in REPLICATE it sends
 * optimistically, up to a bounded window of messages in flight; in SNAPSHOT the follower needs entries the
 * leader compacted away, a snapshot is on its way, and nothing else is sent until it is reported.
 *
 * <p>Progress owns its transitions, as in etcd's tracker/progress.go: the core calls them and only reads
 * the state. After every transition these invariants are checked, and a violation throws
 * IllegalStateException:
 * <ul>
 *   <li>{@code 0 <= match < next}: match is the highest index known to be in the follower's log as in ours,
 *       next the first index not yet sent (REPLICATE) or to probe with (PROBE);</li>
 *   <li>in PROBE no message is in flight (the one outstanding probe is {@code probeSent});</li>
 *   <li>in REPLICATE no probe is outstanding, and the messages in flight (at most the window's capacity,
 *       which {@link Inflights} enforces) end strictly above match and below next.</li>
 * </ul>
 * Whatever a peer sends, the transitions keep these: a violation is a bug in the leader, not bad input.
 * The one input the core must screen is an acknowledgement past its own log (see {@link #maybeUpdate}).
 */
final class Progress {

    enum State { PROBE, REPLICATE, SNAPSHOT }

    private final int peerId;
    private final Inflights inflights;
    private State state = State.PROBE;
    private long match;
    private long next = 1;
    /** In PROBE: an APPEND is out and unanswered; cleared by its answer or a heartbeat answer. */
    private boolean probeSent;
    /** Heard from since the last CheckQuorum round. */
    private boolean recentActive;
    /** Heard from in the CheckQuorum round before the current one. */
    private boolean activeLastRound;
    /** The highest heartbeat round the follower has answered (ReadIndex). */
    private long ackedReadRound;
    /** The commit index carried by the last APPEND sent. */
    private long sentCommit;
    /** Appends should be sent at the next flush. */
    private boolean sendPending;
    /** Send an APPEND at the next flush even if it carries nothing, to learn where the follower is. */
    private boolean probeWanted;
    /** In SNAPSHOT: the index of the snapshot being sent. */
    private long pendingSnapshot;
    /** In SNAPSHOT: the transport delivered it; the follower checks and installs it, which takes a while for a big one. */
    private boolean snapshotDelivered;
    /** In SNAPSHOT, once delivered: heartbeat answers since, none showing the snapshot installed. */
    private int heartbeatsSinceDelivery;
    /** Heartbeat answers a delivered snapshot may take to be installed before the leader sends it again. */
    private final int snapshotInstallHeartbeatsMax;

    Progress(int peerId, int inflightMessagesMax, long inflightBytesMax) {
        this(peerId, inflightMessagesMax, inflightBytesMax, RaftConfig.SNAPSHOT_INSTALL_HEARTBEATS_DEFAULT);
    }

    Progress(int peerId, int inflightMessagesMax, long inflightBytesMax, int snapshotInstallHeartbeatsMax) {
        this.peerId = peerId;
        this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
        this.snapshotInstallHeartbeatsMax = snapshotInstallHeartbeatsMax;
    }

    // ---------------------------------------------------------------- reads

    int peerId() {
        return peerId;
    }

    State state() {
        return state;
    }

    long match() {
        return match;
    }

    long next() {
        return next;
    }

    boolean recentActive() {
        return recentActive;
    }

    /** Heard from in this CheckQuorum round or the one before: within one to two election timeouts. */
    boolean activeLately() {
        return recentActive || activeLastRound;
    }

    long ackedReadRound() {
        return ackedReadRound;
    }

    long sentCommit() {
        return sentCommit;
    }

    boolean sendPending() {
        return sendPending;
    }

    boolean probeWanted() {
        return probeWanted;
    }

    int inflightCount() {
        return inflights.count();
    }

    long pendingSnapshot() {
        return pendingSnapshot;
    }

    /** No APPEND may go out now: a probe is unanswered (PROBE), the window is full (REPLICATE), a snapshot is on its way. */
    boolean paused() {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflights.full();
            case SNAPSHOT -> true;
        };
    }

    // ---------------------------------------------------------------- transitions

    /** A new leader's view: nothing known about the follower, probing from {@code next}. */
    void reset(long next) {
        state = State.PROBE;
        match = 0;
        this.next = next;
        probeSent = false;
        recentActive = false;
        activeLastRound = false;
        ackedReadRound = 0;
        sentCommit = 0;
        sendPending = false;
        probeWanted = false;
        pendingSnapshot = 0;
        snapshotDelivered = false;
        inflights.reset();
        checkInvariants("reset");
    }

    /**
     * The follower acknowledged holding our log up to {@code index}: raises match (freeing in REPLICATE the
     * messages it covers) and next. False when it told us nothing new (a duplicate or reordered answer).
     * The caller drops acknowledgements past its own log: no correct follower sends them.
     */
    boolean maybeUpdate(long index) {
        boolean updated = index > match;
        if (updated) {
            match = index;
            probeSent = false;
            if (state == State.REPLICATE) inflights.freeUpTo(index);
            // The follower holds the snapshot's last entry: the transfer is over, the core goes on from the log.
            if (state == State.SNAPSHOT && index >= pendingSnapshot) becomeProbe();
        }
        // Not a clamp: next never moves back on an acknowledgement (an old answer may be below what was sent).
        next = Math.max(next, index + 1);
        checkInvariants("maybeUpdate(" + index + ")");
        return updated;
    }

    /**
     * The follower rejected the APPEND whose preceding index was {@code rejected}. Unless the rejection is
     * stale (in REPLICATE: at or below match; in PROBE: not about the probe outstanding) moves to PROBE with
     * next at {@code nextHint} (where the leader guesses the logs agree, from the follower's hint) and
     * returns true; a stale rejection changes nothing and returns false.
     */
    boolean maybeDecrTo(long rejected, long nextHint) {
        // In SNAPSHOT nothing but the snapshot is outstanding: any rejection is of an older APPEND.
        boolean stale = switch (state) {
            case REPLICATE -> rejected <= match;
            case PROBE -> rejected != next - 1;
            case SNAPSHOT -> true;
        };
        if (stale) return false;
        becomeProbe();
        // Protocol bounds, not a clamp: the logs agree up to match, so next stays above it; they disagree at
        // the rejected index, so next goes no higher than it. The hint only chooses within these.
        next = Math.max(match + 1, Math.min(nextHint, rejected));
        checkInvariants("maybeDecrTo(" + rejected + ", " + nextHint + ")");
        return true;
    }

    /** Back to probing from just after match: nothing in flight, one APPEND at a time. */
    void becomeProbe() {
        state = State.PROBE;
        next = match + 1;
        probeSent = false;
        pendingSnapshot = 0;
        inflights.reset();
        checkInvariants("becomeProbe");
    }

    /** The logs agree up to match: send optimistically from just after it. */
    void becomeReplicate() {
        state = State.REPLICATE;
        next = match + 1;
        probeSent = false;
        pendingSnapshot = 0;
        inflights.reset();
        checkInvariants("becomeReplicate");
    }

    /** The snapshot ending at {@code snapshotIndex} is being sent: nothing else until it is reported or acknowledged. */
    void becomeSnapshot(long snapshotIndex) {
        if (snapshotIndex <= match) throw new IllegalStateException("snapshot " + snapshotIndex + " sent to a follower at match " + match);
        state = State.SNAPSHOT;
        pendingSnapshot = snapshotIndex;
        snapshotDelivered = false;
        heartbeatsSinceDelivery = 0;
        next = snapshotIndex + 1;
        probeSent = false;
        inflights.reset();
        checkInvariants("becomeSnapshot(" + snapshotIndex + ")");
    }

    /**
     * The transport reports how the snapshot transfer ended. Delivered: the follower now checks and installs it (a
     * big one takes seconds), and its acknowledgement, or a heartbeat answer showing it installed, ends the wait; if
     * neither comes within {@code snapshotInstallHeartbeatsMax} heartbeat answers, the leader probes and sends again.
     * Failed: the leader probes again after the next heartbeat answer (etcd's rule), which keeps a dead or cut-off
     * follower from being sent snapshot after snapshot.
     */
    void snapshotReported(boolean delivered) {
        if (state != State.SNAPSHOT) return;
        if (delivered) {
            snapshotDelivered = true;
            heartbeatsSinceDelivery = 0;
        } else {
            becomeProbe();
            probeSent = true;
        }
        checkInvariants("snapshotReported(" + delivered + ")");
    }

    /**
     * An APPEND went out with the entries from next after {@code prevIndex} ({@code entryCount} of them, maybe
     * none) and commit index {@code commit}. In PROBE it is the probe: nothing more until it is answered. In
     * REPLICATE an APPEND with entries moves next past them and takes a window slot; an empty one takes none,
     * since no rise of match acknowledges it and its slot could never be freed.
     */
    void sentAppend(long prevIndex, int entryCount, long entryBytes, long commit) {
        if (paused()) throw new IllegalStateException("APPEND sent to paused follower: " + this);
        if (prevIndex != next - 1) throw new IllegalStateException("APPEND after " + prevIndex + " does not start at next: " + this);
        if (entryCount < 0) throw new IllegalStateException("APPEND with " + entryCount + " entries");
        if (commit < sentCommit) throw new IllegalStateException("commit " + commit + " sent after " + sentCommit + ": a leader's commit never goes back");
        sentCommit = commit;
        probeWanted = false;
        if (state == State.PROBE) {
            probeSent = true;
        } else if (entryCount > 0) {
            next = prevIndex + entryCount + 1;
            inflights.add(next - 1, entryBytes);
        }
        checkInvariants("sentAppend(" + prevIndex + ", " + entryCount + ", " + entryBytes + ", " + commit + ")");
    }

    /**
     * The follower answered a heartbeat; its log ends at {@code followerLastIndex}. The answer is proof of
     * life: an outstanding probe is taken as lost, and so is the oldest message of a full window (otherwise
     * a window whose messages were all lost would stall the follower for good). When the follower holds
     * less than match it lost entries it had acknowledged (a disk that dropped synced data, a damaged tail
     * cut at restart): match comes down to what it holds and the leader probes from there.
     */
    void heartbeatAnswered(long followerLastIndex) {
        if (state == State.SNAPSHOT) {
            // Only its report, or the follower showing it holds the snapshot, ends a transfer: probe from after it.
            if (followerLastIndex >= pendingSnapshot) {
                long sent = pendingSnapshot;
                becomeProbe();
                next = sent + 1;
            } else if (snapshotDelivered && ++heartbeatsSinceDelivery >= snapshotInstallHeartbeatsMax) {
                // Delivered but never installed (the follower restarted, or refused the file): probe, and send again.
                becomeProbe();
            }
            checkInvariants("heartbeatAnswered(" + followerLastIndex + ")");
            return;
        }
        if (followerLastIndex < match) {
            match = followerLastIndex;
            becomeProbe();
        }
        probeSent = false;
        if (state == State.REPLICATE && inflights.full()) inflights.freeOldest();
        checkInvariants("heartbeatAnswered(" + followerLastIndex + ")");
    }

    /** The follower answered heartbeat round {@code round}; true when that is later than any it answered before. */
    boolean maybeAckReadRound(long round) {
        if (round <= ackedReadRound) return false;
        ackedReadRound = round;
        return true;
    }

    void markRecentActive() {
        recentActive = true;
    }

    /** A CheckQuorum round starts: the follower must be heard from again. */
    void clearRecentActive() {
        activeLastRound = recentActive;
        recentActive = false;
    }

    /** Appends (entries or the commit index) should go out at the next flush. */
    void markSendPending() {
        sendPending = true;
    }

    /** At the next flush send an APPEND even if it carries nothing: its answer tells where the follower is. */
    void requestProbe() {
        sendPending = true;
        probeWanted = true;
    }

    /** The flush took this follower's pending appends in hand. */
    void clearSendPending() {
        sendPending = false;
    }

    // ---------------------------------------------------------------- invariants

    private void checkInvariants(String transition) {
        if (match < 0) fail(transition, "match is negative");
        if (match >= next) fail(transition, "match is not below next");
        if (state != State.SNAPSHOT && pendingSnapshot != 0) fail(transition, "a pending snapshot outside SNAPSHOT");
        if (state == State.SNAPSHOT) {
            if (!inflights.isEmpty() || probeSent) fail(transition, "appends outstanding while a snapshot is sent");
            if (pendingSnapshot <= match) fail(transition, "a snapshot pending at or below match");
        } else if (state == State.PROBE) {
            if (!inflights.isEmpty()) fail(transition, "messages in flight while probing");
        } else {
            if (probeSent) fail(transition, "a probe outstanding while replicating");
            if (inflights.count() > inflights.capacity()) fail(transition, "more messages in flight than the window holds");
            if (!inflights.isEmpty() && inflights.oldest() <= match) fail(transition, "an acknowledged message still in flight");
            if (!inflights.isEmpty() && inflights.newest() >= next) fail(transition, "a message in flight at or past next");
        }
    }

    private void fail(String transition, String broken) {
        throw new IllegalStateException("progress of " + peerId + " after " + transition + ": " + broken + " (" + this + ")");
    }

    @Override
    public String toString() {
        return peerId + ":" + state + " match=" + match + " next=" + next + " inflight=" + inflights.count()
                + (probeSent ? " probeSent" : "") + (pendingSnapshot != 0 ? " snapshot=" + pendingSnapshot : "");
    }
}
