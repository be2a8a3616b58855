package io.raftkv.server;

/**
 * The knobs of one node, with units last. Defaults follow etcd where it has an equivalent (100 ms
 * heartbeat, 1 s election timeout, 1.5 MiB request limit becomes 4 MiB frames here).
 * {@code outboundBytesPerConnectionMax} bounds what is queued on a link this node dials to a peer;
 * {@code clientOutboundBytesMax} what is queued for a connection it accepted (a client, or a peer's inbound
 * link): smaller, since any client may stop reading, and every connection may hold that much.
 */
public record NodeOptions(long tickMs, int electionTicks, int heartbeatTicks, int frameBytesMax, int keyBytesMax,
                          int valueBytesMax, int connectionsMax, long outboundBytesPerConnectionMax, long requestTimeoutMs,
                          int pendingRequestsMax, long walSegmentBytesMax, long clientOutboundBytesMax) {

    public static final long CLIENT_OUTBOUND_BYTES_MAX_DEFAULT = 4L << 20;

    public static NodeOptions defaults() {
        return new NodeOptions(100, 10, 1, 4 << 20, 4096, 1 << 20, 1024, 64L << 20, 5_000, 100_000, 64L << 20,
                CLIENT_OUTBOUND_BYTES_MAX_DEFAULT);
    }

    /** The same options with another tick (in-process test clusters run faster ticks). */
    public NodeOptions withTickMs(long ms) {
        return new NodeOptions(ms, electionTicks, heartbeatTicks, frameBytesMax, keyBytesMax, valueBytesMax, connectionsMax,
                outboundBytesPerConnectionMax, requestTimeoutMs, pendingRequestsMax, walSegmentBytesMax, clientOutboundBytesMax);
    }

    /** Reads overrides from system properties {@code raftkv.<name>}, e.g. -Draftkv.tickMs=50. */
    public static NodeOptions fromSystemProperties() {
        NodeOptions d = defaults();
        return new NodeOptions(
                Long.getLong("raftkv.tickMs", d.tickMs),
                Integer.getInteger("raftkv.electionTicks", d.electionTicks),
                Integer.getInteger("raftkv.heartbeatTicks", d.heartbeatTicks),
                Integer.getInteger("raftkv.frameBytesMax", d.frameBytesMax),
                Integer.getInteger("raftkv.keyBytesMax", d.keyBytesMax),
                Integer.getInteger("raftkv.valueBytesMax", d.valueBytesMax),
                Integer.getInteger("raftkv.connectionsMax", d.connectionsMax),
                Long.getLong("raftkv.outboundBytesPerConnectionMax", d.outboundBytesPerConnectionMax),
                Long.getLong("raftkv.requestTimeoutMs", d.requestTimeoutMs),
                Integer.getInteger("raftkv.pendingRequestsMax", d.pendingRequestsMax),
                Long.getLong("raftkv.walSegmentBytesMax", d.walSegmentBytesMax),
                Long.getLong("raftkv.clientOutboundBytesMax", d.clientOutboundBytesMax));
    }
}
