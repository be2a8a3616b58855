package io.raftkv.raft;

/**
 * The leader's view of one follower (etcd's tracker.Progress). In PROBE the leader sends one APPEND at a
 * time and waits for the answer, walking {@code next} back to where the logs agree; in REPLICATE it sends
 * optimistically, up to a bounded window of messages in flight.
 */
final class Progress {

    enum State { PROBE, REPLICATE }

    final int peerId;
    final Inflights inflights;
    State state = State.PROBE;
    long match;
    long next;
    /** In PROBE: an APPEND is out and unanswered; cleared by its answer or a heartbeat answer. */
    boolean probeSent;
    /** Heard from since the last CheckQuorum round. */
    boolean recentActive;
    /** The highest heartbeat round the follower has answered (ReadIndex). */
    long ackedReadRound;
    /** The commit index carried by the last APPEND sent. */
    long sentCommit;
    /** Appends should be sent at the next flush. */
    boolean sendPending;
    /** Send an APPEND at the next flush even if it carries nothing, to learn where the follower is. */
    boolean probeWanted;

    Progress(int peerId, int maxInflight) {
        this.peerId = peerId;
        this.inflights = new Inflights(maxInflight);
    }

    void reset(long next) {
        state = State.PROBE;
        match = 0;
        this.next = next;
        probeSent = false;
        recentActive = false;
        ackedReadRound = 0;
        sentCommit = 0;
        sendPending = false;
        probeWanted = false;
        inflights.reset();
    }

    boolean paused() {
        return state == State.PROBE ? probeSent : inflights.full();
    }

    /** Records an acknowledgement up to {@code index}; false when it told us nothing new. */
    boolean maybeUpdate(long index) {
        boolean updated = index > match;
        if (updated) {
            match = index;
            probeSent = false;
        }
        next = Math.max(next, index + 1);
        return updated;
    }

    void becomeProbe() {
        state = State.PROBE;
        next = match + 1;
        probeSent = false;
        inflights.reset();
    }

    void becomeReplicate() {
        state = State.REPLICATE;
        next = match + 1;
        inflights.reset();
    }

    @Override
    public String toString() {
        return peerId + ":" + state + " match=" + match + " next=" + next + " inflight=" + inflights.count();
    }
}
