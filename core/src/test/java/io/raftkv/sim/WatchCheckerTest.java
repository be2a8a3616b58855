package io.raftkv.sim;

import io.raftkv.kv.InjectedKvBug;
import io.raftkv.kv.KvCommand;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The watch checks bite on hand-made deliveries: each breaks one promise of docs/protocol.md's watches (no gap, no
 * duplicate, a revision's events together, the range and filters, prev_kv, COMPACTED only below the compaction point).
 * {@code InjectedBugTest} shows whole runs finding mistakes of the watching client.
 */
class WatchCheckerTest {

    private final WatchChecker checker = new WatchChecker(1 << 16, InjectedKvBug.NONE);
    private long index;

    WatchCheckerTest() {
        apply(KvCommand.put(bytes("a"), bytes("1")));                                      // revision 2
        apply(new KvCommand.Txn(new TxnRequest(List.of(), List.of(new TxnOp.Put(bytes("a"), bytes("2"), false),
                new TxnOp.Put(bytes("b"), bytes("1"), false)), List.of())));                 // revision 3: two events
        apply(KvCommand.put(bytes("c"), bytes("1")));                                      // revision 4
        apply(KvCommand.delete(bytes("a")));                                               // revision 5
        apply(new KvCommand.Compact(3));
    }

    private void apply(KvCommand c) {
        index++;
        checker.onApply(new Entry(1, index, c.encode()));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static final WatchRequest EVERY_KEY = new WatchRequest(1, new byte[]{0}, new byte[]{0}, 2, false, false, false, false);

    private List<WatchEvent> committed(WatchRequest r, long from, long to) {
        return checker.expected(r, from, to);
    }

    private static List<WatchEvent> concat(List<WatchEvent> a, List<WatchEvent> b) {
        List<WatchEvent> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    @Test
    void theCommittedHistoryPassesInAnyCutAtRevisions() {
        assertEquals(5, checker.revision());
        assertEquals(3, checker.compactRevision());
        WatchChecker.Stream s = checker.stream("w", EVERY_KEY);
        assertDoesNotThrow(() -> {
            s.delivered(3, committed(EVERY_KEY, 2, 3));
            s.delivered(3, List.of()); // progress, again
            s.delivered(2, List.of()); // progress from a node behind: allowed, counted
            s.delivered(5, committed(EVERY_KEY, 4, 5));
        });
        assertEquals(5, s.checkedUpTo);
        assertEquals(5, s.events);
        assertEquals(1, s.wentBack);
    }

    @Test
    void aRevisionLeftOutIsAGap() {
        WatchChecker.Stream s = checker.stream("w", EVERY_KEY);
        s.delivered(2, committed(EVERY_KEY, 2, 2));
        SimulationFailure f = assertThrows(SimulationFailure.class, () -> s.delivered(4, committed(EVERY_KEY, 4, 4)));
        assertTrue(f.getMessage().contains("a gap"), f.getMessage());
    }

    @Test
    void aRevisionDeliveredTwiceIsADuplicate() {
        WatchChecker.Stream s = checker.stream("w", EVERY_KEY);
        s.delivered(3, committed(EVERY_KEY, 2, 3));
        SimulationFailure f = assertThrows(SimulationFailure.class, () -> s.delivered(4, committed(EVERY_KEY, 3, 4)));
        assertTrue(f.getMessage().contains("a duplicate"), f.getMessage());
        SimulationFailure again = assertThrows(SimulationFailure.class, () -> s.delivered(3, committed(EVERY_KEY, 3, 3)));
        assertTrue(again.getMessage().contains("a duplicate"), again.getMessage());
    }

    @Test
    void aTransactionsEventsGoTogether() {
        WatchChecker.Stream s = checker.stream("w", EVERY_KEY);
        List<WatchEvent> three = committed(EVERY_KEY, 3, 3);
        assertEquals(2, three.size());
        // The first event of revision 3 handed on with the frame that reports revision 2 (a fragment not joined).
        SimulationFailure f = assertThrows(SimulationFailure.class, () -> s.delivered(2, concat(committed(EVERY_KEY, 2, 2), three.subList(0, 1))));
        assertTrue(f.getMessage().contains("split"), f.getMessage());
        // Half a revision reported as the whole of it.
        WatchChecker.Stream t = checker.stream("t", EVERY_KEY);
        SimulationFailure half = assertThrows(SimulationFailure.class, () -> t.delivered(3, concat(committed(EVERY_KEY, 2, 2), three.subList(0, 1))));
        assertTrue(half.getMessage().contains("never delivered"), half.getMessage());
    }

    @Test
    void eventsOutsideTheRangeOrFiltersOrWithTheWrongPrevKvFail() {
        WatchRequest onlyB = new WatchRequest(1, bytes("b"), new byte[0], 2, false, false, false, false);
        WatchChecker.Stream s = checker.stream("b", onlyB);
        assertThrows(SimulationFailure.class, () -> s.delivered(3, committed(EVERY_KEY, 2, 3)));

        WatchRequest noDeletes = EVERY_KEY.withFilters(false, true);
        WatchChecker.Stream d = checker.stream("d", noDeletes);
        assertThrows(SimulationFailure.class, () -> d.delivered(5, committed(EVERY_KEY, 2, 5)));
        assertDoesNotThrow(() -> checker.stream("d2", noDeletes).delivered(5, committed(noDeletes, 2, 5)));

        WatchRequest prev = EVERY_KEY.withPrevKv(true);
        List<WatchEvent> withPrev = committed(prev, 2, 3);
        assertThrows(SimulationFailure.class, () -> checker.stream("p", EVERY_KEY).delivered(3, withPrev));
        List<WatchEvent> wrongPrev = new ArrayList<>(withPrev);
        WatchEvent e = wrongPrev.get(1); // a@3, whose previous key-value is a@2
        wrongPrev.set(1, new WatchEvent(e.type(), e.kv(), new KeyValue(bytes("a"), 2, 2, 1, bytes("x"))));
        SimulationFailure f = assertThrows(SimulationFailure.class, () -> checker.stream("p2", prev).delivered(3, wrongPrev));
        assertTrue(f.getMessage().contains("at revision 3"), f.getMessage());
    }

    @Test
    void compactedOnlyBelowTheCompactionPointAndNotPastTheHistory() {
        WatchChecker.Stream s = checker.stream("w", EVERY_KEY);
        s.delivered(3, committed(EVERY_KEY, 2, 3));
        // It needs revision 4, above the compaction point 3: its history is there.
        assertThrows(SimulationFailure.class, () -> s.canceled(3));
        WatchChecker.Stream fromTwo = checker.stream("w2", EVERY_KEY);
        assertDoesNotThrow(() -> fromTwo.canceled(3));
        assertThrows(SimulationFailure.class, () -> fromTwo.delivered(3, List.of()));
        assertThrows(SimulationFailure.class, () -> checker.stream("w3", EVERY_KEY).canceled(4));
        assertThrows(SimulationFailure.class, () -> checker.stream("w4", EVERY_KEY).delivered(6, List.of()));
    }
}
