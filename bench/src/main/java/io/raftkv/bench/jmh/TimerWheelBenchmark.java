package io.raftkv.bench.jmh;

import io.raftkv.net.TimerWheel;
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

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The loop's timer wheel ({@link TimerWheel}), shaped as the event loop builds it: 1 ms resolution, 1024
 * slots. Delays are drawn from [1, {@value #DELAY_MS_MAX}] ms (a Raft tick is 100 ms, a request deadline
 * 5 s), so timers both inside one revolution (1.024 s) and several revolutions away are exercised.
 * <ul>
 *   <li>{@code scheduleCancel}: one schedule and the cancel of that timer, among
 *       {@value #STANDING_TIMERS} live timers (a request answered before its deadline).</li>
 *   <li>{@code scheduleFire}: the clock advances 1 ms, one timer is scheduled, and {@code poll} fires what is
 *       due; in steady state about one timer fires per operation, out of ~{@value #DELAY_MS_MAX}/2 live ones.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TimerWheelBenchmark {

    static final int SLOTS = 1024;
    static final long RESOLUTION_MS = 1;
    static final int TIMERS_MAX = 1 << 16;
    static final int DELAY_MS_MAX = 5_000;
    static final int STANDING_TIMERS = 10_000;
    static final int EXPIRIES_PER_POLL_MAX = 10_000;
    /** A power of two: the delay sequence repeats after this many operations. */
    static final int DELAYS = 1 << 16;

    private final long[] delaysMs = new long[DELAYS];
    private int nextDelay;
    private long fired;
    private final Runnable task = () -> fired++;

    private TimerWheel cancelWheel;
    private long cancelNowMs;

    private TimerWheel fireWheel;
    private long fireNowMs;

    @Setup
    public void setUp() {
        Random random = new Random(42);
        for (int i = 0; i < DELAYS; i++) delaysMs[i] = 1 + random.nextInt(DELAY_MS_MAX);

        cancelNowMs = 1_000_000;
        cancelWheel = new TimerWheel(cancelNowMs, RESOLUTION_MS, SLOTS, TIMERS_MAX);
        // The clock of this wheel never moves, so the standing timers never fire.
        for (int i = 0; i < STANDING_TIMERS; i++) cancelWheel.schedule(cancelNowMs + delaysMs[i], task);

        fireNowMs = 1_000_000;
        fireWheel = new TimerWheel(fireNowMs, RESOLUTION_MS, SLOTS, TIMERS_MAX);
    }

    private long nextDelayMs() {
        long d = delaysMs[nextDelay];
        nextDelay = (nextDelay + 1) & (DELAYS - 1);
        return d;
    }

    @Benchmark
    public boolean scheduleCancel() {
        long id = cancelWheel.schedule(cancelNowMs + nextDelayMs(), task);
        return cancelWheel.cancel(id);
    }

    @Benchmark
    public int scheduleFire() {
        fireNowMs += RESOLUTION_MS;
        fireWheel.schedule(fireNowMs + nextDelayMs(), task);
        return fireWheel.poll(fireNowMs, EXPIRIES_PER_POLL_MAX);
    }
}
