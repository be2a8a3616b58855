package io.raftkv.sim;

import java.util.PriorityQueue;
import java.util.regex.Pattern;

/**
 * The simulation's single clock and agenda: events run in (time, insertion) order, so one seed gives one
 * run. The last events are kept for the failure report.
 */
final class SimEvents {

    private record Event(long timeMs, long seq, Object label, Runnable action) { }

    private static final int TRACE_EVENTS_MAX = 400;
    /**
     * {@code -Draftkv.sim.trace=REGEX}: every event whose label matches is printed as it runs, for a replayed seed whose
     * story starts long before the last events of its failure report (e.g. {@code 'OPERATOR|STOP|CRASH|NEMESIS|LEADER'}).
     */
    private static final Pattern TRACE_PRINTED = System.getProperty("raftkv.sim.trace") == null ? null : Pattern.compile(System.getProperty("raftkv.sim.trace"));

    private final PriorityQueue<Event> queue = new PriorityQueue<>(
            (a, b) -> a.timeMs != b.timeMs ? Long.compare(a.timeMs, b.timeMs) : Long.compare(a.seq, b.seq));
    private final Object[] trace = new Object[TRACE_EVENTS_MAX];
    private final long[] traceTimes = new long[TRACE_EVENTS_MAX];
    private long traced;
    private long seq;
    private long nowMs;
    long executed;

    long nowMs() {
        return nowMs;
    }

    /** Schedules {@code action} in {@code delayMs}; {@code label}'s toString is only called for a failure report. */
    void after(long delayMs, Object label, Runnable action) {
        queue.add(new Event(nowMs + delayMs, seq++, label, action));
    }

    /** Runs events until the clock passes {@code untilMs} or {@code stop} holds; returns false when the agenda empties. */
    boolean runUntil(long untilMs, java.util.function.BooleanSupplier stop, Runnable afterEach) {
        while (!queue.isEmpty() && queue.peek().timeMs <= untilMs) {
            Event e = queue.poll();
            nowMs = e.timeMs;
            note(e.label);
            e.action.run();
            executed++;
            afterEach.run();
            if (stop.getAsBoolean()) return true;
        }
        nowMs = Math.max(nowMs, untilMs);
        return !queue.isEmpty();
    }

    void note(Object label) {
        if (TRACE_PRINTED != null) {
            String text = String.valueOf(label);
            if (TRACE_PRINTED.matcher(text).find()) System.out.printf("%8dms  %s%n", nowMs, text);
        }
        int i = (int) (traced++ % TRACE_EVENTS_MAX);
        trace[i] = label;
        traceTimes[i] = nowMs;
    }

    String lastEvents(int count) {
        StringBuilder b = new StringBuilder();
        long n = Math.min(Math.min(count, TRACE_EVENTS_MAX), traced);
        for (long k = traced - n; k < traced; k++) {
            int i = (int) (k % TRACE_EVENTS_MAX);
            b.append(String.format("  %8dms  %s%n", traceTimes[i], trace[i]));
        }
        return b.toString();
    }
}
