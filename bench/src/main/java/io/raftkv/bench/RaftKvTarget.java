package io.raftkv.bench;

import io.raftkv.client.RaftKvClient;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** raftkv through {@link RaftKvClient}: {@code connections} clients, each a {@link #slot} of its own. */
final class RaftKvTarget implements KvTarget {

    private final RaftKvClient client;
    /** Every client opened, this one first; a slot's own target holds only itself. */
    private final List<RaftKvTarget> slots;

    RaftKvTarget(String endpoints, int connections) {
        this.client = open(endpoints);
        List<RaftKvTarget> all = new ArrayList<>(List.of(this));
        for (int i = 1; i < connections; i++) all.add(new RaftKvTarget(open(endpoints)));
        this.slots = List.copyOf(all);
    }

    private RaftKvTarget(RaftKvClient client) {
        this.client = client;
        this.slots = List.of(this);
    }

    private static RaftKvClient open(String endpoints) {
        return new RaftKvClient(RaftKvClient.parseEndpoints(endpoints), Duration.ofSeconds(10));
    }

    @Override
    public KvTarget slot(int slot) {
        return slots.get(Math.floorMod(slot, slots.size()));
    }

    @Override
    public CompletableFuture<?> put(byte[] key, byte[] value) {
        return client.putAsync(key, value);
    }

    @Override
    public CompletableFuture<?> get(byte[] key, boolean serializable) {
        return client.getAsync(key, serializable);
    }

    @Override
    public CompletableFuture<Versioned> read(byte[] key) {
        return client.rangeAsync(RangeRequest.key(key)).thenApply(r -> versioned(r.kvs()));
    }

    @Override
    public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
        return client.txn()
                .If(Compare.modRevision(key, Compare.Result.EQUAL, expectedModRevision))
                .Then(new TxnOp.Put(key, value, false))
                .Else(new TxnOp.Range(RangeRequest.key(key)))
                .commitAsync()
                .thenApply(t -> t.succeeded() ? CasResult.SUCCEEDED : new CasResult(false, versioned(((OpResult.Range) t.results().get(0)).kvs())));
    }

    @Override
    public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
        return client.rangeAsync(RangeRequest.range(key, rangeEnd)).thenApply(r -> r.kvs().size());
    }

    /** Through a view of the client with this deadline: its error names the last node's failure. */
    @Override
    public CompletableFuture<?> check(Duration deadline) {
        return client.withDeadline(deadline).getAsync(new byte[]{'0'}, true);
    }

    private static Versioned versioned(List<KeyValue> kvs) {
        return kvs.isEmpty() ? Versioned.ABSENT : new Versioned(kvs.get(0).value(), kvs.get(0).modRevision());
    }

    @Override
    public void close() {
        for (RaftKvTarget t : slots) t.client.close();
    }
}
