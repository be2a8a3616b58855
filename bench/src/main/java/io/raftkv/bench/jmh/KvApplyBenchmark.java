package io.raftkv.bench.jmh;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Applying committed PUT entries to the map ({@link KvStateMachine#apply}): one operation is one entry
 * decoded ({@link KvCommand#decode}, which copies key and value out) and put into the store. Keys are
 * {@value #KEY_BYTES} B drawn from a space of {@value #KEYS} in a shuffled order, values {@value #VALUE_BYTES} B.
 * The store is filled with every key before measuring, so each apply overwrites a key in a store of
 * {@value #KEYS} entries (a lookup in its hash index). Two shapes of key: {@code prefixed}, "key-" and 12 digits,
 * and {@code padded}, the load generator's (digits zero-padded to 16 bytes): keys that differ only in their last
 * digits are what a hash index must spread.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class KvApplyBenchmark {

    static final int KEYS = 100_000;
    static final int KEY_BYTES = 16;
    static final int VALUE_BYTES = 256;
    static final long TERM = 1;

    /** Encoded PUT commands, one per key, in a shuffled order. */
    private byte[][] commands;
    private KvStateMachine kv;
    private int next;

    @Param({"prefixed", "padded"})
    public String keyShape;

    @Setup
    public void setUp() {
        Random random = new Random(42);
        commands = new byte[KEYS][];
        keys = new byte[KEYS][];
        for (int k = 0; k < KEYS; k++) {
            String name = keyShape.equals("padded") ? String.format("%016d", k) : String.format("key-%012d", k);
            byte[] key = name.getBytes(StandardCharsets.US_ASCII);
            if (key.length != KEY_BYTES) throw new IllegalStateException("key of " + key.length + " bytes");
            byte[] value = new byte[VALUE_BYTES];
            random.nextBytes(value);
            commands[k] = KvCommand.put(key, value).encode();
            keys[k] = key;
        }
        for (int i = KEYS - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            byte[] swap = commands[i];
            commands[i] = commands[j];
            commands[j] = swap;
        }
        kv = new KvStateMachine();
        for (int i = 0; i < KEYS; i++) applyNext();
        if (kv.size() != KEYS) throw new IllegalStateException("map holds " + kv.size() + " keys, expected " + KEYS);
    }

    /** Keys of the store in the order made; read a prime stride apart, so one read is not near the last. */
    private byte[][] keys;
    private int nextRead;

    private long applyNext() {
        long index = kv.appliedIndex() + 1;
        kv.apply(new Entry(TERM, index, commands[next]));
        next = next + 1 == KEYS ? 0 : next + 1;
        return index;
    }

    @Benchmark
    public long applyPut() {
        return applyNext();
    }

    /** Entries committed together, as the leader applies them at 256 puts in flight. */
    static final int BATCH = 64;

    /** {@value #BATCH} puts applied one by one. */
    @Benchmark
    public long applyBatch() {
        return applyBatch(false);
    }

    /** The same, the state machine told the batch first ({@link KvStateMachine#prefetch}), as the replica driver does. */
    @Benchmark
    public long applyBatchPrefetched() {
        return applyBatch(true);
    }

    private long applyBatch(boolean prefetch) {
        java.util.List<Entry> batch = new java.util.ArrayList<>(BATCH);
        long index = kv.appliedIndex();
        for (int i = 0; i < BATCH; i++) {
            batch.add(new Entry(TERM, ++index, commands[next]));
            next = next + 1 == KEYS ? 0 : next + 1;
        }
        if (prefetch) kv.prefetch(batch);
        for (Entry e : batch) kv.apply(e);
        return index;
    }

    /** A point read of a key in the store (its hash index, then its newest version): no allocation, no history. */
    @Benchmark
    public byte[] get() {
        byte[] key = keys[nextRead];
        nextRead = (nextRead + 7919) % KEYS;
        return kv.get(key);
    }
}
