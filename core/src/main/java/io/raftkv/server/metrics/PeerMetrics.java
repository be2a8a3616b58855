package io.raftkv.server.metrics;

import io.raftkv.protocol.Frames;

/**
 * One peer's traffic, as this node sees it: frame bytes sent on the link it dials and received on the link the peer
 * dials (headers included), and the round trip of the link's pings (PEER_PING to PEER_PONG, which includes the time
 * the peer's loop took to answer). Loop thread only.
 */
public final class PeerMetrics {

    final Counter sentBytes = new Counter();
    final Counter receivedBytes = new Counter();
    final Histogram roundTrip = Histogram.latency();

    public void sent(long frameBytes) {
        sentBytes.add(frameBytes);
    }

    /** A frame whose body (after its length and type) has {@code bodyBytes}. */
    public void receivedFrame(int bodyBytes) {
        receivedBytes.add(Frames.LENGTH_BYTES + 1L + bodyBytes);
    }

    public void roundTrip(long nanos) {
        roundTrip.observe(nanos);
    }
}
