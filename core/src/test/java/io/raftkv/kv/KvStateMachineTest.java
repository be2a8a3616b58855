package io.raftkv.kv;

import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's data model, case by case: revisions, versions, ranges, transactions and compaction. */
class KvStateMachineTest {

    private final KvStateMachine kv = new KvStateMachine();
    private final MvccStore store = kv.store();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private ApplyResult apply(KvCommand c) {
        return kv.apply(new Entry(1, kv.appliedIndex() + 1, c.encode()));
    }

    private ApplyResult put(String k, String v) {
        return apply(KvCommand.put(b(k), b(v)));
    }

    private ApplyResult.TxnDone txn(List<Compare> compares, List<TxnOp> success, List<TxnOp> failure) {
        return assertInstanceOf(ApplyResult.TxnDone.class, apply(new KvCommand.Txn(new TxnRequest(compares, success, failure))));
    }

    private List<String> keys(RangeRequest r) {
        return store.range(r).kvs().stream().map(kv -> new String(kv.key(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void revisionsAndVersionsFollowEtcd() {
        assertEquals(1, store.revision(), "an empty store is at revision 1");
        assertEquals(2, put("a", "1").revision());
        assertEquals(new KeyValue(b("a"), 2, 2, 1, b("1")), store.get(b("a")));
        assertEquals(3, put("a", "2").revision());
        assertEquals(new KeyValue(b("a"), 2, 3, 2, b("2")), store.get(b("a")), "create stays, mod and version move");
        assertEquals(4, apply(KvCommand.delete(b("a"))).revision());
        assertNull(store.get(b("a")));
        assertEquals(4, apply(KvCommand.delete(b("a"))).revision(), "a delete that finds nothing writes nothing");
        put("a", "3");
        assertEquals(new KeyValue(b("a"), 5, 5, 1, b("3")), store.get(b("a")), "a re-created key starts again at version 1");
    }

    @Test
    void entriesApplyInOrderExactlyOnce() {
        Entry first = new Entry(1, 1, KvCommand.put(b("a"), b("1")).encode());
        kv.apply(first);
        kv.apply(new Entry(1, 2, new byte[0]));
        assertThrows(IllegalStateException.class, () -> kv.apply(first), "an entry applied twice is refused");
        assertEquals(2, store.revision());
        assertEquals(2, kv.appliedIndex());
        assertThrows(IllegalStateException.class, () -> kv.apply(new Entry(1, 4, new byte[0])), "a gap is refused");
    }

    @Test
    void rangeEndConventions() {
        for (String k : List.of("a", "app/1", "app/2", "apq", "b", "c")) put(k, "v");
        assertEquals(List.of("app/1"), keys(RangeRequest.key(b("app/1"))), "no end: one key");
        assertEquals(List.of("app/1", "app/2"), keys(RangeRequest.prefix(b("app/"))), "end = prefix + 1: the prefix");
        assertEquals(List.of("apq", "b", "c"), keys(RangeRequest.fromKey(b("apq"))), "end = \\0: from the key on");
        assertEquals(6, keys(RangeRequest.range(RangeRequest.FROM_KEY, RangeRequest.FROM_KEY)).size(), "key and end \\0: every key");
        assertEquals(List.of("a", "app/1", "app/2"), keys(RangeRequest.range(b("a"), b("apq"))), "[key, end)");
        assertArrayEquals(new byte[]{0}, RangeRequest.prefixEnd(new byte[]{(byte) 0xff}), "a prefix of 0xff bytes ends at \\0");
        assertArrayEquals(new byte[]{'a', 'c'}, RangeRequest.prefixEnd(new byte[]{'a', 'b', (byte) 0xff}));
    }

    @Test
    void limitMoreCountKeysOnlyAndSort() {
        for (String k : List.of("k1", "k2", "k3", "k4")) put(k, "v" + k);
        put("k2", "again");
        RangeRequest all = RangeRequest.prefix(b("k"));
        OpResult.Range limited = store.range(all.withLimit(2));
        assertEquals(List.of("k1", "k2"), limited.kvs().stream().map(kv -> new String(kv.key(), StandardCharsets.UTF_8)).toList());
        assertTrue(limited.more());
        assertEquals(4, limited.count(), "count is every key in the range, not the page");
        assertFalse(store.range(all.withLimit(4)).more());
        OpResult.Range counted = store.range(all.countOnly(true));
        assertEquals(List.of(), counted.kvs());
        assertEquals(4, counted.count());
        assertArrayEquals(new byte[0], store.range(all.keysOnly(true)).kvs().get(0).value());
        assertEquals(List.of("k4", "k3", "k2", "k1"), keys(all.sortedBy(RangeRequest.SortTarget.KEY, RangeRequest.SortOrder.DESCEND)));
        assertEquals(List.of("k2", "k4"), keys(all.sortedBy(RangeRequest.SortTarget.MOD, RangeRequest.SortOrder.DESCEND).withLimit(2)),
                "sorted by mod revision, newest first, then cut to the limit");
        assertEquals(List.of("k1", "k3", "k4", "k2"), keys(all.sortedBy(RangeRequest.SortTarget.VERSION, RangeRequest.SortOrder.ASCEND)));
        assertEquals(List.of("k4", "k3", "k1", "k2"), keys(all.keysOnly(true).sortedBy(RangeRequest.SortTarget.VALUE, RangeRequest.SortOrder.DESCEND)),
                "keys only, sorted by the values it does not return");
    }

    @Test
    void rangesOverManyKeysAgreeWithAModelAtPastRevisionsBothWays() {
        // Enough keys for many leaves of the key order and many of the chunks a range reads at a time, with deletes
        // among them, read at revisions since overwritten.
        java.util.Random random = new java.util.Random(3);
        java.util.TreeMap<String, String> model = new java.util.TreeMap<>();
        java.util.Map<Long, java.util.TreeMap<String, String>> past = new java.util.HashMap<>();
        for (int step = 0; step < 3000; step++) {
            String k = String.format("k%04d", random.nextInt(600));
            if (random.nextInt(4) == 0) {
                if (model.remove(k) != null) apply(KvCommand.delete(b(k)));
            } else {
                String v = "v" + step;
                put(k, v);
                model.put(k, v);
            }
            if (step % 500 == 0) past.put(store.revision(), new java.util.TreeMap<>(model));
        }
        past.put(store.revision(), model);
        for (var at : past.entrySet()) {
            for (int i = 0; i < 20; i++) {
                String from = String.format("k%04d", random.nextInt(600));
                String to = String.format("k%04d", random.nextInt(600));
                if (from.compareTo(to) > 0) {
                    String t = from;
                    from = to;
                    to = t;
                }
                boolean descending = random.nextBoolean();
                int limit = random.nextInt(3) == 0 ? 1 + random.nextInt(100) : 0;
                var expected = new java.util.ArrayList<>((descending ? at.getValue().subMap(from, true, to, false).descendingMap()
                        : at.getValue().subMap(from, true, to, false)).entrySet());
                RangeRequest r = RangeRequest.range(b(from), b(to)).atRevision(at.getKey()).withLimit(limit)
                        .sortedBy(RangeRequest.SortTarget.KEY, descending ? RangeRequest.SortOrder.DESCEND : RangeRequest.SortOrder.ASCEND);
                OpResult.Range got = store.range(r);
                List<String> answer = got.kvs().stream().map(kv -> new String(kv.key(), StandardCharsets.UTF_8) + "=" + new String(kv.value(), StandardCharsets.UTF_8)).toList();
                List<String> wanted = expected.stream().limit(limit > 0 ? limit : Long.MAX_VALUE).map(e -> e.getKey() + "=" + e.getValue()).toList();
                assertEquals(wanted, answer, "[" + from + ", " + to + ") at " + at.getKey() + (descending ? " descending" : "") + " limit " + limit);
                assertEquals(expected.size(), got.count());
                assertEquals(wanted.size() < expected.size(), got.more());
            }
        }
    }

    @Test
    void readsAtPastRevisionsUntilCompacted() {
        put("a", "1");          // 2
        put("a", "2");          // 3
        apply(KvCommand.delete(b("a")));  // 4
        put("b", "1");          // 5
        assertArrayEquals(b("1"), store.range(RangeRequest.key(b("a")).atRevision(2)).kvs().get(0).value());
        assertArrayEquals(b("2"), store.range(RangeRequest.key(b("a")).atRevision(3)).kvs().get(0).value());
        assertEquals(0, store.range(RangeRequest.key(b("a")).atRevision(4)).count());
        KvException future = assertThrows(KvException.class, () -> store.range(RangeRequest.key(b("a")).atRevision(6)));
        assertEquals(ErrorCode.FUTURE_REVISION, future.code());

        assertInstanceOf(ApplyResult.Done.class, apply(new KvCommand.Compact(3)));
        assertEquals(3, store.compactRevision());
        assertArrayEquals(b("2"), store.range(RangeRequest.key(b("a")).atRevision(3)).kvs().get(0).value(), "the compact revision itself stays readable");
        KvException compacted = assertThrows(KvException.class, () -> store.range(RangeRequest.key(b("a")).atRevision(2)));
        assertEquals(ErrorCode.COMPACTED, compacted.code());
        assertTrue(compacted.getMessage().contains("compact revision is 3"), compacted.getMessage());
        assertEquals(2, store.versionsOf(b("a")), "the version read at 3 and the delete after it");

        apply(new KvCommand.Compact(5));
        assertEquals(0, store.versionsOf(b("a")), "a key deleted before the compaction point is gone");
        assertEquals(1, store.keysHeld());
        ApplyResult again = apply(new KvCommand.Compact(5));
        assertEquals(ErrorCode.COMPACTED, assertInstanceOf(ApplyResult.Refused.class, again).code());
        assertEquals(ErrorCode.FUTURE_REVISION, assertInstanceOf(ApplyResult.Refused.class, apply(new KvCommand.Compact(99))).code());
    }

    @Test
    void aCompactionOverManyKeysIsTrimmedABatchAtATimeWithoutChangingAnAnswer() {
        int keys = 3 * MvccStore.TRIM_KEYS_PER_CALL_MAX;
        for (int i = 0; i < keys; i++) put("t/" + i, "1");
        for (int i = 0; i < keys; i++) put("t/" + i, "2");
        long rev = store.revision();
        OpResult.Range before = store.range(RangeRequest.prefix(b("t/")).atRevision(rev));
        apply(new KvCommand.Compact(rev));
        assertEquals(2, store.versionsOf(b("t/" + (keys - 1))), "the last keys wait for their batch");
        assertEquals(before.kvs(), store.range(RangeRequest.prefix(b("t/"))).kvs(), "an answer does not depend on what is trimmed yet");
        assertEquals(ErrorCode.COMPACTED, assertThrows(KvException.class, () -> store.range(RangeRequest.key(b("t/0")).atRevision(rev - 1))).code());
        assertEquals(MvccStore.TRIM_KEYS_PER_CALL_MAX, store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX), "one batch per call");
        assertEquals(0, store.trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX));
        assertEquals(1, store.versionsOf(b("t/" + (keys - 1))));
        assertEquals(before.kvs(), store.range(RangeRequest.prefix(b("t/"))).kvs());
    }

    @Test
    void txnCompareAndSwapTakesOneRevision() {
        put("counter", "1"); // 2
        ApplyResult.TxnDone swapped = txn(List.of(Compare.modRevision(b("counter"), Compare.Result.EQUAL, 2)),
                List.of(new TxnOp.Put(b("counter"), b("2"), true), new TxnOp.Put(b("other"), b("x"), false)),
                List.of(new TxnOp.Range(RangeRequest.key(b("counter")))));
        assertTrue(swapped.succeeded());
        assertEquals(3, swapped.revision(), "one revision for the whole transaction");
        assertArrayEquals(b("1"), ((OpResult.Put) swapped.results().get(0)).prevKv().value());
        assertNull(((OpResult.Put) swapped.results().get(1)).prevKv(), "prev_kv only when asked");
        assertEquals(3, store.get(b("other")).modRevision());

        ApplyResult.TxnDone lost = txn(List.of(Compare.modRevision(b("counter"), Compare.Result.EQUAL, 2)),
                List.of(new TxnOp.Put(b("counter"), b("3"), false)), List.of(new TxnOp.Range(RangeRequest.key(b("counter")))));
        assertFalse(lost.succeeded());
        assertEquals(3, lost.revision(), "a transaction that writes nothing takes no revision");
        assertArrayEquals(b("2"), ((OpResult.Range) lost.results().get(0)).kvs().get(0).value());
    }

    @Test
    void aCompareOfARevisionTheKeyLeftFailsForGood() {
        put("counter", "1"); // 2
        put("other", "x"); // 3
        TxnRequest casAt2 = cas("counter", Compare.Target.MOD, 2);
        assertFalse(kv.failsForGood(casAt2), "the key has mod revision 2: the compare holds");
        assertFalse(kv.failsForGood(cas("counter", Compare.Target.MOD, 4)), "revision 4 is still to come: a write may take it");
        assertTrue(kv.failsForGood(cas("counter", Compare.Target.MOD, 3)), "revision 3 went to another key");
        put("counter", "2"); // 4
        assertTrue(kv.failsForGood(casAt2), "the key was written again: mod revision 2 never comes back");
        assertTrue(kv.failsForGood(cas("counter", Compare.Target.CREATE, 4)), "created at 2");
        apply(KvCommand.delete(b("counter"))); // 5
        assertTrue(kv.failsForGood(casAt2), "deleted: it has no revision");
        assertTrue(kv.failsForGood(cas("counter", Compare.Target.CREATE, 2)), "deleted: created again, at a later revision if ever");
        put("counter", "3"); // 6
        assertTrue(kv.failsForGood(casAt2));
        // Versions, values, revision 0 and the other relations can come back, or hold again: never judged for good.
        assertFalse(kv.failsForGood(new TxnRequest(List.of(Compare.version(b("counter"), Compare.Result.EQUAL, 7)), List.of(), List.of())));
        assertFalse(kv.failsForGood(new TxnRequest(List.of(Compare.value(b("counter"), Compare.Result.EQUAL, b("1"))), List.of(), List.of())));
        assertFalse(kv.failsForGood(new TxnRequest(List.of(Compare.createRevision(b("counter"), Compare.Result.EQUAL, 0)), List.of(), List.of())));
        assertFalse(kv.failsForGood(new TxnRequest(List.of(Compare.modRevision(b("counter"), Compare.Result.NOT_EQUAL, 6)), List.of(), List.of())));
        assertFalse(kv.failsForGood(new TxnRequest(List.of(Compare.modRevision(b("c"), Compare.Result.EQUAL, 2)
                .withRangeEnd(RangeRequest.prefixEnd(b("c")))), List.of(), List.of())), "a range of keys");
    }

    private static TxnRequest cas(String key, Compare.Target target, long revision) {
        Compare c = target == Compare.Target.MOD ? Compare.modRevision(b(key), Compare.Result.EQUAL, revision)
                : Compare.createRevision(b(key), Compare.Result.EQUAL, revision);
        return new TxnRequest(List.of(c), List.of(new TxnOp.Put(b(key), b("new"), false)), List.of(new TxnOp.Range(RangeRequest.key(b(key)))));
    }

    @Test
    void aTxnWhoseBranchOnlyReadsIsAnsweredAsApplyingItWouldBeWithoutARevision() {
        put("counter", "1"); // 2
        put("counter", "2"); // 3
        TxnRequest lost = cas("counter", Compare.Target.MOD, 2);
        ApplyResult.TxnDone read = assertInstanceOf(ApplyResult.TxnDone.class, kv.readOnlyTxn(lost));
        long indexBefore = kv.appliedIndex();
        ApplyResult.TxnDone applied = txn(lost.compares(), lost.success(), lost.failure());
        assertEquals(applied, read, "the same answer as applying it");
        assertEquals(3, read.revision());
        assertEquals(indexBefore + 1, kv.appliedIndex());
        assertEquals(3, kv.revision(), "neither took a revision");
        assertNull(kv.readOnlyTxn(cas("counter", Compare.Target.MOD, 3)), "the compare holds: the branch writes");
        TxnRequest readsBoth = new TxnRequest(List.of(Compare.value(b("counter"), Compare.Result.EQUAL, b("2"))),
                List.of(new TxnOp.Range(RangeRequest.key(b("counter")).atRevision(2))), List.of());
        ApplyResult.TxnDone old = assertInstanceOf(ApplyResult.TxnDone.class, kv.readOnlyTxn(readsBoth));
        assertTrue(old.succeeded());
        assertArrayEquals(b("1"), ((OpResult.Range) old.results().get(0)).kvs().get(0).value(), "a range at a past revision");
        TxnRequest future = new TxnRequest(List.of(), List.of(new TxnOp.Range(RangeRequest.key(b("counter")).atRevision(9))), List.of());
        assertEquals(ErrorCode.FUTURE_REVISION, assertInstanceOf(ApplyResult.Refused.class, kv.readOnlyTxn(future)).code());
    }

    @Test
    void comparesFollowEtcdOnMissingKeysAndRanges() {
        put("p/1", "a");
        put("p/2", "b");
        assertTrue(txn(List.of(Compare.version(b("missing"), Compare.Result.EQUAL, 0)), List.of(), List.of()).succeeded(),
                "a missing key has version 0");
        assertFalse(txn(List.of(Compare.value(b("missing"), Compare.Result.NOT_EQUAL, b("x"))), List.of(), List.of()).succeeded(),
                "a value compare on a missing key is false");
        Compare allAboveA = Compare.value(b("p/"), Compare.Result.GREATER, b("a")).withRangeEnd(RangeRequest.prefixEnd(b("p/")));
        assertFalse(txn(List.of(allAboveA), List.of(), List.of()).succeeded(), "every key of the range must satisfy the compare");
        Compare allCreated = Compare.createRevision(b("p/"), Compare.Result.GREATER, 0).withRangeEnd(RangeRequest.prefixEnd(b("p/")));
        assertTrue(txn(List.of(allCreated), List.of(), List.of()).succeeded());
    }

    @Test
    void readsInsideATxnSeeItsEarlierWrites() {
        ApplyResult.TxnDone t = txn(List.of(), List.of(new TxnOp.Put(b("x"), b("new"), false), new TxnOp.Range(RangeRequest.key(b("x")))), List.of());
        assertArrayEquals(b("new"), ((OpResult.Range) t.results().get(1)).kvs().get(0).value());
    }

    @Test
    void deleteRangeWithPrevKvs() {
        put("d/1", "a");
        put("d/2", "b");
        put("e", "c");
        ApplyResult.TxnDone t = txn(List.of(), List.of(new TxnOp.DeleteRange(b("d/"), RangeRequest.prefixEnd(b("d/")), true)), List.of());
        OpResult.DeleteRange d = (OpResult.DeleteRange) t.results().get(0);
        assertEquals(2, d.deleted());
        assertEquals(2, d.prevKvs().size());
        assertEquals(5, t.revision());
        assertEquals(1, store.liveKeys());
    }

    @Test
    void aTxnReadingACompactedRevisionChangesNothing() {
        put("a", "1");
        put("a", "2");
        apply(new KvCommand.Compact(3));
        long before = store.revision();
        ApplyResult r = apply(new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("b"), b("x"), false), new TxnOp.Range(RangeRequest.key(b("a")).atRevision(2))), List.of())));
        assertEquals(ErrorCode.COMPACTED, assertInstanceOf(ApplyResult.Refused.class, r).code());
        assertEquals(before, store.revision());
        assertNull(store.get(b("b")));
    }

    @Test
    void answersAreBoundedInBytes() {
        for (int i = 0; i < 10; i++) put("big/" + i, "x".repeat(100));
        KvException tooLarge = assertThrows(KvException.class, () -> store.range(RangeRequest.prefix(b("big/")), 500));
        assertEquals(ErrorCode.TOO_LARGE, tooLarge.code(), "a plain read over the bound is refused: ask with a limit");
        assertEquals(3, store.range(RangeRequest.prefix(b("big/")).withLimit(3), 500).kvs().size());

        KvStateMachine bounded = new KvStateMachine(500);
        for (int i = 0; i < 10; i++) bounded.apply(new Entry(1, i + 1, KvCommand.put(b("big/" + i), b("x".repeat(100))).encode()));
        ApplyResult.TxnDone t = assertInstanceOf(ApplyResult.TxnDone.class, bounded.apply(new Entry(1, 11, new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("w"), b("1"), false), new TxnOp.Range(RangeRequest.prefix(b("big/")))), List.of())).encode())));
        OpResult.Range cut = (OpResult.Range) t.results().get(1);
        assertTrue(cut.kvs().size() < 10 && cut.more(), "inside a transaction, whose write is done, the range is cut and says more");
        assertEquals(10, cut.count());
        assertArrayEquals(b("1"), bounded.get(b("w")));
    }

    @Test
    void aTxnWhosePrevKvsWouldNotFitTheAnswerIsRefusedBeforeItWrites() {
        KvStateMachine bounded = new KvStateMachine(500);
        for (int i = 0; i < 10; i++) bounded.apply(new Entry(1, i + 1, KvCommand.put(b("big/" + i), b("x".repeat(100))).encode()));
        long before = bounded.revision();
        ApplyResult r = bounded.apply(new Entry(1, 11, new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.DeleteRange(b("big/"), RangeRequest.prefixEnd(b("big/")), true)), List.of())).encode()));
        assertEquals(ErrorCode.TOO_LARGE, assertInstanceOf(ApplyResult.Refused.class, r).code());
        assertEquals(before, bounded.revision(), "nothing was applied");
        assertEquals(10, bounded.size());
        ApplyResult withoutPrevKvs = bounded.apply(new Entry(1, 12, new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.DeleteRange(b("big/"), RangeRequest.prefixEnd(b("big/")), false)), List.of())).encode()));
        assertEquals(10, ((OpResult.DeleteRange) assertInstanceOf(ApplyResult.TxnDone.class, withoutPrevKvs).results().get(0)).deleted());
    }

    @Test
    void aRangeEndEqualToTheKeyNamesNoKeyAndRevisionZeroOrLessIsTheCurrentOne() {
        put("a", "1");
        assertEquals(0, store.range(RangeRequest.range(b("a"), b("a"))).count());
        assertEquals(1, store.range(RangeRequest.key(b("a")).atRevision(-5)).count());
        assertEquals(1, store.range(RangeRequest.key(b("a")).withLimit(-1)).kvs().size());
    }

    @Test
    void hashCoversContentAndRevisions() {
        KvStateMachine one = new KvStateMachine();
        KvStateMachine two = new KvStateMachine();
        for (KvStateMachine m : List.of(one, two)) {
            m.apply(new Entry(1, 1, KvCommand.put(b("a"), b("1")).encode()));
            m.apply(new Entry(1, 2, KvCommand.put(b("b"), b("2")).encode()));
        }
        assertEquals(one.hash(), two.hash());
        two.apply(new Entry(1, 3, KvCommand.put(b("a"), b("1")).encode()));
        assertNotEquals(one.hash(), two.hash(), "the same value at another revision is another state");
    }

    @Test
    void malformedCommandStopsTheNode() {
        assertThrows(IllegalStateException.class, () -> KvCommand.decode(new byte[]{1, 0, 0, 0, 9}));
        assertThrows(IllegalStateException.class, () -> KvCommand.decode(new byte[]{9, 0, 0, 0, 0}));
        assertThrows(IllegalStateException.class, () -> KvCommand.decode(new byte[]{3, 0, 0, 0, 1, 7}));
    }
}
