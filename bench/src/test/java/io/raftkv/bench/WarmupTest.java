package io.raftkv.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WarmupTest {

    private static final long MICROS = 1_000;

    @Test
    void settledMeansTwoConsecutiveWindowsWithinTenPercent() {
        Warmup w = new Warmup(10);
        assertFalse(w.add(80 * MICROS * 1_000, 1_000), "one window says nothing");
        assertFalse(w.add(50 * MICROS * 1_000, 1_000), "80 then 50 µs per op");
        assertFalse(w.add(40 * MICROS * 1_000, 0), "a window without operations");
        assertFalse(w.add(40 * MICROS * 1_000, 1_000), "after a window without operations");
        assertTrue(w.add(43 * MICROS * 1_000, 1_000), "40 then 43 µs per op: within 10 %");
        assertEquals(41.5, w.outcome(5, 4_000).microsPerOp(), 1e-9);
        assertTrue(w.outcome(5, 4_000).settled());
        assertFalse(w.add(48 * MICROS * 1_000, 1_000), "43 then 48: 11.6 % apart");
        assertEquals(45.5, w.outcome(6, 5_000).microsPerOp(), 1e-9, "the last two windows, settled or not");
    }

    @Test
    void onlyTheLastWindowsAreKept() {
        Warmup w = new Warmup(3);
        for (int i = 0; i < 10; i++) w.add((100 - i * 5) * MICROS * 1_000, 1_000);
        assertEquals(3, w.outcome(10, 10_000).windowsMicrosPerOp().size());
    }
}
