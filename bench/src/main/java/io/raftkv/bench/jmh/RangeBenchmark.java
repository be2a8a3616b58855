package io.raftkv.bench.jmh;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.raft.Entry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * A prefix range of 100 keys out of {@value #KEYS} (16 B keys, 256 B values), as the load generator's {@code range}
 * workload asks it: {@code rangeOnly} reads the store ({@code MvccStore.range}); {@code rangeAndEncode} also encodes
 * the answer's frame ({@code ClientCodec.response}), as a node serves it; {@code rangeEncodeAndCopyOut} and
 * {@code rangeEncodeInScratchAndCopyOut} also copy the frame into a direct buffer on its way to the socket: the first as
 * a node did until 2026-12-01 (an array per answer, copied by the JDK into its temporary direct buffer), the second as it
 * does now (one reused array, copied into the connection's direct chunks). The keys are put in a shuffled order, then each is overwritten once in another, so that
 * a key's objects lie scattered on the heap as on a node that has served writes a while.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class RangeBenchmark {

    static final int KEYS = 100_000;
    static final int RANGE_KEYS = 100;

    private static final ResponseHeader HEADER = new ResponseHeader(1, 1, 1);

    private KvStateMachine kv;
    private RangeRequest[] ranges;
    private int next;

    private static byte[] key(int k) {
        return String.format("key-%012d", k).getBytes(StandardCharsets.US_ASCII);
    }

    @Setup
    public void setUp() {
        Random random = new Random(42);
        kv = new KvStateMachine();
        for (int round = 0; round < 2; round++) {
            int[] order = new int[KEYS];
            for (int i = 0; i < KEYS; i++) order[i] = i;
            for (int i = KEYS - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            for (int k : order) {
                byte[] value = new byte[256];
                random.nextBytes(value);
                kv.apply(new Entry(1, kv.appliedIndex() + 1, KvCommand.put(key(k), value).encode()));
            }
        }
        ranges = new RangeRequest[KEYS / RANGE_KEYS];
        for (int g = 0; g < ranges.length; g++) {
            byte[] prefix = Arrays.copyOf(key(g * RANGE_KEYS), 14);
            ranges[g] = RangeRequest.range(prefix, RangeRequest.prefixEnd(prefix));
        }
        // Visit the groups in a random order, as the load generator does.
        for (int i = ranges.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            RangeRequest t = ranges[i];
            ranges[i] = ranges[j];
            ranges[j] = t;
        }
        if (kv.store().range(ranges[0], Long.MAX_VALUE).kvs().size() != RANGE_KEYS) throw new IllegalStateException("not 100 keys");
    }

    private final BodyWriter scratch = new BodyWriter(64 * 1024);
    private final ByteBuffer direct = ByteBuffer.allocateDirect(1 << 20);

    private RangeRequest nextRange() {
        RangeRequest r = ranges[next];
        next = next + 1 == ranges.length ? 0 : next + 1;
        return r;
    }

    @Benchmark
    public OpResult.Range rangeOnly() {
        return kv.store().range(nextRange(), Long.MAX_VALUE);
    }

    @Benchmark
    public ByteBuffer rangeAndEncode() {
        OpResult.Range r = kv.store().range(nextRange(), Long.MAX_VALUE);
        return ClientCodec.response(new ClientResponse.RangeResult(1, HEADER, r.kvs(), r.more(), r.count()));
    }

    @Benchmark
    public ByteBuffer rangeEncodeAndCopyOut() {
        OpResult.Range r = kv.store().range(nextRange(), Long.MAX_VALUE);
        return direct.clear().put(ClientCodec.response(new ClientResponse.RangeResult(1, HEADER, r.kvs(), r.more(), r.count())));
    }

    @Benchmark
    public ByteBuffer rangeEncodeInScratchAndCopyOut() {
        OpResult.Range r = kv.store().range(nextRange(), Long.MAX_VALUE);
        return direct.clear().put(ClientCodec.response(scratch, new ClientResponse.RangeResult(1, HEADER, r.kvs(), r.more(), r.count())));
    }
}
