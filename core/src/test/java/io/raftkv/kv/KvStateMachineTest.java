package io.raftkv.kv;

import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvStateMachineTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void appliesPutsAndDeletesInOrderExactlyOnce() {
        KvStateMachine kv = new KvStateMachine();
        Entry put = new Entry(1, 1, KvCommand.put(b("a"), b("1")).encode());
        kv.apply(put);
        kv.apply(new Entry(1, 2, new byte[0]));
        kv.apply(new Entry(1, 3, KvCommand.put(b("a"), b("2")).encode()));
        kv.apply(put); // replayed: skipped
        assertArrayEquals(b("2"), kv.get(b("a")));
        kv.apply(new Entry(1, 4, KvCommand.delete(b("a")).encode()));
        assertNull(kv.get(b("a")));
        assertEquals(4, kv.appliedIndex());
        assertThrows(IllegalStateException.class, () -> kv.apply(new Entry(1, 6, new byte[0])), "a gap is refused");
    }

    @Test
    void binaryKeysAndEmptyValues() {
        KvStateMachine kv = new KvStateMachine();
        byte[] key = {0, (byte) 0xFF, 7};
        kv.apply(new Entry(1, 1, KvCommand.put(key, new byte[0]).encode()));
        assertArrayEquals(new byte[0], kv.get(new byte[]{0, (byte) 0xFF, 7}));
        assertEquals(1, kv.size());
    }

    @Test
    void hashDependsOnContentNotHistory() {
        KvStateMachine one = new KvStateMachine();
        KvStateMachine two = new KvStateMachine();
        one.apply(new Entry(1, 1, KvCommand.put(b("a"), b("1")).encode()));
        one.apply(new Entry(1, 2, KvCommand.put(b("b"), b("2")).encode()));
        two.apply(new Entry(1, 1, KvCommand.put(b("b"), b("2")).encode()));
        two.apply(new Entry(1, 2, KvCommand.put(b("x"), b("9")).encode()));
        two.apply(new Entry(1, 3, KvCommand.delete(b("x")).encode()));
        two.apply(new Entry(1, 4, KvCommand.put(b("a"), b("1")).encode()));
        assertEquals(one.hash(), two.hash());
        two.apply(new Entry(1, 5, KvCommand.put(b("a"), b("2")).encode()));
        assertNotEquals(one.hash(), two.hash());
    }

    @Test
    void malformedCommandStopsTheNode() {
        assertThrows(IllegalStateException.class, () -> KvCommand.decode(new byte[]{1, 0, 0, 0, 9}));
        assertThrows(IllegalStateException.class, () -> KvCommand.decode(new byte[]{3, 0, 0, 0, 0}));
    }
}
