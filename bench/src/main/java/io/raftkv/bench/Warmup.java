package io.raftkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * When a load generator is warm: its own CPU per operation, measured over consecutive windows, has stopped falling.
 * A client JVM that is still compiling (jetcd's gRPC and Netty take tens of thousands of operations) spends more CPU
 * per operation and slows the nodes it shares the cores with, so a run measured before that compares a cold client
 * with a warm one. Settled: two consecutive windows within {@link #TOLERANCE} of each other. Not thread-safe: the
 * run's controller alone feeds it.
 */
final class Warmup {

    /** Two windows this close (relative to the smaller) count as settled. */
    static final double TOLERANCE = 0.10;

    /** What the warm-up came to: its length, the CPU per operation of every window, and whether it settled. */
    record Outcome(double seconds, long ops, boolean settled, List<Double> windowsMicrosPerOp) {

        static final Outcome NONE = new Outcome(0, 0, false, List.of());

        /** The settled CPU per operation: the mean of the last two windows (the last one alone when there is one). */
        double microsPerOp() {
            int n = windowsMicrosPerOp.size();
            if (n == 0) return 0;
            if (n == 1) return windowsMicrosPerOp.get(0);
            return (windowsMicrosPerOp.get(n - 1) + windowsMicrosPerOp.get(n - 2)) / 2;
        }

        String text() {
            if (windowsMicrosPerOp.isEmpty()) return String.format(Locale.ROOT, "warm-up %.1f s, %,d ops (CPU not followed)", seconds, ops);
            String windows = windowsMicrosPerOp.stream().map(w -> String.format(Locale.ROOT, "%.1f", w)).collect(Collectors.joining(", "));
            return String.format(Locale.ROOT, "warm-up %.1f s, %,d ops: client CPU per op %s at %.1f µs (windows: %s µs)", seconds, ops,
                    settled ? "settled" : "NOT settled (the warm-up's limit came first)", microsPerOp(), windows);
        }
    }

    private final List<Double> windows = new ArrayList<>();
    private final int windowsMax;

    /** {@code windowsMax}: how many windows fit in the longest warm-up; older ones are dropped beyond it. */
    Warmup(int windowsMax) {
        if (windowsMax < 2) throw new IllegalArgumentException("a warm-up needs room for two windows, not " + windowsMax);
        this.windowsMax = windowsMax;
    }

    /** A window in which this process spent {@code cpuNanos} for {@code ops} operations; true once settled. */
    boolean add(long cpuNanos, long ops) {
        windows.add(ops == 0 ? Double.POSITIVE_INFINITY : cpuNanos / 1000.0 / ops);
        if (windows.size() > windowsMax) windows.remove(0);
        return settled();
    }

    boolean settled() {
        int n = windows.size();
        if (n < 2) return false;
        double a = windows.get(n - 2);
        double b = windows.get(n - 1);
        if (Double.isInfinite(a) || Double.isInfinite(b)) return false;
        return Math.abs(a - b) <= TOLERANCE * Math.min(a, b);
    }

    Outcome outcome(double seconds, long ops) {
        return new Outcome(seconds, ops, settled(), windows.stream().filter(Double::isFinite).toList());
    }
}
