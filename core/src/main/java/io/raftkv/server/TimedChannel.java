package io.raftkv.server;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.server.metrics.RequestMetrics;

/**
 * A client's channel for one request, which times it from its arrival to its answer (the request table answers each
 * request exactly once, on the loop thread). One small object per request; docs/metrics.md says what that costs.
 */
final class TimedChannel implements ClientRequests.Channel {

    private final ClientRequests.Channel channel;
    private final ClientRequest request;
    private final RequestMetrics metrics;
    private final long startNanos = System.nanoTime();

    TimedChannel(ClientRequests.Channel channel, ClientRequest request, RequestMetrics metrics) {
        this.channel = channel;
        this.request = request;
        this.metrics = metrics;
    }

    @Override
    public void reply(ClientResponse response) {
        metrics.observe(request, response, System.nanoTime() - startNanos);
        channel.reply(response);
    }

    /** The connection's user: timing a request changes nothing of who sent it. */
    @Override
    public AccessControl.Identity identity() {
        return channel.identity();
    }

    @Override
    public void identify(AccessControl.Identity who) {
        channel.identify(who);
    }
}
