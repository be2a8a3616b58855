package io.raftkv.kv;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The store's hash index against a HashMap, through random adds and removes that grow it and shift its runs. */
class KeyIndexTest {

    @Test
    void agreesWithAHashMapThroughAddsAndRemoves() {
        Random random = new Random(7);
        KeyIndex index = new KeyIndex();
        Map<ByteBuffer, MvccStore.KeyEntry> oracle = new HashMap<>();
        for (int step = 0; step < 200_000; step++) {
            // Few distinct keys of 1 or 2 bytes: many collisions and long runs, so removals shift entries back.
            byte[] key = random.nextBoolean() ? new byte[]{(byte) random.nextInt(256)} : new byte[]{(byte) random.nextInt(40), (byte) random.nextInt(40)};
            MvccStore.KeyEntry held = oracle.get(ByteBuffer.wrap(key));
            if (held == null && random.nextInt(3) > 0) {
                MvccStore.KeyEntry e = new MvccStore.KeyEntry(key, null);
                index.add(e);
                oracle.put(ByteBuffer.wrap(key), e);
            } else if (held != null && random.nextBoolean()) {
                index.remove(held);
                oracle.remove(ByteBuffer.wrap(key));
            }
            assertSame(oracle.get(ByteBuffer.wrap(key)), index.get(key.clone()));
        }
        assertEquals(oracle.size(), index.size());
        for (var e : oracle.entrySet()) assertSame(e.getValue(), index.get(e.getKey().array().clone()));
        assertNull(index.get(new byte[]{1, 2, 3}));
    }

    /** Keys that differ only in their last digits (the usual shape: ids, counters, zero-padded numbers) spread out. */
    /** The prefetch of a committed put hashes its key where it lies in the entry: the same hash as the key copied out. */
    @Test
    void aKeyHashedInPlaceHashesAsTheKeyCopiedOut() {
        Random random = new Random(11);
        for (int i = 0; i < 1_000; i++) {
            byte[] bytes = new byte[1 + random.nextInt(64)];
            random.nextBytes(bytes);
            int offset = random.nextInt(bytes.length);
            int length = random.nextInt(bytes.length - offset + 1);
            assertEquals(KeyIndex.hash(java.util.Arrays.copyOfRange(bytes, offset, offset + length)), KeyIndex.hash(bytes, offset, length));
        }
    }

    @Test
    void keysThatDifferInTheirLastDigitsNeedAboutOneProbe() {
        for (String format : new String[]{"%016d", "key-%012d", "/registry/pods/default/pod-%d"}) {
            KeyIndex index = new KeyIndex();
            for (int n = 0; n < 100_000; n++) {
                index.add(new MvccStore.KeyEntry(String.format(format, n).getBytes(StandardCharsets.US_ASCII), null));
            }
            double probes = index.meanProbes();
            assertTrue(probes < 1.6, () -> format + ": " + probes + " probes a lookup");
        }
    }
}
