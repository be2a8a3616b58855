package io.raftkv.bench;

import io.raftkv.bench.LoadGenerator.Op;
import io.raftkv.bench.LoadGenerator.Options;
import io.raftkv.bench.LoadGenerator.Result;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.locks.LockSupport;

/**
 * One run of the load generator against one target: a warm-up, then the measured window, in one of two loops.
 * <ul>
 * <li><b>Closed</b> ({@code --rate} not given): {@code --concurrency} slots, each issuing its next operation when the
 *     last one completes. Latency runs from the issue to the answer.</li>
 * <li><b>Open</b> ({@code --rate R}): operation {@code i} is due at {@code start + i / R}, whatever has completed, and
 *     its latency runs from that scheduled time, so that a stall counts against every operation it held up instead of
 *     hiding them (coordinated omission). {@code --concurrency} caps the operations in flight: when the cap is reached
 *     the schedule falls behind, the operations held back are issued as soon as others complete, and their waiting is
 *     part of their latency. The issue lag (how late the generator issued, its own delay included) is reported apart.</li>
 * </ul>
 * The warm-up ends when every one of its conditions holds: {@code --warmup} operations issued, {@code --warmup-seconds}
 * passed, and with {@code --warmup-max-seconds} the client's CPU per operation settled ({@link Warmup}) or that limit
 * reached. A controller thread (the caller's) watches the run every {@link #TICK_NANOS}: it moves the phases, prints
 * progress, and ends the run at its duration. Operations still in flight then are waited for while they keep
 * completing; after {@link #STALL_NANOS_MIN} (or twice the slowest operation seen) without any completion, the run
 * stops and counts them as unfinished, so that a dead cluster cannot hold the run past its duration.
 */
final class LoadRun {

    static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long PROGRESS_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long STALL_NANOS_MIN = TimeUnit.SECONDS.toNanos(1);

    private final Options o;
    private final Operations operations;
    private final Recorder latency = new Recorder(LATENCY_MICROS_MAX, 3);
    /** Open loop: how late each operation was issued after its scheduled time. */
    private final Recorder issueLag = new Recorder(LATENCY_MICROS_MAX, 3);
    private final ErrorTally errors = new ErrorTally();
    private final ErrorTally warmupErrors = new ErrorTally();
    private final AtomicLong issued = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong measuredIssued = new AtomicLong();
    private final AtomicLong measuredOk = new AtomicLong();
    private final AtomicLong measuredIncrements = new AtomicLong();
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Open loop: operations that found the cap reached and waited for a slot. */
    private final AtomicLong heldBack = new AtomicLong();
    private final LongAccumulator lastCompletion = new LongAccumulator(Math::max, Long.MIN_VALUE);
    private final LongAccumulator slowestMicros = new LongAccumulator(Math::max, 0);
    /** Written before {@link #measuring} is set, read after it is seen set. */
    private volatile long measureStart;
    private volatile boolean measuring;
    private volatile boolean stopping;
    private final CountDownLatch slotsEnded;
    private final Semaphore slots;
    private volatile boolean scheduleEnded;
    private long start;

    LoadRun(Options o, KvTarget target) {
        this.o = o;
        this.operations = new Operations(o, target);
        this.slotsEnded = new CountDownLatch(o.openLoop() ? 0 : o.concurrency());
        this.slots = new Semaphore(o.concurrency());
    }

    Result run(PrintStream progress) throws InterruptedException {
        if (o.preload()) operations.preload(progress);
        boolean counting = o.uses(Op.TXN_CAS);
        long countersBefore = counting ? operations.sumCounters() : 0;
        long windowNanos = (long) (o.warmupWindowSeconds() * 1e9);
        Warmup warmup = o.warmupMaxSeconds() > 0 ? new Warmup((int) Math.ceil(o.warmupMaxSeconds() / o.warmupWindowSeconds()) + 2) : null;
        Warmup.Outcome warmedUp = Warmup.Outcome.NONE;
        long clientCpuAtMeasure = 0;
        ProcessCpu.Snapshot cpuAtMeasure = null;

        start = System.nanoTime();
        if (o.warmup() == 0 && o.warmupSeconds() == 0 && warmup == null) {
            clientCpuAtMeasure = clientCpuNanos();
            cpuAtMeasure = ProcessCpu.Snapshot.take(o.pids());
            start = beginMeasuring();
        }
        Thread scheduler = null;
        if (o.openLoop()) {
            scheduler = new Thread(this::schedule, "open-loop");
            scheduler.setDaemon(true);
            scheduler.start();
        } else {
            for (int i = 0; i < o.concurrency(); i++) next(i);
        }

        long windowStart = start;
        long windowCpu = clientCpuNanos();
        long windowCompleted = 0;
        long nextProgress = start + PROGRESS_NANOS;
        long progressCompleted = 0;
        long over = 0; // when the measured window's issuing ended
        boolean abandoned = false;
        while (true) {
            LockSupport.parkNanos(TICK_NANOS);
            long now = System.nanoTime();
            if (!measuring) {
                if (warmup != null && now - windowStart >= windowNanos) {
                    long cpu = clientCpuNanos();
                    long done = completed.get();
                    warmup.add(cpu - windowCpu, done - windowCompleted);
                    windowStart = now;
                    windowCpu = cpu;
                    windowCompleted = done;
                }
                boolean warm = issued.get() >= o.warmup() && now - start >= (long) (o.warmupSeconds() * 1e9)
                        && (warmup == null || warmup.settled() || now - start >= (long) (o.warmupMaxSeconds() * 1e9));
                if (warm) {
                    warmedUp = warmup == null ? new Warmup.Outcome((now - start) / 1e9, completed.get(), false, java.util.List.of())
                            : warmup.outcome((now - start) / 1e9, completed.get());
                    progress.printf("%n%s: %s%n", o.name(), warmedUp.text());
                    clientCpuAtMeasure = clientCpuNanos();
                    cpuAtMeasure = ProcessCpu.Snapshot.take(o.pids());
                    beginMeasuring();
                }
            } else if (over == 0) {
                boolean timeUp = o.durationSeconds() > 0 && now - measureStart >= (long) (o.durationSeconds() * 1e9);
                boolean enough = o.ops() > 0 && measuredIssued.get() >= o.ops();
                if (o.openLoop() ? scheduleEnded || timeUp : timeUp || enough) {
                    over = now;
                    if (!o.openLoop()) stopping = true;
                }
            }
            if (now >= nextProgress) {
                long done = completed.get();
                progress.printf(Locale.ROOT, "\r%s: %s %5.1f s  %,d ops  %,.0f ops/s  %d errors  %d in flight   ", o.name(),
                        measuring ? "measuring" : "warming up", (now - (measuring ? measureStart : start)) / 1e9, measuredOk.get(),
                        (done - progressCompleted) / ((now - nextProgress + PROGRESS_NANOS) / 1e9), errors.total() + warmupErrors.total(), inFlight.get());
                progressCompleted = done;
                nextProgress = now + PROGRESS_NANOS;
            }
            boolean ended = o.openLoop() ? scheduleEnded && inFlight.get() == 0 : slotsEnded.getCount() == 0;
            if (over != 0 && ended) break;
            if (over != 0) {
                long quiet = now - Math.max(lastCompletion.get(), over);
                if (quiet >= Math.max(STALL_NANOS_MIN, 2_000 * slowestMicros.get())) {
                    abandoned = true;
                    break;
                }
            }
        }
        stopping = true;
        long now = System.nanoTime();
        long clientCpuEnd = clientCpuNanos();
        ProcessCpu.Window cpu = ProcessCpu.Window.between(cpuAtMeasure, ProcessCpu.Snapshot.take(o.pids()), o.clockTicks());
        progress.println();
        long end = abandoned ? now : Math.max(lastCompletion.get(), measureStart);
        double seconds = Math.max(1, end - measureStart) / 1e9;
        long unfinished = abandoned ? inFlight.get() : 0;
        if (scheduler != null) scheduler.join(TimeUnit.NANOSECONDS.toMillis(TICK_NANOS) * 10);

        String check = "";
        if (counting && unfinished > 0) {
            check = "not checked: " + unfinished + " operations unanswered";
        } else if (counting) {
            long grown = operations.sumCounters() - countersBefore;
            long acknowledged = operations.increments.get();
            long unknown = operations.incrementErrors.get();
            // An increment that failed with an error may still have been applied (its answer was lost).
            check = grown >= acknowledged && grown <= acknowledged + unknown ? "ok"
                    : "counters grew by " + grown + " for " + acknowledged + " increments acknowledged and " + unknown + " failed";
            progress.printf(Locale.ROOT, "%s: counters +%d for %d increments acknowledged (%d failed): %s%n", o.name(), grown, acknowledged, unknown, check);
        }
        long expected = !o.openLoop() ? 0 : o.ops() > 0 ? o.ops() : (long) (o.durationSeconds() * o.rate());
        long missed = Math.max(0, expected - measuredIssued.get());
        Histogram h = latency.getIntervalHistogram();
        long ok = measuredOk.get();
        return new Result(o, ok, errors, measuredIncrements.get(), operations.conflicts.get(), operations.conflictsMax.get(), check, seconds, h,
                o.openLoop() ? issueLag.getIntervalHistogram() : null, warmedUp, warmupErrors, (clientCpuEnd - clientCpuAtMeasure) / 1000.0 / Math.max(1, ok),
                (clientCpuEnd - clientCpuAtMeasure) / 1e7 / cpu.seconds(), cpu, unfinished, missed, heldBack.get());
    }

    /**
     * From now on, operations issued (open loop: scheduled) are measured. The time is read here, after the CPU snapshots
     * (reading /proc takes milliseconds), so that no operation falls between the two phases.
     */
    private long beginMeasuring() {
        long now = System.nanoTime();
        measureStart = now;
        measuring = true;
        return now;
    }

    /** Closed loop: issues the next operation of {@code slot}, or ends the slot when the run is over. */
    private void next(int slot) {
        boolean measured = measuring;
        if (stopping || (measured && o.ops() > 0 && measuredIssued.getAndIncrement() >= o.ops())) {
            slotsEnded.countDown();
            return;
        }
        if (measured && o.ops() == 0) measuredIssued.incrementAndGet();
        issue(slot, System.nanoTime(), measured, () -> next(slot));
    }

    /** Open loop: issues each operation at its scheduled time (or as soon after it as the cap allows). */
    private void schedule() {
        double periodNanos = 1e9 / o.rate();
        long durationNanos = (long) (o.durationSeconds() * 1e9);
        try {
            for (long i = 0; !stopping; ) {
                long due = start + (long) (i * periodNanos);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                    continue;
                }
                if (!slots.tryAcquire()) {
                    heldBack.incrementAndGet();
                    while (!slots.tryAcquire(TICK_NANOS, TimeUnit.NANOSECONDS)) if (stopping) return;
                }
                boolean measured = measuring && due - measureStart >= 0;
                if (measured && (o.ops() > 0 ? measuredIssued.get() >= o.ops() : due - measureStart >= durationNanos)) {
                    slots.release();
                    return;
                }
                if (measured) {
                    measuredIssued.incrementAndGet();
                    issueLag.recordValue(Math.min(LATENCY_MICROS_MAX, (System.nanoTime() - due) / 1000));
                }
                issue((int) i, due, measured, slots::release);
                i++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            scheduleEnded = true;
        }
    }

    /** Starts one operation on {@code slot}'s connection; its latency runs from {@code since}; {@code then} runs when it completes. */
    private void issue(int slot, long since, boolean measured, Runnable then) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        Op op = o.pick(random);
        issued.incrementAndGet();
        inFlight.incrementAndGet();
        CompletableFuture<?> f;
        try {
            f = operations.issue(slot, op, random, measured);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((ok, error) -> {
            long now = System.nanoTime();
            if (error != null) {
                (measured ? errors : warmupErrors).add(error);
            } else if (measured) {
                long micros = Math.min(LATENCY_MICROS_MAX, (now - since) / 1000);
                latency.recordValue(micros);
                slowestMicros.accumulate(micros);
                measuredOk.incrementAndGet();
                if (op == Op.TXN_CAS) measuredIncrements.incrementAndGet();
            }
            lastCompletion.accumulate(now);
            completed.incrementAndGet();
            inFlight.decrementAndGet();
            then.run();
        });
    }

    /** This process's CPU time, every thread (the clients' I/O, GC and JIT included). */
    static long clientCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }
}
