package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.GetOption;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** etcd through jetcd, etcd's Java client: {@code connections} clients, requests spread over them in turn. */
final class EtcdTarget implements KvTarget {

    private static final GetOption LINEARIZABLE = GetOption.builder().withSerializable(false).build();
    private static final GetOption SERIALIZABLE = GetOption.builder().withSerializable(true).build();

    private final List<Client> clients = new ArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    EtcdTarget(String endpoints, int connections) {
        String[] urls = Arrays.stream(endpoints.split(",")).map(String::strip).map(e -> e.startsWith("http") ? e : "http://" + e).toArray(String[]::new);
        for (int i = 0; i < connections; i++) clients.add(Client.builder().endpoints(urls).build());
    }

    private Client client() {
        return clients.get(Math.floorMod(next.getAndIncrement(), clients.size()));
    }

    @Override
    public CompletableFuture<?> put(byte[] key, byte[] value) {
        return client().getKVClient().put(ByteSequence.from(key), ByteSequence.from(value));
    }

    @Override
    public CompletableFuture<?> get(byte[] key, boolean serializable) {
        return client().getKVClient().get(ByteSequence.from(key), serializable ? SERIALIZABLE : LINEARIZABLE);
    }

    @Override
    public void close() {
        clients.forEach(Client::close);
    }
}
