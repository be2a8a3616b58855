package io.raftkv.bench;

import io.raftkv.bench.LoadGenerator.Op;
import io.raftkv.bench.LoadGenerator.Options;
import io.raftkv.protocol.RangeRequest;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.raftkv.bench.LoadGenerator.CAS_ATTEMPTS_MAX;
import static io.raftkv.bench.LoadGenerator.RANGE_KEYS;
import static io.raftkv.bench.LoadGenerator.counterKey;
import static io.raftkv.bench.LoadGenerator.counterValue;
import static io.raftkv.bench.LoadGenerator.key;

/**
 * The operations of a workload against one target, one at a time as a loop issues them (closed or open, the loop
 * does not matter here): what one operation is, for each kind, is in {@link LoadGenerator}'s Javadoc. Also the
 * preload and the counters' check. Thread-safe: operations complete on the clients' threads.
 */
final class Operations {

    /** Puts in flight while preloading: an open loop's cap on requests in flight may be far more. */
    private static final int PRELOAD_LANES_MAX = 256;

    private final Options o;
    private final KvTarget target;
    private final byte[] payload;
    /** Failed compares of measured increments (each retried). */
    final AtomicLong conflicts = new AtomicLong();
    /** The most failed compares of one measured increment, given up or not. */
    final java.util.concurrent.atomic.LongAccumulator conflictsMax = new java.util.concurrent.atomic.LongAccumulator(Math::max, 0);
    /** Increments acknowledged, warm-up included; and those that failed with an error (which may have been applied). */
    final AtomicLong increments = new AtomicLong();
    final AtomicLong incrementErrors = new AtomicLong();

    Operations(Options o, KvTarget target) {
        this.o = o;
        this.target = target;
        this.payload = new byte[o.valueSize()];
        ThreadLocalRandom.current().nextBytes(payload);
    }

    /**
     * Starts one operation of kind {@code op} on a random key, on the connection of {@code slot} ({@link KvTarget#slot});
     * {@code measured}: whether its failed compares count.
     */
    CompletableFuture<?> issue(int slot, Op op, ThreadLocalRandom random, boolean measured) {
        KvTarget target = this.target.slot(slot);
        return switch (op) {
            case PUT -> target.put(key(random.nextInt(o.keyspace()), o.keySize()), payload);
            case GET -> target.get(key(random.nextInt(o.keyspace()), o.keySize()), false);
            case GET_SERIALIZABLE -> target.get(key(random.nextInt(o.keyspace()), o.keySize()), true);
            case RANGE -> range(target, random.nextInt((o.keyspace() + RANGE_KEYS - 1) / RANGE_KEYS));
            case TXN_CAS -> increment(target, counterKey(random.nextInt(o.counters()), o.keySize()), measured);
        };
    }

    /** Reads the 100 keys of group {@code group} (keys {@code group * 100} to {@code group * 100 + 99}); fails unless all come back. */
    private CompletableFuture<?> range(KvTarget target, int group) {
        int first = group * RANGE_KEYS;
        int expected = Math.min(o.keyspace(), first + RANGE_KEYS) - first;
        byte[] prefix = Arrays.copyOf(key(first, o.keySize()), o.keySize() - 2);
        return target.range(prefix, RangeRequest.prefixEnd(prefix)).thenApply(count -> {
            if (count != expected) throw new IllegalStateException("a range over " + expected + " keys returned " + count + " (were the keys preloaded?)");
            return count;
        });
    }

    /** One increment of {@code counter}: read it, then compare-and-put until the compare holds. */
    private CompletableFuture<Void> increment(KvTarget target, byte[] counter, boolean measured) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        target.read(counter).whenComplete((v, e) -> {
            if (e != null) result.completeExceptionally(e);
            else tryIncrement(target, counter, v, 1, measured, result);
        });
        return result;
    }

    private void tryIncrement(KvTarget target, byte[] counter, KvTarget.Versioned seen, int attempt, boolean measured, CompletableFuture<Void> result) {
        long value;
        try {
            value = counterValue(seen.value());
        } catch (NumberFormatException e) {
            result.completeExceptionally(e);
            return;
        }
        target.putIfModRevision(counter, seen.modRevision(), Long.toString(value + 1).getBytes(StandardCharsets.US_ASCII)).whenComplete((r, e) -> {
            if (e != null) {
                incrementErrors.incrementAndGet();
                result.completeExceptionally(e);
            } else if (r.succeeded()) {
                increments.incrementAndGet();
                if (measured) conflictsMax.accumulate(attempt - 1);
                result.complete(null);
            } else {
                if (measured) conflicts.incrementAndGet();
                if (attempt >= CAS_ATTEMPTS_MAX) {
                    if (measured) conflictsMax.accumulate(attempt);
                    result.completeExceptionally(new IllegalStateException("an increment gave up after " + attempt + " failed compares"));
                } else {
                    tryIncrement(target, counter, r.current(), attempt + 1, measured, result);
                }
            }
        });
    }

    /** The sum of every counter's value, read one after the other while nothing else runs. */
    long sumCounters() {
        long sum = 0;
        for (int i = 0; i < o.counters(); i++) sum += counterValue(target.read(counterKey(i, o.keySize())).join().value());
        return sum;
    }

    /** Writes every key of the keyspace once, so that reads find values (and the put path is warm). */
    void preload(PrintStream progress) throws InterruptedException {
        AtomicLong next = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        int lanes = Math.min(PRELOAD_LANES_MAX, Math.max(o.concurrency(), 64));
        CountDownLatch done = new CountDownLatch(lanes);
        // Each lane on a connection of its own, as the load's slots are.
        Runnable[] lane = new Runnable[lanes];
        for (int i = 0; i < lanes; i++) {
            KvTarget laneTarget = target.slot(i);
            int self = i;
            lane[i] = () -> {
                long k = next.getAndIncrement();
                if (k >= o.keyspace()) {
                    done.countDown();
                    return;
                }
                laneTarget.put(key((int) k, o.keySize()), payload).whenComplete((ok, e) -> {
                    if (e != null) failed.incrementAndGet();
                    lane[self].run();
                });
            };
        }
        long start = System.nanoTime();
        for (Runnable l : lane) l.run();
        while (!done.await(1, TimeUnit.SECONDS)) progress.printf("\rpreload: %,d of %,d keys   ", Math.min(next.get(), o.keyspace()), o.keyspace());
        progress.printf(java.util.Locale.ROOT, "\rpreload: %,d keys written in %.1f s, %d failed%n", o.keyspace(), (System.nanoTime() - start) / 1e9, failed.get());
    }
}
