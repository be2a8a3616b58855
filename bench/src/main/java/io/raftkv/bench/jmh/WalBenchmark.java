package io.raftkv.bench.jmh;

import io.raftkv.raft.Entry;
import io.raftkv.wal.WalOptions;
import io.raftkv.wal.WriteAheadLog;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Write-ahead log group commit: one operation is one loop turn's worth of work, {@code entriesPerSync}
 * entries of {@value #ENTRY_BYTES} B appended and then made durable with one {@link WriteAheadLog#sync()}
 * (an fsync of the segment). The primary score counts syncs per second; the secondary score
 * {@code appendAndSync:entries} counts entries per second (syncs × entriesPerSync), the figure to compare
 * across batch sizes.
 *
 * <p>The log lives in a fresh directory under {@code java.io.tmpdir}, with the node's default limits
 * (64 MiB segments), and grows for the whole trial, so segments roll as they fill, as in a node. What this
 * measures is mostly the disk's fsync latency: run it on the disk a node would use
 * ({@code -Djava.io.tmpdir=...}, passed on with {@code -jvmArgsAppend}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class WalBenchmark {

    static final int ENTRY_BYTES = 256;
    static final long TERM = 1;

    @Param({"1", "16", "256"})
    public int entriesPerSync;

    private Path dir;
    private WriteAheadLog wal;
    private byte[] payload;
    private long nextIndex;
    private final ArrayList<Entry> batch = new ArrayList<>();

    /** Entries made durable, reported per second next to the primary score (syncs per second). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Entries {
        public long entries;

        @Setup(Level.Iteration)
        public void reset() {
            entries = 0;
        }
    }

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("raftkv-jmh-wal-");
        wal = WriteAheadLog.open(dir.resolve("wal"), WalOptions.defaults());
        payload = new byte[ENTRY_BYTES];
        new Random(42).nextBytes(payload);
        nextIndex = wal.lastIndex() + 1;
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        try {
            if (wal != null) wal.close();
        } finally {
            deleteRecursively(dir);
        }
    }

    @Benchmark
    public long appendAndSync(Entries counter) throws IOException {
        batch.clear();
        for (int i = 0; i < entriesPerSync; i++) {
            // The payload array is shared: the WAL keeps every entry in memory, and the bytes written are the same.
            batch.add(new Entry(TERM, nextIndex++, payload));
        }
        wal.append(batch);
        wal.sync();
        counter.entries += entriesPerSync;
        return nextIndex;
    }

    static void deleteRecursively(Path root) throws IOException {
        if (root == null || !Files.exists(root)) return;
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(root)) {
            paths = walk.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : paths) Files.deleteIfExists(p);
    }
}
