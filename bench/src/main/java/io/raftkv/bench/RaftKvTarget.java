package io.raftkv.bench;

import io.raftkv.client.RaftKvClient;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** raftkv through {@link RaftKvClient}: {@code connections} clients, requests spread over them in turn. */
final class RaftKvTarget implements KvTarget {

    private final List<RaftKvClient> clients = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    RaftKvTarget(String endpoints, int connections) {
        for (int i = 0; i < connections; i++) clients.add(new RaftKvClient(RaftKvClient.parseEndpoints(endpoints), Duration.ofSeconds(10)));
    }

    private RaftKvClient client() {
        return clients.get(Math.floorMod(next.getAndIncrement(), clients.size()));
    }

    @Override
    public CompletableFuture<?> put(byte[] key, byte[] value) {
        return client().putAsync(key, value);
    }

    @Override
    public CompletableFuture<?> get(byte[] key, boolean serializable) {
        return client().getAsync(key, serializable);
    }

    @Override
    public void close() {
        clients.forEach(RaftKvClient::close);
    }
}
