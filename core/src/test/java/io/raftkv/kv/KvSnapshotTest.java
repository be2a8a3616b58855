package io.raftkv.kv;

import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshots of the state machine: the trim hold, writing a point-in-time view on another thread while writes and
 * compactions go on, and a restored store that cannot be told apart from the original at the snapshot's revision.
 *
 * <p>The reference for "the original at R" is a twin: a second state machine that applied the same log up to the
 * snapshot's index, fully trimmed. It is the original at R by determinism, and unlike the original it stays there.
 */
class KvSnapshotTest {

    private static final int KEY_BYTES_MAX = 64;
    private static final int VALUE_BYTES_MAX = 4096;
    private static final RangeRequest EVERY_KEY = RangeRequest.key(new byte[0]).withRangeEnd(RangeRequest.FROM_KEY);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ the trim hold

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

    @Test
    void aSnapshotHoldsTrimmingUntilReleasedOnceAndIsNotWrittenAfter() throws IOException {
        Log log = new Log(new Random(1), 20, 60);
        KvStateMachine kv = new KvStateMachine();
        log.run(kv, 200);
        KvSnapshot first = kv.snapshot();
        KvSnapshot second = kv.snapshot();
        assertEquals(kv.appliedIndex(), first.appliedIndex());
        assertEquals(kv.revision(), first.revision());
        assertEquals(kv.store().compactRevision(), first.compactRevision());
        first.release();
        first.release();
        assertTrue(kv.store().trimHeld(), "releasing twice drops one hold, not the second snapshot's");
        second.release();
        assertFalse(kv.store().trimHeld());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> first.writeTo(OutputStream.nullOutputStream()));
        assertTrue(e.getMessage().contains("released"), e.getMessage());
    }

    // ------------------------------------------------------------------ a restored store is the original at R

    @Test
    void aRestoredStoreIsTheOriginalAtItsRevisionAndBehavesTheSameAfter() throws IOException {
        for (int seed = 1; seed <= 30; seed++) {
            Log log = new Log(new Random(seed), 40, 80);
            KvStateMachine original = new KvStateMachine();
            log.run(original, 300);
            KvSnapshot early = original.snapshot();
            // Compactions now are deferred by the first hold, so the second snapshot meets untrimmed keys.
            log.run(original, 150);
            compactToLatest(original, log);
            log.run(original, 50);
            KvSnapshot late = original.snapshot();
            Map<Long, List<KeyValue>> lateAnswers = everyKeyAt(original.store(), late.compactRevision(), late.revision());
            long lateDigest = original.hash();
            log.run(original, 200);
            compactToLatest(original, log);
            trimAll(original.store());
            assertTrue(original.store().trimCompacted(1) > 0 || original.store().keysHeld() == 0, "seed " + seed + ": the holds defer trimming");

            byte[] earlyBytes = write(early);
            byte[] lateBytes = write(late);
            early.release();
            late.release();
            for (KvSnapshot s : List.of(early, late)) {
                byte[] bytes = s == early ? earlyBytes : lateBytes;
                KvStateMachine restored = new KvStateMachine();
                restored.restore(s.appliedIndex(), new ByteArrayInputStream(bytes), KEY_BYTES_MAX, VALUE_BYTES_MAX);
                KvStateMachine twin = log.replay(s.appliedIndex());
                String where = "seed " + seed + ", snapshot at " + s.appliedIndex();
                assertEquals(s.revision(), restored.revision(), where);
                assertEquals(s.compactRevision(), restored.store().compactRevision(), where);
                assertEquals(s.digest(), restored.store().digest(), where);
                assertSame(twin, restored, log.keys(), where);
                // Later writes and compactions behave the same on the restored store as on the store that lived them.
                log.replayOnto(twin, s.appliedIndex(), log.size());
                log.replayOnto(restored, s.appliedIndex(), log.size());
                assertSame(twin, restored, log.keys(), where + ", after the rest of the log");
            }
            KvStateMachine restoredLate = new KvStateMachine();
            restoredLate.restore(late.appliedIndex(), new ByteArrayInputStream(lateBytes), KEY_BYTES_MAX, VALUE_BYTES_MAX);
            assertEquals(lateDigest, restoredLate.hash(), "seed " + seed + ": the original's digest at R");
            assertEquals(lateAnswers, everyKeyAt(restoredLate.store(), late.compactRevision(), late.revision()),
                    "seed " + seed + ": the answers the original gave at every revision of [C, R]");
            assertEquals(0, trimAll(original.store()), "after the releases trimming goes on");
        }
    }

    @Test
    void aSnapshotWrittenOnAnotherThreadWhileTheLoopWritesAndCompactsIsThePointInTime() throws Exception {
        Log log = new Log(new Random(7), 3000, 120);
        KvStateMachine original = new KvStateMachine();
        log.run(original, 12_000);
        compactToLatest(original, log);
        log.run(original, 2_000);
        KvSnapshot snapshot = original.snapshot();
        Map<Long, List<KeyValue>> answers = everyKeyAt(original.store(), snapshot.compactRevision(), snapshot.revision(), 40);
        // Writes and compactions before the writer starts, then more at every piece it writes.
        log.run(original, 1_000);
        compactToLatest(original, log);
        trimAll(original.store());
        Lockstep out = new Lockstep();
        CompletableFuture<Void> writer = out.start(snapshot);
        int pieces = out.serve(() -> {
            log.run(original, 300);
            compactToLatest(original, log);
            trimAll(original.store());
        });
        writer.get(30, TimeUnit.SECONDS);
        assertTrue(pieces >= 4, "the loop wrote and compacted between " + pieces + " pieces of the snapshot");
        assertTrue(original.store().trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX) > 0, "the hold deferred the trimming");
        snapshot.release();
        assertEquals(0, trimAll(original.store()), "releasing resumes the trimming");

        KvStateMachine restored = new KvStateMachine();
        restored.restore(snapshot.appliedIndex(), new ByteArrayInputStream(out.bytes()), KEY_BYTES_MAX, VALUE_BYTES_MAX);
        assertEquals(answers, everyKeyAt(restored.store(), snapshot.compactRevision(), snapshot.revision(), 40));
        KvStateMachine twin = log.replay(snapshot.appliedIndex());
        assertSame(twin, restored, log.keys(), "the snapshot");
        log.replayOnto(twin, snapshot.appliedIndex(), log.size());
        log.replayOnto(restored, snapshot.appliedIndex(), log.size());
        assertSame(twin, restored, log.keys(), "after the rest of the log");
    }

    @Test
    void aWriterWhoseHoldIsGoneIsCaughtNotTrusted() throws Exception {
        KvStateMachine kv = new KvStateMachine();
        Log log = new Log(new Random(3), 2000, 100);
        for (int i = 0; i < 2000; i++) log.apply(kv, KvCommand.put(Log.key(i), new byte[100]));
        KvSnapshot snapshot = kv.snapshot();
        for (int i = 0; i < 2000; i++) log.apply(kv, KvCommand.put(Log.key(i), new byte[100]));
        Lockstep out = new Lockstep();
        CompletableFuture<Void> writer = out.start(snapshot);
        boolean[] broken = {false};
        out.serve(() -> {
            if (broken[0]) return;
            broken[0] = true;
            kv.store().releaseTrim(); // the bug: the hold is dropped behind the snapshot's back
            compactToLatest(kv, log);
            trimAll(kv.store());
        });
        Exception e = assertThrows(Exception.class, () -> writer.get(30, TimeUnit.SECONDS));
        IllegalStateException cause = assertInstanceOf(IllegalStateException.class, e.getCause());
        assertTrue(cause.getMessage().contains("changed while written"), cause.getMessage());
    }

    @Test
    void restoreReplacesTheWholeStateAndTheLogGoesOnAfterTheSnapshotIndex() throws IOException {
        Log log = new Log(new Random(5), 30, 40);
        KvStateMachine source = new KvStateMachine();
        log.run(source, 100);
        KvSnapshot snapshot = source.snapshot();
        byte[] bytes = write(snapshot);
        snapshot.release();

        KvStateMachine target = new KvStateMachine();
        for (int i = 1; i <= 500; i++) target.apply(new Entry(1, i, KvCommand.put(b("only-here/" + i), b("x")).encode()));
        target.restore(snapshot.appliedIndex(), new ByteArrayInputStream(bytes), KEY_BYTES_MAX, VALUE_BYTES_MAX);
        assertNull(target.get(b("only-here/1")), "keys the snapshot does not hold are gone");
        assertEquals(source.hash(), target.hash());
        assertEquals(source.appliedIndex(), target.appliedIndex());
        assertThrows(IllegalStateException.class, () -> target.apply(new Entry(1, snapshot.appliedIndex() + 2, new byte[0])));
        target.apply(new Entry(1, snapshot.appliedIndex() + 1, KvCommand.put(b("after"), b("1")).encode()));
        assertEquals(source.revision() + 1, target.store().get(b("after")).modRevision());
    }

    // ------------------------------------------------------------------ damage is refused, the old store stays

    @Test
    void aTruncatedOrBitFlippedPayloadIsRefusedAndTheOldStoreStays() throws IOException {
        Log log = new Log(new Random(11), 12, 30);
        KvStateMachine source = new KvStateMachine();
        log.run(source, 60);
        compactToLatest(source, log);
        log.run(source, 20);
        KvSnapshot snapshot = source.snapshot();
        byte[] good = write(snapshot);
        snapshot.release();

        KvStateMachine kv = new KvStateMachine();
        for (int i = 1; i <= 30; i++) kv.apply(new Entry(1, i, KvCommand.put(b("mine/" + (i % 7)), b("v" + i)).encode()));
        long digest = kv.hash();
        long revision = kv.revision();
        MvccStore store = kv.store();
        List<KeyValue> everything = store.range(EVERY_KEY).kvs();

        for (int length = 0; length < good.length; length++) {
            KvSnapshotFormatException e = assertThrows(KvSnapshotFormatException.class,
                    restore(kv, Arrays.copyOf(good, length)), "cut at " + length);
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
        }
        for (int at = 0; at < good.length; at++) {
            byte[] flipped = good.clone();
            flipped[at] ^= (byte) (1 << (at % 8));
            assertThrows(KvSnapshotFormatException.class, restore(kv, flipped), "bit " + at % 8 + " of byte " + at + " flipped");
        }
        byte[] trailerFlipped = good.clone();
        trailerFlipped[good.length - 1] ^= 1;
        String crc = assertThrows(KvSnapshotFormatException.class, restore(kv, trailerFlipped)).getMessage();
        assertTrue(crc.contains("bad CRC32C") && crc.contains("at byte " + (good.length - 4)), crc);
        byte[] longer = Arrays.copyOf(good, good.length + 1);
        assertTrue(assertThrows(KvSnapshotFormatException.class, restore(kv, longer)).getMessage().contains("after the trailer"));
        KvSnapshotFormatException tooLong = assertThrows(KvSnapshotFormatException.class,
                () -> kv.restore(7, new ByteArrayInputStream(good), 1, VALUE_BYTES_MAX));
        assertTrue(tooLong.getMessage().contains("over keyBytesMax 1"), tooLong.getMessage());

        assertTrue(store == kv.store() && digest == kv.hash() && revision == kv.revision() && kv.appliedIndex() == 30, "the old store stays");
        assertEquals(everything, kv.store().range(EVERY_KEY).kvs());
        kv.restore(snapshot.appliedIndex(), new ByteArrayInputStream(good), KEY_BYTES_MAX, VALUE_BYTES_MAX);
        assertEquals(source.hash(), kv.hash(), "the undamaged payload restores");
    }

    @Test
    void aHugeLengthInADamagedStreamIsRefusedWithoutAllocatingIt() {
        // Magic, version 1, revision 9, compact 0, digest 0, one key, whose length is 2^32 - 1.
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(KvSnapshotFormat.MAGIC);
        bytes.writeBytes(new byte[]{0, 1, 0, 0, 0, 0, 0, 0, 0, 9});
        bytes.writeBytes(new byte[16]);
        bytes.writeBytes(new byte[]{0, 0, 0, 0, 0, 0, 0, 1, -1, -1, -1, -1});
        KvStateMachine kv = new KvStateMachine();
        KvSnapshotFormatException e = assertThrows(KvSnapshotFormatException.class,
                () -> kv.restore(1, new ByteArrayInputStream(bytes.toByteArray()), Integer.MAX_VALUE, VALUE_BYTES_MAX));
        assertTrue(e.getMessage().contains("at byte 40") && e.getMessage().contains("key length 4294967295"), e.getMessage());
    }

    // ------------------------------------------------------------------ size

    @Test
    void aKeyOf16BytesWithA256ByteValueTakes309BytesInASnapshot() throws IOException {
        KvStateMachine kv = new KvStateMachine();
        int keys = 100_000;
        for (int i = 0; i < keys; i++) {
            kv.apply(new Entry(1, i + 1, KvCommand.put(b(String.format("key/%012d", i)), new byte[256]).encode()));
        }
        KvSnapshot snapshot = kv.snapshot();
        long[] written = {0};
        snapshot.writeTo(new OutputStream() {
            @Override
            public void write(int b) {
                written[0]++;
            }

            @Override
            public void write(byte[] b, int off, int len) {
                written[0] += len;
            }
        });
        snapshot.release();
        long perKey = KvSnapshotFormat.KEY_FIXED_BYTES + 16 + KvSnapshotFormat.VERSION_FIXED_BYTES + KvSnapshotFormat.VALUE_LENGTH_BYTES + 256;
        assertEquals(309, perKey);
        assertEquals(KvSnapshotFormat.HEADER_BYTES + KvSnapshotFormat.AUTH_FIXED_BYTES + keys * perKey + KvSnapshotFormat.TRAILER_BYTES, written[0]);
    }

    // ------------------------------------------------------------------ helpers

    private static org.junit.jupiter.api.function.Executable restore(KvStateMachine kv, byte[] bytes) {
        return () -> kv.restore(99, new ByteArrayInputStream(bytes), KEY_BYTES_MAX, VALUE_BYTES_MAX);
    }

    private static byte[] write(KvSnapshot s) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        s.writeTo(out);
        return out.toByteArray();
    }

    private static void compactToLatest(KvStateMachine kv, Log log) {
        if (kv.revision() > kv.store().compactRevision()) log.apply(kv, new KvCommand.Compact(kv.revision()));
    }

    /** Trims until nothing waits or a hold stops it; returns how many keys still wait. */
    private static int trimAll(MvccStore store) {
        int waiting = store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX);
        for (int calls = 0; waiting > 0 && !store.trimHeld(); calls++) {
            assertTrue(calls < 10_000, "trimming does not end");
            waiting = store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX);
        }
        return waiting;
    }

    private static Map<Long, List<KeyValue>> everyKeyAt(MvccStore store, long from, long to) {
        return everyKeyAt(store, from, to, Integer.MAX_VALUE);
    }

    /** Every key at up to {@code revisionsMax} revisions spread over [from, to], both ends included. */
    private static Map<Long, List<KeyValue>> everyKeyAt(MvccStore store, long from, long to, int revisionsMax) {
        Map<Long, List<KeyValue>> answers = new LinkedHashMap<>();
        long from1 = Math.max(from, 1);
        long step = Math.max(1, (to - from1) / Math.max(1, revisionsMax - 1));
        for (long rev = from1; rev < to; rev += step) answers.put(rev, store.range(EVERY_KEY.atRevision(rev)).kvs());
        answers.put(to, store.range(EVERY_KEY.atRevision(to)).kvs());
        return answers;
    }

    /** The two state machines answer alike at every revision they can read, and hold alike. */
    private static void assertSame(KvStateMachine expected, KvStateMachine actual, List<byte[]> keys, String where) {
        MvccStore e = expected.store();
        MvccStore a = actual.store();
        assertEquals(e.revision(), a.revision(), where + ": revision");
        assertEquals(e.compactRevision(), a.compactRevision(), where + ": compact revision");
        assertEquals(e.liveKeys(), a.liveKeys(), where + ": live keys");
        assertEquals(e.liveBytes(), a.liveBytes(), where + ": live bytes");
        long bytes = 0;
        for (io.raftkv.protocol.KeyValue kv : a.range(EVERY_KEY).kvs()) bytes += kv.key().length + kv.value().length;
        assertEquals(bytes, a.liveBytes(), where + ": live bytes are the live keys' and values'");
        assertEquals(e.digest(), a.digest(), where + ": digest");
        assertEquals(expected.appliedIndex(), actual.appliedIndex(), where + ": applied index");
        assertEquals(leases(expected), leases(actual), where + ": leases, their TTLs and keys");
        assertEquals(expected.hash(), actual.hash(), where + ": the state machine's digest");
        assertEquals(everyKeyAt(e, e.compactRevision(), e.revision(), 200), everyKeyAt(a, a.compactRevision(), a.revision(), 200), where + ": ranges");
        RangeRequest byMod = EVERY_KEY.sortedBy(RangeRequest.SortTarget.MOD, RangeRequest.SortOrder.DESCEND).withLimit(5);
        assertEquals(e.range(byMod).kvs(), a.range(byMod).kvs(), where + ": newest writes");
        trimAll(e);
        trimAll(a);
        assertEquals(e.keysHeld(), a.keysHeld(), where + ": keys held");
        for (byte[] key : keys) assertEquals(e.versionsOf(key), a.versionsOf(key), where + ": versions of " + Arrays.toString(key));
    }

    /** Each lease as text: id, TTL and keys in order. */
    static List<String> leases(KvStateMachine kv) {
        List<String> out = new ArrayList<>();
        for (Leases.Lease l : kv.leases().all()) {
            out.add(l.id() + "/" + l.ttlSeconds() + "s " + l.keys().stream().map(Arrays::toString).toList());
        }
        return out;
    }

    /**
     * A random log of puts, deletes, transactions, compactions and no-ops, kept so that it can be replayed onto a
     * twin. Keys come from a fixed set that includes bytes above 0x7f, to check unsigned order.
     */
    private static final class Log {
        private final Random random;
        private final int keySpace;
        private final int valueBytesMax;
        private final List<byte[]> entries = new ArrayList<>();

        Log(Random random, int keySpace, int valueBytesMax) {
            this.random = random;
            this.keySpace = keySpace;
            this.valueBytesMax = valueBytesMax;
        }

        static byte[] key(int i) {
            return i % 5 == 0 ? new byte[]{(byte) 0xc3, (byte) (i >>> 8), (byte) i} : b(String.format("k/%05d", i));
        }

        List<byte[]> keys() {
            List<byte[]> keys = new ArrayList<>();
            for (int i = 0; i < keySpace; i++) keys.add(key(i));
            return keys;
        }

        int size() {
            return entries.size();
        }

        private byte[] randomKey() {
            return key(random.nextInt(keySpace));
        }

        private byte[] value() {
            byte[] v = new byte[random.nextInt(valueBytesMax + 1)];
            random.nextBytes(v);
            return v;
        }

        void apply(KvStateMachine kv, KvCommand c) {
            applyEntry(kv, c.encode());
        }

        private void applyEntry(KvStateMachine kv, byte[] data) {
            if (kv.appliedIndex() != entries.size()) throw new IllegalStateException("the log is applied to one machine as it grows");
            entries.add(data);
            kv.apply(new Entry(1, entries.size(), data));
        }

        /** Appends and applies {@code n} random commands. */
        void run(KvStateMachine kv, int n) {
            for (int i = 0; i < n; i++) {
                int dice = random.nextInt(100);
                if (dice < 48) apply(kv, KvCommand.put(randomKey(), value()));
                else if (dice < 55) apply(kv, new KvCommand.Txn(new TxnRequest(List.of(), List.of(new TxnOp.Put(randomKey(), value(), false, lease())), List.of())));
                else if (dice < 67) apply(kv, KvCommand.delete(randomKey()));
                else if (dice < 85) apply(kv, new KvCommand.Txn(txn()));
                else if (dice < 88) apply(kv, new KvCommand.LeaseGrant(lease(), 1 + random.nextInt(100)));
                else if (dice < 90) apply(kv, new KvCommand.LeaseRevoke(lease()));
                else if (dice < 95) applyEntry(kv, new byte[0]);
                else {
                    long floor = kv.store().compactRevision();
                    long at = kv.revision() > floor ? floor + 1 + (long) (random.nextDouble() * (kv.revision() - floor)) : kv.revision();
                    apply(kv, new KvCommand.Compact(at));
                }
            }
        }

        /** One of a few lease ids: granted, revoked and granted again, put with whether they exist or not. */
        private long lease() {
            return 1 + random.nextInt(4);
        }

        /** A transaction that writes no key twice in a branch (etcd's rule, which the server checks before the log). */
        private TxnRequest txn() {
            List<Compare> compares = List.of(Compare.version(randomKey(), Compare.Result.GREATER, random.nextInt(3)));
            // Keys of one family have one length, so [key, key with its last byte + 1) holds that key alone.
            int deleted = random.nextInt(keySpace);
            byte[] from = key(deleted);
            byte[] end = from.clone();
            end[end.length - 1]++;
            List<TxnOp> success = new ArrayList<>();
            if (random.nextBoolean()) success.add(new TxnOp.DeleteRange(from, end, false));
            random.ints(0, keySpace).filter(k -> k != deleted).distinct().limit(1 + random.nextInt(4))
                    .forEach(k -> success.add(new TxnOp.Put(key(k), value(), random.nextBoolean(), random.nextInt(4) == 0 ? lease() : 0)));
            int put = (deleted + 1 + random.nextInt(keySpace - 1)) % keySpace;
            List<TxnOp> failure = List.of(new TxnOp.DeleteRange(from, new byte[0], false), new TxnOp.Put(key(put), value(), false));
            return new TxnRequest(compares, success, failure);
        }

        /** A new state machine that applied the log up to {@code index}, fully trimmed. */
        KvStateMachine replay(long index) {
            KvStateMachine twin = new KvStateMachine();
            replayOnto(twin, 0, index);
            trimAll(twin.store());
            return twin;
        }

        /** Applies entries {@code from + 1 .. to} of the log. */
        void replayOnto(KvStateMachine kv, long from, long to) {
            assertEquals(from, kv.appliedIndex());
            for (long i = from + 1; i <= to; i++) kv.apply(new Entry(1, i, entries.get((int) i - 1)));
        }
    }

    /**
     * An output stream that hands the turn to the test thread at each piece the writer flushes into it and waits to
     * be let go: the loop's writes and compactions happen between the writer's pieces, every run, without sleeping.
     */
    private static final class Lockstep extends OutputStream {
        private static final Object PIECE = new Object();
        private static final Object DONE = new Object();
        private static final Object GO = new Object();

        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final BlockingQueue<Object> toLoop = new LinkedBlockingQueue<>();
        private final BlockingQueue<Object> toWriter = new LinkedBlockingQueue<>();

        CompletableFuture<Void> start(KvSnapshot snapshot) {
            CompletableFuture<Void> result = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    snapshot.writeTo(this);
                    result.complete(null);
                } catch (Throwable e) {
                    result.completeExceptionally(e);
                } finally {
                    toLoop.add(DONE);
                }
            }, "snapshot-writer");
            t.setDaemon(true);
            t.start();
            return result;
        }

        /** Runs {@code turn} on this thread at each piece until the writer is done; returns how many pieces. */
        int serve(Runnable turn) throws InterruptedException {
            int pieces = 0;
            while (true) {
                Object event = toLoop.poll(30, TimeUnit.SECONDS);
                assertNotNull(event, "the writer neither wrote nor finished in 30 s");
                if (event == DONE) return pieces;
                pieces++;
                turn.run();
                toWriter.add(GO);
            }
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[]{(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            bytes.write(b, off, len);
            toLoop.add(PIECE);
            try {
                if (toWriter.poll(30, TimeUnit.SECONDS) == null) throw new IOException("the test thread never let the writer go on");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }
}
