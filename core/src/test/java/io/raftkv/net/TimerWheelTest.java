package io.raftkv.net;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The timer wheel, driven by a clock the tests move by hand: firing order, cancel, rounds, budgets, timers
 * scheduled from tasks, and a randomized comparison against a sorted reference model.
 */
class TimerWheelTest {

    private static final int ALL = Integer.MAX_VALUE;

    /** Labels of fired tasks, in firing order. */
    private final List<String> fired = new ArrayList<>();

    private Runnable record(String label) {
        return () -> fired.add(label);
    }

    // ---------------------------------------------------------------- order

    @Test
    @DisplayName("timers fire in deadline order across slots and revolutions, not in schedule order")
    void firesInDeadlineOrder() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.schedule(20, record("20"));
        wheel.schedule(3, record("3"));
        wheel.schedule(11, record("11")); // same slot as 3, next revolution
        wheel.schedule(7, record("7"));

        assertEquals(4, wheel.poll(100, ALL));
        assertEquals(List.of("3", "7", "11", "20"), fired);
        assertEquals(0, wheel.size());
    }

    @Test
    @DisplayName("timers with the same deadline fire in schedule order")
    void tiesFireInScheduleOrder() {
        TimerWheel wheel = new TimerWheel(0, 1, 4, 16);
        for (int k = 0; k < 10; k++) wheel.schedule(5, record("t" + k));
        wheel.schedule(4, record("early"));

        wheel.poll(5, ALL);
        assertEquals(List.of("early", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"), fired);
    }

    @Test
    @DisplayName("deadlines inside one coarse tick still fire in exact deadline order, ties in schedule order")
    void exactOrderWithinCoarseTick() {
        TimerWheel wheel = new TimerWheel(0, 100, 4, 16);
        wheel.schedule(190, record("190a"));
        wheel.schedule(150, record("150"));
        wheel.schedule(190, record("190b"));
        wheel.schedule(101, record("101"));

        assertEquals(2, wheel.poll(150, ALL), "only deadlines <= now fire, even inside the tick");
        assertEquals(List.of("101", "150"), fired);
        assertEquals(2, wheel.poll(199, ALL));
        assertEquals(List.of("101", "150", "190a", "190b"), fired);
    }

    @Test
    @DisplayName("many timers scheduled in random order fire in sorted (deadline, schedule) order, each at the first poll at or after its deadline")
    void randomTimersFireInSortedOrder() {
        for (long resolutionMs : new long[] {1, 7}) {
            Random random = new Random(42 + resolutionMs);
            TimerWheel wheel = new TimerWheel(0, resolutionMs, 64, 20_000);
            long[] deadlines = new long[20_000];
            List<Integer> order = new ArrayList<>();
            long[] firedAtMs = new long[deadlines.length];
            long[] nowMs = {0};
            for (int k = 0; k < deadlines.length; k++) {
                deadlines[k] = random.nextInt(50_000); // ~780 revolutions at a resolution of 1
                int id = k;
                wheel.schedule(deadlines[k], () -> {
                    order.add(id);
                    firedAtMs[id] = nowMs[0];
                });
            }
            List<Integer> expected = new ArrayList<>();
            for (int k = 0; k < deadlines.length; k++) expected.add(k);
            expected.sort(Comparator.<Integer>comparingLong(k -> deadlines[k]).thenComparingInt(k -> k));

            while (wheel.size() > 0) {
                nowMs[0] += 1 + random.nextInt(40);
                wheel.poll(nowMs[0], ALL);
            }
            assertEquals(expected, order, "resolution " + resolutionMs);
            for (int k = 0; k < deadlines.length; k++) {
                assertTrue(firedAtMs[k] >= deadlines[k], "timer " + k + " fired early");
                assertTrue(firedAtMs[k] - deadlines[k] <= 40, "timer " + k + " fired a poll late");
            }
        }
    }

    // ---------------------------------------------------------------- cancel

    @Test
    @DisplayName("a cancelled timer never fires; cancelling again, or after firing, returns false")
    void cancel() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        long a = wheel.schedule(5, record("a"));
        long b = wheel.schedule(5, record("b"));
        assertTrue(a > 0 && b > 0 && a != b);

        assertTrue(wheel.cancel(a));
        assertFalse(wheel.cancel(a), "already cancelled");
        assertEquals(1, wheel.size());
        wheel.poll(5, ALL);
        assertEquals(List.of("b"), fired);
        assertFalse(wheel.cancel(b), "already fired");
        assertEquals(0, wheel.size());
    }

    @Test
    @DisplayName("ids that were never handed out cancel nothing")
    void foreignIds() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 4);
        long id = wheel.schedule(5, record("a"));
        for (long bogus : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, id + 1, id & 0xFFFF_FFFFL, id + (1L << 32)}) {
            assertFalse(wheel.cancel(bogus), "id " + bogus);
        }
        assertEquals(1, wheel.size());
    }

    @Test
    @DisplayName("a stale id whose entry was reused returns false and does not cancel the new timer")
    void staleIdDoesNotCancelReusedEntry() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 1); // one entry: the second timer must reuse it
        long old = wheel.schedule(5, record("old"));
        assertTrue(wheel.cancel(old));
        long reused = wheel.schedule(6, record("new"));
        assertFalse(wheel.cancel(old));

        long fired1 = wheel.poll(6, ALL);
        assertEquals(1, fired1);
        assertEquals(List.of("new"), fired);

        long third = wheel.schedule(7, record("third"));
        assertFalse(wheel.cancel(old));
        assertFalse(wheel.cancel(reused), "fired, then its entry reused");
        assertEquals(1, wheel.size());
        assertTrue(wheel.cancel(third));
    }

    @Test
    @DisplayName("a task may cancel a timer due in the same poll, and that timer does not fire")
    void cancelFromTask() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        long[] victim = new long[1];
        boolean[] cancelled = new boolean[2];
        wheel.schedule(5, () -> {
            fired.add("killer");
            cancelled[0] = wheel.cancel(victim[0]);
        });
        victim[0] = wheel.schedule(5, record("victim"));
        long self = wheel.schedule(6, () -> fired.add("self"));
        wheel.schedule(6, () -> cancelled[1] = wheel.cancel(self));

        assertEquals(3, wheel.poll(10, ALL));
        assertEquals(List.of("killer", "self"), fired);
        assertTrue(cancelled[0]);
        assertFalse(cancelled[1], "a timer that already fired cannot be cancelled");
        assertEquals(0, wheel.size());
    }

    // ---------------------------------------------------------------- volume, rounds, past

    @Test
    @DisplayName("100k timers all fire exactly once")
    void hundredThousandTimersFireOnce() {
        int count = 100_000;
        TimerWheel wheel = new TimerWheel(1_000, 1, 512, count);
        Random random = new Random(7);
        int[] fireCounts = new int[count];
        for (int k = 0; k < count; k++) {
            int id = k;
            wheel.schedule(1_000 + random.nextInt(100_000), () -> fireCounts[id]++);
        }
        assertEquals(count, wheel.size());
        long nowMs = 1_000;
        int total = 0;
        while (wheel.size() > 0) {
            nowMs += 97;
            total += wheel.poll(nowMs, 5_000);
        }
        assertEquals(count, total);
        for (int k = 0; k < count; k++) assertEquals(1, fireCounts[k], "timer " + k);
        assertEquals(Long.MAX_VALUE, wheel.nextDeadlineMs());
    }

    @Test
    @DisplayName("deadlines many revolutions away fire neither early nor late, polled every tick or after a long jump")
    void farDeadlines() {
        int slots = 16;
        TimerWheel wheel = new TimerWheel(0, 1, slots, 16);
        long far = 1_000L * slots + 3;
        wheel.schedule(far, record("far"));
        wheel.schedule(3, record("near")); // same slot
        for (long nowMs = 0; nowMs < far; nowMs++) wheel.poll(nowMs, ALL);
        assertEquals(List.of("near"), fired, "the far timer must not fire on an earlier revolution");
        wheel.poll(far, ALL);
        assertEquals(List.of("near", "far"), fired);

        // A clock far ahead of the wheel (a long pause): the poll jumps over empty revolutions.
        long veryFar = 1_000_000_000_000L;
        wheel.schedule(veryFar, record("veryFar"));
        wheel.schedule(veryFar - 5 * slots, record("veryFar-5rev"));
        assertEquals(0, wheel.poll(veryFar - 5 * slots - 1, ALL));
        assertEquals(1, wheel.poll(veryFar - 1, ALL));
        assertEquals(1, wheel.poll(veryFar, ALL));
        assertEquals(List.of("near", "far", "veryFar-5rev", "veryFar"), fired);
    }

    @Test
    @DisplayName("a single poll far ahead fires timers spread over many revolutions, in order")
    void oneLongJumpFiresAllInOrder() {
        TimerWheel wheel = new TimerWheel(-5_000, 3, 8, 64);
        List<Long> deadlines = new ArrayList<>();
        Random random = new Random(3);
        List<Long> order = new ArrayList<>();
        for (int k = 0; k < 50; k++) {
            long d = -5_000 + random.nextInt(10_000_000);
            deadlines.add(d);
            wheel.schedule(d, () -> order.add(d));
        }
        deadlines.sort(null);
        assertEquals(deadlines.get(0), wheel.nextDeadlineMs());
        assertEquals(50, wheel.poll(10_000_000, ALL));
        assertEquals(deadlines, order);
    }

    @Test
    @DisplayName("a deadline in the past fires at the next poll, before timers due later")
    void pastDeadlineFiresAtNextPoll() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.poll(1_000, ALL);
        wheel.schedule(1_000, record("now"));
        wheel.schedule(500, record("past"));
        wheel.schedule(Long.MIN_VALUE, record("dawn of time"));

        assertEquals(Long.MIN_VALUE, wheel.nextDeadlineMs());
        assertEquals(3, wheel.poll(1_000, ALL));
        assertEquals(List.of("dawn of time", "past", "now"), fired);
    }

    // ---------------------------------------------------------------- polling rules

    @Test
    @DisplayName("a timer scheduled by a task at nowMs does not fire in the same poll, but in the next one")
    void timerScheduledDuringPollWaitsForNextPoll() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.schedule(10, () -> {
            fired.add("parent");
            wheel.schedule(10, record("child"));
            wheel.schedule(3, record("child in the past"));
        });
        wheel.schedule(12, record("later"));

        assertEquals(2, wheel.poll(20, ALL));
        assertEquals(List.of("parent", "later"), fired);
        assertEquals(2, wheel.size());
        assertEquals(3, wheel.nextDeadlineMs());
        assertEquals(2, wheel.poll(20, ALL));
        assertEquals(List.of("parent", "later", "child in the past", "child"), fired);
    }

    @Test
    @DisplayName("a task that reschedules itself for now fires once per poll, not forever")
    void selfReschedulingTaskFiresOncePerPoll() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 4);
        int[] runs = {0};
        Runnable[] task = new Runnable[1];
        task[0] = () -> {
            runs[0]++;
            wheel.schedule(0, task[0]);
        };
        wheel.schedule(0, task[0]);
        for (int k = 1; k <= 5; k++) {
            assertEquals(1, wheel.poll(0, ALL));
            assertEquals(k, runs[0]);
        }
    }

    @Test
    @DisplayName("expiriesMax bounds the timers fired per poll; the rest fire on later polls, still in order")
    void expiriesMaxBoundsWork() {
        TimerWheel wheel = new TimerWheel(0, 1, 4, 16);
        List<String> expected = new ArrayList<>();
        for (int k = 0; k < 10; k++) {
            wheel.schedule(k * 3, record("t" + k)); // spread over several revolutions
            expected.add("t" + k);
        }
        assertEquals(0, wheel.poll(100, 0));
        assertEquals(3, wheel.poll(100, 3));
        assertEquals(3, wheel.poll(100, 3));
        assertEquals(3, wheel.poll(100, 3));
        assertEquals(1, wheel.poll(100, 3));
        assertEquals(0, wheel.poll(100, 3));
        assertEquals(expected, fired);
        assertThrows(IllegalArgumentException.class, () -> wheel.poll(100, -1));
    }

    @Test
    @DisplayName("at timersMax schedule throws IllegalStateException and the wheel keeps working")
    void timersMaxReached() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 3);
        long first = wheel.schedule(1, record("a"));
        wheel.schedule(2, record("b"));
        wheel.schedule(3, record("c"));
        IllegalStateException full = assertThrows(IllegalStateException.class, () -> wheel.schedule(4, record("d")));
        assertEquals("timer wheel full: 3 timers", full.getMessage());
        assertEquals(3, wheel.size());

        assertTrue(wheel.cancel(first));
        wheel.schedule(4, record("d"));
        assertEquals(3, wheel.poll(4, ALL));
        assertEquals(List.of("b", "c", "d"), fired);
        for (int k = 0; k < 3; k++) wheel.schedule(10, record("again" + k));
        assertEquals(3, wheel.size());
    }

    @Test
    @DisplayName("a task that throws: the exception propagates, the timer counts as fired, the other due timers fire next poll")
    void throwingTask() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.schedule(5, record("before"));
        long bad = wheel.schedule(5, () -> {
            wheel.schedule(5, record("scheduled by the bad task"));
            throw new IllegalArgumentException("boom");
        });
        wheel.schedule(5, record("after"));
        wheel.schedule(9, record("later"));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wheel.poll(10, ALL));
        assertEquals("boom", e.getMessage());
        assertEquals(List.of("before"), fired);
        assertFalse(wheel.cancel(bad), "the throwing timer counts as fired");
        assertEquals(3, wheel.size());
        assertTrue(wheel.nextDeadlineMs() <= 5);

        assertEquals(3, wheel.poll(10, ALL));
        assertEquals(List.of("before", "after", "scheduled by the bad task", "later"), fired);
    }

    @Test
    @DisplayName("poll from inside a task is refused")
    void pollIsNotReentrant() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.schedule(1, () -> wheel.poll(1, ALL));
        assertThrows(IllegalStateException.class, () -> wheel.poll(1, ALL));
        wheel.schedule(2, record("fine"));
        assertEquals(1, wheel.poll(2, ALL));
    }

    @Test
    @DisplayName("a clock going backwards fires nothing early and loses nothing")
    void timeGoingBackwardsIsHarmless() {
        TimerWheel wheel = new TimerWheel(0, 1, 8, 16);
        wheel.schedule(1_001, record("1001"));
        wheel.poll(1_000, ALL);
        wheel.schedule(600, record("600")); // in the wheel's past

        assertEquals(0, wheel.poll(500, ALL));
        assertEquals(1, wheel.poll(700, ALL), "due by the clock, even though the wheel is ahead of it");
        assertEquals(0, wheel.poll(0, ALL));
        assertEquals(1_001, wheel.nextDeadlineMs());
        assertEquals(1, wheel.poll(1_001, ALL));
        assertEquals(List.of("600", "1001"), fired);
    }

    // ---------------------------------------------------------------- nextDeadlineMs

    @Test
    @DisplayName("nextDeadlineMs: MAX_VALUE when empty, exact without cancels, never later than the earliest live deadline")
    void nextDeadline() {
        TimerWheel wheel = new TimerWheel(0, 1, 16, 1_000);
        assertEquals(Long.MAX_VALUE, wheel.nextDeadlineMs());

        Random random = new Random(11);
        TreeSet<Long> live = new TreeSet<>();
        Map<Long, Long> idByDeadline = new HashMap<>();
        long nowMs = 0;
        for (int k = 0; k < 300; k++) {
            long d = nowMs + 1 + random.nextInt(1_000);
            if (live.add(d)) idByDeadline.put(d, wheel.schedule(d, () -> { }));
            assertEquals(live.first(), wheel.nextDeadlineMs());
        }
        while (!live.isEmpty()) {
            nowMs += random.nextInt(10);
            wheel.poll(nowMs, ALL);
            live.headSet(nowMs, true).clear();
            assertEquals(live.isEmpty() ? Long.MAX_VALUE : live.first(), wheel.nextDeadlineMs(), "no cancel yet: exact");
        }

        for (int k = 0; k < 300; k++) {
            long d = nowMs + 1 + random.nextInt(1_000);
            if (live.add(d)) idByDeadline.put(d, wheel.schedule(d, () -> { }));
        }
        while (!live.isEmpty()) {
            if (random.nextBoolean()) {
                long d = live.first();
                live.remove(d);
                assertTrue(wheel.cancel(idByDeadline.get(d)));
            } else {
                nowMs += random.nextInt(10);
                wheel.poll(nowMs, ALL);
                live.headSet(nowMs, true).clear();
            }
            long trueEarliest = live.isEmpty() ? Long.MAX_VALUE : live.first();
            assertTrue(wheel.nextDeadlineMs() <= trueEarliest);
        }
        assertEquals(Long.MAX_VALUE, wheel.nextDeadlineMs(), "every list empty again");
    }

    // ---------------------------------------------------------------- against a reference model

    private record ModelTimer(long deadlineMs, long seq, long id) {
    }

    @Test
    @DisplayName("random schedules, cancels and polls (clock jumps and steps back too) match a sorted reference model")
    void matchesReferenceModel() {
        long[][] shapes = {{1, 1}, {1, 8}, {3, 2}, {16, 64}, {1, 1024}};
        for (long[] shape : shapes) {
            for (int seed = 0; seed < 40; seed++) {
                runAgainstModel(seed, shape[0], (int) shape[1]);
            }
        }
    }

    private void runAgainstModel(long seed, long resolutionMs, int slots) {
        String where = "seed " + seed + ", resolution " + resolutionMs + ", slots " + slots;
        Random random = new Random(seed);
        int timersMax = 48;
        long startMs = random.nextInt(2_000) - 1_000;
        TimerWheel wheel = new TimerWheel(startMs, resolutionMs, slots, timersMax);
        TreeSet<ModelTimer> model = new TreeSet<>(
                Comparator.comparingLong(ModelTimer::deadlineMs).thenComparingLong(ModelTimer::seq));
        Map<Long, ModelTimer> byId = new HashMap<>();
        List<Long> idsEverIssued = new ArrayList<>();
        List<Long> firedSeqs = new ArrayList<>();
        long[] nextSeq = {0};
        long[] nowMs = {startMs};
        long revolutionMs = resolutionMs * slots;

        for (int step = 0; step < 1_500; step++) {
            int op = random.nextInt(10);
            if (op < 5) {
                long d = switch (random.nextInt(4)) {
                    case 0 -> nowMs[0] - random.nextInt(50);                 // past
                    case 1 -> nowMs[0] + random.nextInt((int) revolutionMs + 1);
                    case 2 -> nowMs[0] + random.nextInt((int) (5 * revolutionMs) + 1);
                    default -> nowMs[0] + random.nextInt(100 * (int) revolutionMs + 1);
                };
                scheduleBoth(wheel, model, byId, idsEverIssued, firedSeqs, nextSeq, nowMs, random, d, where);
            } else if (op < 7 && !idsEverIssued.isEmpty()) {
                long id = idsEverIssued.get(random.nextInt(idsEverIssued.size()));
                ModelTimer t = byId.remove(id);
                if (t != null) model.remove(t);
                assertEquals(t != null, wheel.cancel(id), where + ", cancel at step " + step);
            } else {
                nowMs[0] += switch (random.nextInt(6)) {
                    case 0 -> -random.nextInt(20);                          // clock steps back
                    case 1 -> random.nextInt(50 * (int) revolutionMs);      // long pause
                    default -> random.nextInt((int) resolutionMs * 4 + 1);
                };
                int budget = random.nextBoolean() ? ALL : random.nextInt(6);
                List<Long> expected = new ArrayList<>();
                for (ModelTimer t : model) {
                    if (t.deadlineMs() > nowMs[0] || expected.size() == budget) break;
                    expected.add(t.seq());
                }
                for (long seq : expected) {
                    ModelTimer t = model.pollFirst();
                    assertEquals(seq, t.seq());
                    byId.remove(t.id());
                }
                firedSeqs.clear();
                int count = wheel.poll(nowMs[0], budget);
                assertEquals(expected, firedSeqs.subList(0, count), where + ", poll at step " + step);
                assertEquals(expected.size(), count, where + ", poll at step " + step);
            }
            assertEquals(model.size(), wheel.size(), where + ", step " + step);
            long earliest = model.isEmpty() ? Long.MAX_VALUE : model.first().deadlineMs();
            if (model.isEmpty()) {
                assertEquals(Long.MAX_VALUE, wheel.nextDeadlineMs(), where + ", step " + step);
            } else {
                assertTrue(wheel.nextDeadlineMs() <= earliest, where + ", step " + step);
            }
        }
    }

    /** Schedules one timer in the wheel and the model; its task records its seq and sometimes schedules a child. */
    private void scheduleBoth(TimerWheel wheel, TreeSet<ModelTimer> model, Map<Long, ModelTimer> byId,
                              List<Long> idsEverIssued, List<Long> firedSeqs, long[] nextSeq, long[] nowMs,
                              Random random, long deadlineMs, String where) {
        if (wheel.size() == 48) {
            assertThrows(IllegalStateException.class, () -> wheel.schedule(deadlineMs, () -> { }), where);
            return;
        }
        long seq = nextSeq[0]++;
        boolean spawns = random.nextInt(4) == 0;
        long childDelayMs = random.nextInt(3) - 1;
        long id = wheel.schedule(deadlineMs, () -> {
            firedSeqs.add(seq);
            // Children are born during the poll: the model expects them in a later one. The wheel, not the
            // model, is the one to ask about room: the model already dropped the whole poll's timers.
            if (spawns && wheel.size() < 48) {
                scheduleBoth(wheel, model, byId, idsEverIssued, firedSeqs, nextSeq, nowMs, random,
                        nowMs[0] + childDelayMs, where);
            }
        });
        assertTrue(id > 0);
        ModelTimer t = new ModelTimer(deadlineMs, seq, id);
        model.add(t);
        byId.put(id, t);
        idsEverIssued.add(id);
    }

    // ---------------------------------------------------------------- construction

    @Test
    @DisplayName("constructor rejects a non-positive resolution, slots not a power of two, and bad timersMax")
    void constructorValidation() {
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 0, 8, 8));
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 1, 6, 8));
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 1, 0, 8));
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 1, TimerWheel.SLOTS_MAX * 2, 8));
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 1, 8, 0));
        assertThrows(IllegalArgumentException.class, () -> new TimerWheel(0, 1, 8, TimerWheel.TIMERS_MAX_LIMIT + 1));
        assertThrows(NullPointerException.class, () -> new TimerWheel(0, 1, 8, 8).schedule(1, null));
    }
}
