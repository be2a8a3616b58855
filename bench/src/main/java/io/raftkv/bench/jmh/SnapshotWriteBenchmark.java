package io.raftkv.bench.jmh;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvSnapshot;
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

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Writing a snapshot of the store ({@link KvSnapshot#writeTo}) to a stream that only counts: the work of the node's
 * snapshot thread without the disk. The store holds {@value #KEYS} keys of 16 B with 256 B values, the load
 * generator's shape; under a sustained put load a node writes one such snapshot every second or two (docs/snapshots.md).
 * Two layouts of the store in memory: {@code inOrder}, every key put once in key order (its objects side by side, as a
 * snapshot's load leaves them), and {@code overwritten}, every key then put twice more in a random order and the
 * history compacted away, as a node's store is after a sustained put load: a key's entry, version and value are
 * wherever the heap had room when it was written, so the snapshot's walk reads memory out of order.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
public class SnapshotWriteBenchmark {

    static final int KEYS = 100_000;

    private KvStateMachine kv;

    @Param({"inOrder", "overwritten"})
    public String layout;

    /** Counts what it is given, as a file would take it: in the writer's pieces. */
    private static final class CountingOutput extends OutputStream {
        long bytes;

        @Override
        public void write(int b) {
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            bytes += len;
        }
    }

    @Setup
    public void setUp() {
        Random random = new Random(42);
        kv = new KvStateMachine();
        for (int k = 0; k < KEYS; k++) {
            byte[] value = new byte[256];
            random.nextBytes(value);
            byte[] key = String.format("%016d", k).getBytes(StandardCharsets.US_ASCII);
            kv.apply(new Entry(1, kv.appliedIndex() + 1, KvCommand.put(key, value).encode()));
        }
        if (layout.equals("overwritten")) {
            int[] order = new int[KEYS];
            for (int k = 0; k < KEYS; k++) order[k] = k;
            for (int pass = 0; pass < 2; pass++) {
                for (int i = KEYS - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int swap = order[i];
                    order[i] = order[j];
                    order[j] = swap;
                }
                for (int k : order) {
                    byte[] value = new byte[256];
                    random.nextBytes(value);
                    byte[] key = String.format("%016d", k).getBytes(StandardCharsets.US_ASCII);
                    kv.apply(new Entry(1, kv.appliedIndex() + 1, KvCommand.put(key, value).encode()));
                }
            }
            kv.apply(new Entry(1, kv.appliedIndex() + 1, new KvCommand.Compact(kv.revision()).encode()));
            for (int i = 0; i < KEYS / 1024 + 1; i++) kv.trimCompacted();
        }
    }

    @Benchmark
    public long writeStore() throws IOException {
        KvSnapshot snapshot = kv.snapshot();
        try {
            CountingOutput out = new CountingOutput();
            snapshot.writeTo(out);
            return out.bytes;
        } finally {
            snapshot.release();
        }
    }
}
