package io.raftkv.net;

import java.util.Arrays;
import java.util.Objects;

/**
 * A hashed timer wheel for the node's event-loop thread, in the shape of Agrona's {@code DeadlineTimerWheel}:
 * it owns no thread and takes no locks. The loop asks {@link #nextDeadlineMs()} how long it may block in
 * {@code select()}, then calls {@link #poll(long, int)} with the clock's time to fire what is due, a bounded
 * number at a time. Every method must be called from the owning thread, including from inside a task.
 *
 * <p><b>Layout.</b> Time is cut into ticks of {@code resolutionMs}; tick {@code t} lives in slot
 * {@code t & (slots - 1)}, so one slot holds the timers of every revolution of the wheel that maps to it, and
 * a timer records its own tick to tell its round from the others (a deadline many revolutions away simply
 * waits in its slot until the wheel reaches its tick). A timer is an index into preallocated parallel arrays
 * (deadline, tick, task, links); each slot is a doubly linked list through those arrays so that cancel unlinks
 * in O(1), and free entries form a singly linked free list, so schedule and cancel allocate nothing.
 *
 * <p><b>Order.</b> {@code poll} visits ticks in increasing order. Within a tick it fires the due timers sorted
 * by deadline with a stable sort; a slot's list is always in schedule order (timers are only ever appended,
 * see below), so ties keep schedule order. A timer whose deadline has passed is put in the wheel's current
 * tick, ahead of every other live timer's tick, so the order is exact at any resolution, not only to within
 * one tick.
 *
 * <p><b>Timers scheduled while polling.</b> They wait in a separate pending list and enter the wheel when
 * {@code poll} returns (or throws). This is what keeps them out of the poll that created them, and it keeps the
 * slot lists in schedule order: everything pending is younger than everything already in a slot.
 *
 * <p><b>Ids.</b> A timer id is {@code generation << 32 | index}. The entry's generation is bumped every time
 * it is freed, so an id kept after its timer fired or was cancelled names no live timer even once the entry
 * is reused. Generations wrap after 2^31 reuses of one entry; a stale id that old could cancel a newer timer.
 *
 * <p><b>Costs.</b> schedule and cancel are O(1). {@link #nextDeadlineMs()} is O(slots): each slot keeps a
 * lower bound of its deadlines, exact except that cancel does not raise it (a cancelled earliest timer may
 * cause one early wake-up; the next poll over that tick makes the bound exact again). {@code poll} walks tick
 * by tick (O(1) for an empty tick) and, when the clock is more than one revolution ahead, jumps to the earliest
 * occupied tick with an O(slots) scan; a tick it visits costs O(timers in that slot) plus the sort of the due
 * ones. Memory is preallocated: about 50 bytes per timer of {@code timersMax}, and 24 bytes per slot.
 */
public final class TimerWheel {

    /** A wheel is scanned whole by nextDeadlineMs() on every loop turn; beyond this that scan stops being cheap. */
    public static final int SLOTS_MAX = 1 << 20;

    /** Keeps every array index and the merge sort's run widths far from int overflow. */
    public static final int TIMERS_MAX_LIMIT = 1 << 24;

    private static final int NONE = -1;
    private static final int GENERATION_FIRST = 1;

    private final long resolutionMs;
    private final int slots;
    private final int slotMask;
    private final int timersMax;
    /** The list id of the pending list; lists 0 .. slots-1 are the slots. */
    private final int pendingList;

    // Per timer entry, indexed by the low half of its id.
    private final long[] deadlinesMs;
    /** The tick whose slot holds the entry: its deadline's tick, or the wheel's tick then if that was later. */
    private final long[] ticks;
    private final Runnable[] tasks;
    private final int[] generations;
    private final int[] nexts;
    private final int[] prevs;
    /** The list holding the entry (a slot or the pending list), or NONE when the entry is free. */
    private final int[] listOf;

    // Per list: the slots, then the pending list.
    private final int[] heads;
    private final int[] tails;
    /** Lower bound of the deadlines in each list, Long.MAX_VALUE when it is empty. */
    private final long[] listDeadlineMinMs;
    /** Per slot only: lower bound of the ticks in the slot, Long.MAX_VALUE when it is empty. */
    private final long[] slotTickMin;

    // Scratch space for one tick's due timers: a tick can hold every timer.
    private final int[] due;
    private final int[] sortScratch;

    /** Every entry in a slot has a tick at or after this one; poll never moves it past a timer left unfired. */
    private long currentTick;
    private int freeHead;
    private int size;
    private boolean polling;

    /**
     * @param startMs the clock's current time, in the same clock as {@link #poll(long, int)}'s {@code nowMs}
     * @param resolutionMs the width of one slot; deadlines in one tick still fire in exact order
     * @param slots the number of slots, a power of two; one revolution is {@code slots * resolutionMs}
     * @param timersMax the bound on live timers, memory for which is allocated now
     */
    public TimerWheel(long startMs, long resolutionMs, int slots, int timersMax) {
        if (resolutionMs < 1) throw new IllegalArgumentException("resolutionMs must be at least 1: " + resolutionMs);
        if (slots < 1 || slots > SLOTS_MAX || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("slots must be a power of two in [1, " + SLOTS_MAX + "]: " + slots);
        }
        if (timersMax < 1 || timersMax > TIMERS_MAX_LIMIT) {
            throw new IllegalArgumentException("timersMax must be in [1, " + TIMERS_MAX_LIMIT + "]: " + timersMax);
        }
        this.resolutionMs = resolutionMs;
        this.slots = slots;
        this.slotMask = slots - 1;
        this.timersMax = timersMax;
        this.pendingList = slots;

        deadlinesMs = new long[timersMax];
        ticks = new long[timersMax];
        tasks = new Runnable[timersMax];
        generations = new int[timersMax];
        nexts = new int[timersMax];
        prevs = new int[timersMax];
        listOf = new int[timersMax];
        for (int i = 0; i < timersMax; i++) {
            generations[i] = GENERATION_FIRST;
            listOf[i] = NONE;
            nexts[i] = i + 1 < timersMax ? i + 1 : NONE;
        }
        freeHead = 0;

        heads = new int[slots + 1];
        tails = new int[slots + 1];
        listDeadlineMinMs = new long[slots + 1];
        for (int list = 0; list <= slots; list++) {
            heads[list] = NONE;
            tails[list] = NONE;
            listDeadlineMinMs[list] = Long.MAX_VALUE;
        }
        slotTickMin = new long[slots];
        Arrays.fill(slotTickMin, Long.MAX_VALUE);

        due = new int[timersMax];
        sortScratch = new int[timersMax];
        currentTick = Math.floorDiv(startMs, resolutionMs);
    }

    /**
     * Schedules {@code task} to run at {@code deadlineMs} (absolute, same clock as {@code poll}'s {@code nowMs}).
     * A deadline in the past fires at the next poll; a timer scheduled by a task during a poll never fires in
     * that same poll.
     *
     * @return the timer's id, always {@code > 0}
     * @throws IllegalStateException when {@code timersMax} timers are live
     */
    public long schedule(long deadlineMs, Runnable task) {
        Objects.requireNonNull(task, "task");
        if (freeHead == NONE) throw new IllegalStateException("timer wheel full: " + timersMax + " timers");
        int i = freeHead;
        freeHead = nexts[i];
        deadlinesMs[i] = deadlineMs;
        tasks[i] = task;
        if (polling) {
            append(pendingList, i);
        } else {
            place(i);
        }
        size++;
        return ((long) generations[i] << 32) | i;
    }

    /** Cancels the timer in O(1); false when it already fired, was already cancelled, or the id is not one of ours. */
    public boolean cancel(long timerId) {
        int i = (int) timerId;
        int generation = (int) (timerId >>> 32);
        if (i < 0 || i >= timersMax || listOf[i] == NONE || generations[i] != generation) return false;
        release(i);
        return true;
    }

    /**
     * Fires, in deadline order (ties in schedule order), every timer whose deadline is at or before {@code nowMs},
     * but at most {@code expiriesMax} of them; the rest stay due for the next poll. A clock that went backwards
     * does no harm: nothing fires early and no timer is lost. A task that throws counts as fired, and its
     * exception propagates once the wheel is consistent again. Must not be called from a task.
     *
     * @return how many timers fired
     */
    public int poll(long nowMs, int expiriesMax) {
        if (expiriesMax < 0) throw new IllegalArgumentException("expiriesMax must not be negative: " + expiriesMax);
        if (polling) throw new IllegalStateException("poll called from a timer task");
        polling = true;
        int fired = 0;
        try {
            // The wheel never goes back: a clock behind it only limits which deadlines count as due.
            long nowTick = Math.max(Math.floorDiv(nowMs, resolutionMs), currentTick);
            while (fired < expiriesMax) {
                int slot = (int) (currentTick & slotMask);
                if (slotTickMin[slot] <= currentTick) {
                    fired += expireCurrentTick(slot, nowMs, expiriesMax - fired);
                    // Out of budget: the tick may still hold due timers, so the wheel must stay on it.
                    if (fired == expiriesMax) break;
                }
                if (currentTick == nowTick) break;
                currentTick = nextTickToVisit(nowTick);
            }
        } finally {
            polling = false;
            enterPending();
        }
        return fired;
    }

    /**
     * The earliest deadline of a live timer, or {@code Long.MAX_VALUE} when there is none, in O(slots). It may be
     * earlier than the true one after the earliest timer was cancelled, never later.
     */
    public long nextDeadlineMs() {
        long earliest = Long.MAX_VALUE;
        for (long deadlineMs : listDeadlineMinMs) {
            earliest = Math.min(earliest, deadlineMs);
        }
        return earliest;
    }

    /** The number of live timers: scheduled, and neither fired nor cancelled. */
    public int size() {
        return size;
    }

    /**
     * Fires the due timers of the current tick in deadline order, at most {@code budget} of them, and makes the
     * slot's bounds exact for what is left.
     */
    private int expireCurrentTick(int slot, long nowMs, int budget) {
        long tick = currentTick;
        int dueCount = 0;
        long restTickMin = Long.MAX_VALUE;
        long restDeadlineMinMs = Long.MAX_VALUE;
        for (int i = heads[slot]; i != NONE; i = nexts[i]) {
            if (ticks[i] < tick) throw new IllegalStateException("timer " + i + " left behind the wheel at tick " + ticks[i] + ", the wheel is at " + tick);
            if (ticks[i] == tick && deadlinesMs[i] <= nowMs) {
                due[dueCount++] = i;
            } else {
                restTickMin = Math.min(restTickMin, ticks[i]);
                restDeadlineMinMs = Math.min(restDeadlineMinMs, deadlinesMs[i]);
            }
        }
        if (dueCount == 0) {
            slotTickMin[slot] = restTickMin;
            listDeadlineMinMs[slot] = restDeadlineMinMs;
            return 0;
        }
        sortByDeadline(dueCount);
        // While due timers remain in the slot the bounds must cover them: a task may throw and leave them there.
        slotTickMin[slot] = tick;
        listDeadlineMinMs[slot] = Math.min(restDeadlineMinMs, deadlinesMs[due[0]]);

        int fired = 0;
        int d = 0;
        while (d < dueCount && fired < budget) {
            int i = due[d++];
            // An earlier task cancelled it; its entry may even be reused, but only by the pending list.
            if (listOf[i] != slot) continue;
            Runnable task = tasks[i];
            release(i);
            fired++;
            task.run();
        }
        while (d < dueCount && listOf[due[d]] != slot) d++;
        if (heads[slot] == NONE) {
            return fired; // release() already marked the slot empty
        }
        if (d == dueCount) {
            slotTickMin[slot] = restTickMin;
            listDeadlineMinMs[slot] = restDeadlineMinMs;
        } else {
            listDeadlineMinMs[slot] = Math.min(restDeadlineMinMs, deadlinesMs[due[d]]);
        }
        return fired;
    }

    /**
     * The tick after the current one, or, when the clock is more than a revolution ahead, the earliest tick that
     * may hold a timer (capped at {@code nowTick}): walking costs O(1) per tick, the jump O(slots), so the walk
     * wins up to one revolution and the jump beyond it.
     */
    private long nextTickToVisit(long nowTick) {
        long next = currentTick + 1;
        if (nowTick - next < slots) return next;
        long earliest = Long.MAX_VALUE;
        for (int slot = 0; slot < slots; slot++) {
            if (slotTickMin[slot] == Long.MAX_VALUE) continue;
            long from = Math.max(next, slotTickMin[slot]);
            earliest = Math.min(earliest, from + ((slot - from) & slotMask));
        }
        return Math.min(earliest, nowTick);
    }

    /** Moves the timers scheduled during a poll into the wheel, in schedule order. */
    private void enterPending() {
        int i = heads[pendingList];
        heads[pendingList] = NONE;
        tails[pendingList] = NONE;
        listDeadlineMinMs[pendingList] = Long.MAX_VALUE;
        while (i != NONE) {
            int next = nexts[i];
            place(i);
            i = next;
        }
    }

    /** Appends entry {@code i} to the slot of its deadline's tick, or of the current tick if that is later. */
    private void place(int i) {
        long tick = Math.max(Math.floorDiv(deadlinesMs[i], resolutionMs), currentTick);
        int slot = (int) (tick & slotMask);
        ticks[i] = tick;
        append(slot, i);
        slotTickMin[slot] = Math.min(slotTickMin[slot], tick);
    }

    private void append(int list, int i) {
        int tail = tails[list];
        prevs[i] = tail;
        nexts[i] = NONE;
        if (tail == NONE) {
            heads[list] = i;
        } else {
            nexts[tail] = i;
        }
        tails[list] = i;
        listOf[i] = list;
        listDeadlineMinMs[list] = Math.min(listDeadlineMinMs[list], deadlinesMs[i]);
    }

    /** Unlinks entry {@code i} from its list and frees it; its id stops being valid. */
    private void release(int i) {
        int list = listOf[i];
        int prev = prevs[i];
        int next = nexts[i];
        if (prev == NONE) {
            heads[list] = next;
        } else {
            nexts[prev] = next;
        }
        if (next == NONE) {
            tails[list] = prev;
        } else {
            prevs[next] = prev;
        }
        if (heads[list] == NONE) {
            listDeadlineMinMs[list] = Long.MAX_VALUE;
            if (list != pendingList) slotTickMin[list] = Long.MAX_VALUE;
        }
        listOf[i] = NONE;
        tasks[i] = null;
        generations[i] = generations[i] == Integer.MAX_VALUE ? GENERATION_FIRST : generations[i] + 1;
        nexts[i] = freeHead;
        freeHead = i;
        size--;
    }

    /**
     * Stable sort of {@code due[0, count)} by deadline, so equal deadlines keep schedule order. Usually already
     * sorted (with a resolution of 1 a tick's timers share one deadline), which one pass detects; otherwise a
     * bottom-up merge sort, because a single tick may hold thousands of timers.
     */
    private void sortByDeadline(int count) {
        boolean sorted = true;
        for (int k = 1; k < count && sorted; k++) {
            sorted = deadlinesMs[due[k - 1]] <= deadlinesMs[due[k]];
        }
        if (sorted) return;
        int[] from = due;
        int[] to = sortScratch;
        for (int width = 1; width < count; width *= 2) {
            for (int lo = 0; lo < count; lo += 2 * width) {
                int mid = Math.min(lo + width, count);
                int hi = Math.min(lo + 2 * width, count);
                int a = lo;
                int b = mid;
                for (int k = lo; k < hi; k++) {
                    // Taking from the left run on ties is what makes the sort stable.
                    if (a < mid && (b >= hi || deadlinesMs[from[a]] <= deadlinesMs[from[b]])) {
                        to[k] = from[a++];
                    } else {
                        to[k] = from[b++];
                    }
                }
            }
            int[] swap = from;
            from = to;
            to = swap;
        }
        if (from != due) System.arraycopy(from, 0, due, 0, count);
    }
}
