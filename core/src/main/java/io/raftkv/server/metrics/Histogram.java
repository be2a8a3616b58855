package io.raftkv.server.metrics;

import java.math.BigDecimal;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Durations in fixed buckets that double from {@code firstBoundNanos}, written by one thread, read by any: a bucket is
 * found with a division and a bit count, and an observation is two opaque stores (see {@link Counter}), no allocation.
 *
 * <p>A reader may see an observation's bucket and not yet its sum, or the reverse: the count it reports is the total of
 * the buckets it read, so the cumulative buckets and {@code _count} always agree, and {@code _sum} may be off by the
 * observations in flight while it read. That is as consistent as a scrape needs, and costs the writer nothing.
 */
public final class Histogram {

    /** 100 µs to 6.55 s: fsyncs (0.1 ms on an idle disk, tens of ms on a busy one), requests, round trips. */
    public static Histogram latency() {
        return new Histogram(100_000, 17);
    }

    /** 10 ms to 655 s: writing a snapshot of the whole store. */
    public static Histogram slow() {
        return new Histogram(10_000_000, 17);
    }

    private final long firstBoundNanos;
    private final int bounds;
    /** Per bucket, not cumulative; the last one is +Inf. */
    private final AtomicLongArray counts;
    private final Counter sumNanos = new Counter();
    /** The {@code le} label of each finite bucket, in seconds, made once. */
    private final String[] labels;

    Histogram(long firstBoundNanos, int bounds) {
        if (firstBoundNanos < 1 || bounds < 1 || bounds > 40) throw new IllegalArgumentException("firstBoundNanos " + firstBoundNanos + ", bounds " + bounds);
        this.firstBoundNanos = firstBoundNanos;
        this.bounds = bounds;
        this.counts = new AtomicLongArray(bounds + 1);
        this.labels = new String[bounds];
        for (int i = 0; i < bounds; i++) labels[i] = BigDecimal.valueOf(firstBoundNanos << i, 9).stripTrailingZeros().toPlainString();
    }

    /** From the writer's thread only. */
    public void observe(long nanos) {
        long n = Math.max(0, nanos);
        int bucket = bucketOf(n);
        counts.setOpaque(bucket, counts.getPlain(bucket) + 1);
        sumNanos.add(n);
    }

    /** The first bucket whose bound is at least {@code nanos}: bound i is firstBoundNanos x 2^i. */
    int bucketOf(long nanos) {
        if (nanos <= firstBoundNanos) return 0;
        long q = (nanos - 1) / firstBoundNanos + 1; // ceil(nanos / first), at least 2
        return Math.min(bounds, 64 - Long.numberOfLeadingZeros(q - 1));
    }

    /** What a reader saw: cumulative counts per finite bound, then the total (the +Inf bucket). */
    public record Reading(long[] cumulative, long count, long sumNanos) { }

    /** From any thread. */
    public Reading read() {
        long[] cumulative = new long[bounds];
        long total = 0;
        for (int i = 0; i < bounds; i++) {
            total += counts.getOpaque(i);
            cumulative[i] = total;
        }
        total += counts.getOpaque(bounds);
        return new Reading(cumulative, total, sumNanos.get());
    }

    /** Writes the histogram's samples under {@code name} with {@code labels} (name, value pairs) before {@code le}. */
    void writeTo(TextFormat out, String name, String... labelPairs) {
        Reading r = read();
        String[] withLe = java.util.Arrays.copyOf(labelPairs, labelPairs.length + 2);
        withLe[labelPairs.length] = "le";
        for (int i = 0; i < bounds; i++) {
            withLe[labelPairs.length + 1] = labels[i];
            out.sample(name + "_bucket", r.cumulative()[i], withLe);
        }
        withLe[labelPairs.length + 1] = "+Inf";
        out.sample(name + "_bucket", r.count(), withLe);
        out.sample(name + "_sum", r.sumNanos() / 1e9, labelPairs);
        out.sample(name + "_count", r.count(), labelPairs);
    }
}
