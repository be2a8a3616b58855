package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** etcd through jetcd, etcd's Java client: {@code connections} clients, each a {@link #slot} of its own. */
final class EtcdTarget implements KvTarget {

    private static final GetOption LINEARIZABLE = GetOption.builder().withSerializable(false).build();
    private static final GetOption SERIALIZABLE = GetOption.builder().withSerializable(true).build();

    private final Client client;
    /** Every client opened, this one first; a slot's own target holds only itself. */
    private final List<EtcdTarget> slots;

    EtcdTarget(String endpoints, int connections) {
        String[] urls = Arrays.stream(endpoints.split(",")).map(String::strip).map(e -> e.startsWith("http") ? e : "http://" + e).toArray(String[]::new);
        this.client = Client.builder().endpoints(urls).build();
        List<EtcdTarget> all = new ArrayList<>(List.of(this));
        for (int i = 1; i < connections; i++) all.add(new EtcdTarget(Client.builder().endpoints(urls).build()));
        this.slots = List.copyOf(all);
    }

    private EtcdTarget(Client client) {
        this.client = client;
        this.slots = List.of(this);
    }

    @Override
    public KvTarget slot(int slot) {
        return slots.get(Math.floorMod(slot, slots.size()));
    }

    @Override
    public CompletableFuture<?> put(byte[] key, byte[] value) {
        return client.getKVClient().put(ByteSequence.from(key), ByteSequence.from(value));
    }

    @Override
    public CompletableFuture<?> get(byte[] key, boolean serializable) {
        return client.getKVClient().get(ByteSequence.from(key), serializable ? SERIALIZABLE : LINEARIZABLE);
    }

    @Override
    public CompletableFuture<Versioned> read(byte[] key) {
        return client.getKVClient().get(ByteSequence.from(key), LINEARIZABLE).thenApply(r -> versioned(r.getKvs()));
    }

    @Override
    public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
        ByteSequence k = ByteSequence.from(key);
        return client.getKVClient().txn()
                .If(new Cmp(k, Cmp.Op.EQUAL, CmpTarget.modRevision(expectedModRevision)))
                .Then(Op.put(k, ByteSequence.from(value), PutOption.DEFAULT))
                .Else(Op.get(k, LINEARIZABLE))
                .commit()
                .thenApply(t -> t.isSucceeded() ? CasResult.SUCCEEDED : new CasResult(false, versioned(t.getGetResponses().get(0).getKvs())));
    }

    @Override
    public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
        GetOption range = GetOption.builder().withSerializable(false).withRange(ByteSequence.from(rangeEnd)).build();
        return client.getKVClient().get(ByteSequence.from(key), range).thenApply(r -> r.getKvs().size());
    }

    private static Versioned versioned(List<KeyValue> kvs) {
        return kvs.isEmpty() ? Versioned.ABSENT : new Versioned(kvs.get(0).getValue().getBytes(), kvs.get(0).getModRevision());
    }

    @Override
    public void close() {
        for (EtcdTarget t : slots) t.client.close();
    }
}
