package io.raftkv.kv;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.RangeRequest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Snapshots of the state machine: the trim hold, writing a point-in-time view while writes go on, restoring it. */
class KvSnapshotTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void put(MvccStore store, String key, String value) {
        MvccStore.Write w = store.write();
        w.put(b(key), b(value));
        w.end();
    }

    @Test
    void aTrimHoldDefersTrimmingAndReleasingResumesIt() {
        MvccStore store = new MvccStore();
        put(store, "a", "1"); // 2
        put(store, "a", "2"); // 3
        put(store, "b", "1"); // 4
        MvccStore.Write delete = store.write();
        delete.deleteRange(b("b"), new byte[0]);
        delete.end();         // 5
        store.holdTrim();
        store.holdTrim();
        store.compact(5);
        assertEquals(5, store.compactRevision(), "the compaction point moves under a hold");
        assertEquals(ErrorCode.COMPACTED, assertThrows(KvException.class, () -> store.range(RangeRequest.key(b("a")).atRevision(4))).code(),
                "reads below it are refused at once");
        assertEquals(2, store.versionsOf(b("a")), "nothing is freed");
        assertEquals(2, store.keysHeld(), "not even a key whose last version is a compacted delete");
        assertEquals(2, store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX), "both keys still wait");
        store.releaseTrim();
        assertTrue(store.trimHeld(), "holds nest");
        assertEquals(2, store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX));
        store.releaseTrim();
        assertFalse(store.trimHeld());
        assertEquals(0, store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX), "after the last release, trimming goes on");
        assertEquals(1, store.versionsOf(b("a")));
        assertEquals(1, store.keysHeld());
        assertThrows(IllegalStateException.class, store::releaseTrim, "a release without a hold is a bug");
    }
}
