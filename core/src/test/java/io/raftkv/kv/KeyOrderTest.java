package io.raftkv.kv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store's key order against a TreeMap, through adds and removes that split, merge and empty its leaves. */
class KeyOrderTest {

    private static final java.util.Comparator<byte[]> UNSIGNED = Arrays::compareUnsigned;

    @Test
    void agreesWithATreeMapThroughAddsRemovesAndRanges() {
        Random random = new Random(11);
        KeyOrder order = new KeyOrder();
        TreeMap<byte[], MvccStore.KeyEntry> oracle = new TreeMap<>(UNSIGNED);
        for (int step = 0; step < 100_000; step++) {
            // Phases that grow the tree to many leaves, then shrink it to nothing, so leaves split, merge and vanish.
            boolean growing = (step / 20_000) % 2 == 0;
            byte[] key = randomKey(random);
            MvccStore.KeyEntry held = oracle.get(key);
            if (held == null && (growing ? random.nextInt(4) > 0 : random.nextInt(4) == 0)) {
                MvccStore.KeyEntry e = new MvccStore.KeyEntry(key, null);
                order.add(e);
                oracle.put(key, e);
            } else if (held != null && (growing ? random.nextInt(4) == 0 : true)) {
                order.remove(held);
                oracle.remove(key);
            } else if (!growing && !oracle.isEmpty()) {
                MvccStore.KeyEntry first = oracle.pollFirstEntry().getValue();
                order.remove(first);
            }
            assertEquals(oracle.size(), order.size());
            if (step % 97 == 0) assertRangesAgree(order, oracle, random);
        }
        assertRangesAgree(order, oracle, random);
    }

    @Test
    void keysAddedInOrderFillWholeLeavesAndWalkBothWays() {
        KeyOrder order = new KeyOrder();
        TreeMap<byte[], MvccStore.KeyEntry> oracle = new TreeMap<>(UNSIGNED);
        for (int i = 0; i < 10 * KeyOrder.LEAF_MAX + 3; i++) {
            byte[] key = {(byte) (i >> 8), (byte) i};
            MvccStore.KeyEntry e = new MvccStore.KeyEntry(key, null);
            order.add(e);
            oracle.put(key, e);
        }
        assertEquals(new ArrayList<>(oracle.values()), flat(order.copy()));
        assertEquals(walk(order.range(new byte[0], null, false)), new ArrayList<>(oracle.values()));
        List<MvccStore.KeyEntry> reversed = new ArrayList<>(oracle.values());
        Collections.reverse(reversed);
        assertEquals(reversed, walk(order.range(new byte[0], null, true)));
        // A bound that falls on a leaf's edge.
        byte[] edge = {0, (byte) KeyOrder.LEAF_MAX};
        assertEquals(new ArrayList<>(oracle.headMap(edge, false).values()), walk(order.range(new byte[0], edge, false)));
        assertEquals(new ArrayList<>(oracle.tailMap(edge, true).values()), walk(order.range(edge, null, false)));
    }

    @Test
    void anEmptiedOrderHasNothingToWalkAndTakesKeysAgain() {
        KeyOrder order = new KeyOrder();
        assertTrue(walk(order.range(new byte[0], null, false)).isEmpty());
        MvccStore.KeyEntry a = new MvccStore.KeyEntry(new byte[]{1}, null);
        order.add(a);
        order.remove(a);
        assertTrue(walk(order.range(new byte[0], null, true)).isEmpty());
        assertThrows(IllegalStateException.class, () -> order.remove(a));
        order.add(a);
        assertThrows(IllegalStateException.class, () -> order.add(new MvccStore.KeyEntry(new byte[]{1}, null)));
        assertEquals(List.of(a), walk(order.range(new byte[]{1}, new byte[]{2}, false)));
    }

    private static byte[] randomKey(Random random) {
        // Short keys over a small alphabet: many share a prefix, some are prefixes of others, byte 0xff included.
        byte[] key = new byte[1 + random.nextInt(3)];
        for (int i = 0; i < key.length; i++) key[i] = (byte) (random.nextInt(3) == 0 ? 0xff : random.nextInt(24));
        return key;
    }

    private static void assertRangesAgree(KeyOrder order, TreeMap<byte[], MvccStore.KeyEntry> oracle, Random random) {
        assertEquals(new ArrayList<>(oracle.values()), flat(order.copy()));
        for (int i = 0; i < 5; i++) {
            byte[] from = randomKey(random);
            byte[] to = random.nextInt(5) == 0 ? null : randomKey(random);
            if (to != null && Arrays.compareUnsigned(from, to) > 0) {
                byte[] t = from;
                from = to;
                to = t;
            }
            NavigableMap<byte[], MvccStore.KeyEntry> expected = to == null ? oracle.tailMap(from, true) : oracle.subMap(from, true, to, false);
            assertEquals(new ArrayList<>(expected.values()), walk(order.range(from, to, false)));
            assertEquals(new ArrayList<>(expected.descendingMap().values()), walk(order.range(from, to, true)));
            // A short range too, as most are: its end in the leaf of its start, the next one, or further.
            byte[] end = keyAfter(oracle, from, random.nextInt(3 * KeyOrder.LEAF_MAX));
            if (end != null) {
                assertEquals(new ArrayList<>(oracle.subMap(from, true, end, false).values()), walk(order.range(from, end, false)));
                assertEquals(new ArrayList<>(oracle.subMap(from, true, end, false).descendingMap().values()), walk(order.range(from, end, true)));
            }
        }
    }

    /** The key {@code steps} keys after the first at or above {@code from}, and a byte more, or null past the last. */
    private static byte[] keyAfter(TreeMap<byte[], MvccStore.KeyEntry> oracle, byte[] from, int steps) {
        for (byte[] key : oracle.tailMap(from, true).keySet()) {
            if (steps-- == 0) return Arrays.copyOf(key, key.length + 1);
        }
        return null;
    }

    private static List<MvccStore.KeyEntry> flat(MvccStore.KeyEntry[][] leaves) {
        List<MvccStore.KeyEntry> all = new ArrayList<>();
        for (MvccStore.KeyEntry[] leaf : leaves) all.addAll(List.of(leaf));
        return all;
    }

    private static List<MvccStore.KeyEntry> walk(Iterable<MvccStore.KeyEntry> view) {
        List<MvccStore.KeyEntry> seen = new ArrayList<>();
        for (MvccStore.KeyEntry e : view) seen.add(e);
        return seen;
    }
}
