package io.raftkv.linearizability;

import static io.raftkv.linearizability.Operation.cas;
import static io.raftkv.linearizability.Operation.delete;
import static io.raftkv.linearizability.Operation.deleteUnknown;
import static io.raftkv.linearizability.Operation.get;
import static io.raftkv.linearizability.Operation.getUnknown;
import static io.raftkv.linearizability.Operation.put;
import static io.raftkv.linearizability.Operation.putUnknown;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.raftkv.linearizability.CheckResult.Verdict;
import io.raftkv.linearizability.Operation.Kind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The checker must accept every history a correct register can produce and reject the classic
 * anomalies: stale reads, lost writes, values from nowhere, resurrected deletes.
 */
class LinearizabilityCheckerTest {

    // ---- histories a correct store can produce ----

    // ---- compare-and-swap: a read of what it expected and a write, at one point ----

    @Test
    void compareAndSwapsChainedOnTheValuesTheyFound() {
        assertLinearizable(List.of(
                put(1, "c", "0", 0, 1),
                cas(1, "c", "0", "1", 2, 5),
                cas(2, "c", "1", "2", 3, 6),   // concurrent with the first: it may follow it
                get(1, "c", "2", 7, 8)));
    }

    @Test
    void twoCompareAndSwapsCannotBothWinOnOneValue() {
        assertViolation("c", List.of(
                put(1, "c", "0", 0, 1),
                cas(1, "c", "0", "1", 2, 5),
                cas(2, "c", "0", "2", 3, 6)));
    }

    @Test
    void aCompareAndSwapMayFindAnUnknownOutcomeWrite() {
        assertLinearizable(List.of(
                put(1, "c", "0", 0, 1),
                putUnknown(2, "c", "x", 2),
                cas(1, "c", "x", "y", 3, 4),
                get(1, "c", "y", 5, 6)));
    }

    @Test
    void aCompareAndSwapCannotFindAValueOverwrittenBeforeIt() {
        assertViolation("c", List.of(
                put(1, "c", "0", 0, 1),
                put(1, "c", "1", 2, 3),
                cas(2, "c", "0", "2", 4, 5)));
    }

    @Test
    void emptyHistoryIsLinearizable() {
        assertLinearizable(List.of());
    }

    @Test
    void sequentialPutsAndGets() {
        assertLinearizable(List.of(
                get(1, "x", null, 0, 1),
                put(1, "x", "a", 2, 3),
                get(2, "x", "a", 4, 5),
                put(2, "x", "b", 6, 7),
                get(1, "x", "b", 8, 9),
                get(1, "y", null, 10, 11)));
    }

    @Test
    void getConcurrentWithPutMaySeeOldValue() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                put(1, "x", "b", 2, 10),
                get(2, "x", "a", 3, 4)));
    }

    @Test
    void getConcurrentWithPutMaySeeNewValue() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                put(1, "x", "b", 2, 10),
                get(2, "x", "b", 3, 4)));
    }

    @Test
    void equalTimestampsCountAsConcurrent() {
        assertLinearizable(List.of(put(1, "x", "a", 0, 5), get(2, "x", null, 5, 6)));
        assertLinearizable(List.of(put(1, "x", "a", 0, 5), get(2, "x", "a", 5, 6)));
    }

    @Test
    void concurrentPutsThenReadsSeeWhicheverWentLast() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 10),
                put(2, "x", "b", 1, 9),
                get(3, "x", "a", 11, 12),
                get(1, "x", "a", 13, 14)));
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 10),
                put(2, "x", "b", 1, 9),
                get(3, "x", "b", 11, 12),
                get(1, "x", "b", 13, 14)));
    }

    @Test
    void concurrentReadsMayDisagreeWhileTheWriteIsInFlight() {
        // The write takes effect between the two overlapping reads.
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                put(1, "x", "b", 2, 20),
                get(2, "x", "a", 3, 10),
                get(3, "x", "b", 4, 11)));
    }

    @Test
    void deletes() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                delete(1, "x", 2, 3),
                get(2, "x", null, 4, 5),
                put(2, "x", "b", 6, 7),
                get(1, "x", "b", 8, 9),
                delete(2, "x", 10, 20),
                get(1, "x", "b", 11, 12),
                get(3, "x", null, 13, 14),
                delete(1, "never-written", 21, 22)));
    }

    @Test
    void unknownOutcomePutThatLaterReadsSee() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                putUnknown(2, "x", "b", 2),
                get(3, "x", "a", 50, 51), // not yet applied: the write may take effect arbitrarily late
                get(3, "x", "b", 100, 101),
                get(1, "x", "b", 102, 103)));
    }

    @Test
    void unknownOutcomePutThatNoReadSees() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                putUnknown(2, "x", "b", 2),
                get(3, "x", "a", 100, 101),
                get(1, "x", "a", 200, 201)));
    }

    @Test
    void unknownOutcomeDeleteThatLaterReadsSee() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                deleteUnknown(2, "x", 2),
                get(3, "x", "a", 3, 4),
                get(3, "x", null, 5, 6)));
    }

    @Test
    void unansweredGetsAreIgnored() {
        assertLinearizable(List.of(
                put(1, "x", "a", 0, 1),
                getUnknown(2, "x", 2),
                new Operation(3, Kind.GET, "x", null, "garbage", 3, Operation.UNKNOWN),
                get(1, "x", "a", 4, 5)));
    }

    @Test
    void manyIndependentKeys() {
        List<Operation> history = new ArrayList<>();
        long time = 0;
        for (int round = 0; round < 50; round++) {
            for (int k = 0; k < 40; k++) {
                String key = "k" + k;
                // Each key's write overlaps writes of other keys: only same-key order matters.
                history.add(put(k % 5, key, "v" + round, time, time + 3));
                history.add(get((k + 1) % 5, key, "v" + round, time + 4, time + 5));
                time += 2;
            }
        }
        CheckResult result = LinearizabilityChecker.check(history);
        assertTrue(result.ok(), result::toString);
        assertTrue(result.explanation().contains("40 keys"), result::toString);
    }

    // ---- anomalies the checker must catch ----

    @Test
    void staleReadAfterCompletedPut() {
        CheckResult result = assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                put(1, "x", "b", 2, 3),
                get(2, "x", "a", 4, 5)));
        assertTrue(result.explanation().contains("client 2 GET \"x\" -> \"a\" [4, 5]"), result::toString);
        assertTrue(result.explanation().contains("but the register holds \"b\""), result::toString);
    }

    @Test
    void staleReadAfterAnotherReadSawTheNewValue() {
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                put(1, "x", "b", 2, 20),
                get(2, "x", "b", 3, 4),
                get(3, "x", "a", 5, 6)));
    }

    @Test
    void valueFlipsBackAfterConcurrentPuts() {
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 10),
                put(2, "x", "b", 1, 9),
                get(3, "x", "b", 11, 12),
                get(1, "x", "a", 13, 14)));
    }

    @Test
    void lostWriteReadsAbsent() {
        assertViolation("x", List.of(put(1, "x", "a", 0, 1), get(2, "x", null, 2, 3)));
    }

    @Test
    void lostWriteReadsOlderValue() {
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                get(2, "x", "a", 2, 3),
                put(1, "x", "b", 4, 5),
                get(2, "x", "a", 6, 7)));
    }

    @Test
    void readOfValueNeverWritten() {
        CheckResult result = assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                get(2, "x", "zzz", 0, 5)));
        assertTrue(result.explanation().contains("reads \"zzz\""), result::toString);
    }

    @Test
    void readOfDeletedKeyAfterDeleteCompleted() {
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                delete(1, "x", 2, 3),
                get(2, "x", "a", 4, 5)));
    }

    @Test
    void unknownOutcomeWriteTakesEffectAtMostOnce() {
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                deleteUnknown(2, "x", 2),
                get(3, "x", null, 3, 4),
                put(1, "x", "a", 5, 6),
                get(3, "x", "a", 7, 8),
                get(3, "x", null, 9, 10)));
        assertViolation("x", List.of(
                put(1, "x", "a", 0, 1),
                putUnknown(2, "x", "b", 2),
                get(3, "x", "b", 10, 11),
                get(3, "x", "a", 12, 13)));
    }

    @Test
    void unknownOutcomeWriteCannotTakeEffectBeforeItsInvocation() {
        assertViolation("x", List.of(
                get(1, "x", "b", 0, 1),
                putUnknown(2, "x", "b", 2)));
    }

    @Test
    void violationOnOneKeyAmongManyNamesThatKey() {
        List<Operation> history = new ArrayList<>();
        for (int k = 0; k < 50; k++) {
            String key = "k" + k;
            history.add(put(1, key, "a", 10 * k, 10 * k + 1));
            history.add(put(2, key, "b", 10 * k + 2, 10 * k + 3));
            // Key k17 reads the overwritten value.
            history.add(get(3, key, k == 17 ? "a" : "b", 10 * k + 4, 10 * k + 5));
        }
        CheckResult result = assertViolation("k17", history);
        assertEquals(3, result.keyHistory().size());
        assertTrue(result.keyHistory().stream().allMatch(op -> op.key().equals("k17")));
        assertTrue(result.explanation().contains("key \"k17\""), result::toString);
    }

    @Test
    void tinyBudgetGivesUpWithoutAVerdict() {
        List<Operation> history = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            history.add(put(i, "x", "v" + i, 0, 100));
        }
        history.add(get(99, "x", "nobody wrote this", 101, 102));
        CheckResult result = LinearizabilityChecker.check(history, 100);
        assertEquals(Verdict.BUDGET_EXCEEDED, result.verdict(), result::toString);
        assertEquals("x", result.key());
        // The budget is a real limit, not a hint.
        assertTrue(result.statesExplored() <= 101, result::toString);
    }

    @Test
    void aDefiniteViolationOutranksABudgetOverrun() {
        List<Operation> history = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            history.add(put(i, "a", "v" + i, 0, 100));
        }
        history.add(get(99, "a", "nobody wrote this", 101, 102));
        history.add(put(1, "b", "v", 0, 1));
        history.add(get(1, "b", null, 2, 3));
        CheckResult result = LinearizabilityChecker.check(history, 100);
        assertEquals(Verdict.NOT_LINEARIZABLE, result.verdict(), result::toString);
        assertEquals("b", result.key());
    }

    @Test
    void malformedOperationsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> put(1, "x", "a", 5, 4));
        assertThrows(IllegalArgumentException.class, () -> put(1, "x", null, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> get(1, "x", "a", Operation.UNKNOWN, Operation.UNKNOWN));
        assertThrows(IllegalArgumentException.class, () -> LinearizabilityChecker.check(List.of(), 0));
    }

    @Test
    void operationsPrintReadably() {
        assertEquals("client 3 PUT \"k\" = \"v7\" [12, 15]", put(3, "k", "v7", 12, 15).toString());
        assertEquals("client 1 GET \"k\" -> absent [4, 9]", get(1, "k", null, 4, 9).toString());
        assertEquals("client 2 DELETE \"k\" [4, unknown]", deleteUnknown(2, "k", 4).toString());
        assertTrue(putUnknown(2, "k", "v", 4).unknown());
    }

    // ---- generated histories ----

    private static final int SIMULATED_CLIENTS = 6;
    private static final int SIMULATED_KEYS = 3;
    private static final int SIMULATED_OPS = 6_000;
    private static final int SIMULATED_SEEDS = 5;

    @Test
    void simulatedRegisterHistoriesAreLinearizableAndCorruptingOneReadIsCaught() {
        for (long seed = 1; seed <= SIMULATED_SEEDS; seed++) {
            List<Operation> history = simulate(seed, SIMULATED_CLIENTS, SIMULATED_KEYS, SIMULATED_OPS, 0.02);
            assertEquals(SIMULATED_OPS, history.size());
            assertTrue(history.stream().anyMatch(Operation::unknown), "seed " + seed + " has no unknown outcomes");

            CheckResult result = LinearizabilityChecker.check(history);
            assertEquals(Verdict.LINEARIZABLE, result.verdict(), () -> "seed " + result);
            assertTrue(result.statesExplored() < LinearizabilityChecker.STATES_PER_KEY_MAX_DEFAULT);

            Random random = new Random(seed);
            int victim;
            do {
                victim = random.nextInt(history.size());
            } while (history.get(victim).kind() != Kind.GET || history.get(victim).unknown());
            List<Operation> corrupted = new ArrayList<>(history);
            corrupted.set(victim, history.get(victim).withOutput("never-written"));
            CheckResult bad = LinearizabilityChecker.check(corrupted);
            assertEquals(Verdict.NOT_LINEARIZABLE, bad.verdict(), bad::toString);
            assertEquals(history.get(victim).key(), bad.key());
            assertTrue(bad.explanation().contains("reads \"never-written\""), bad::toString);
        }
    }

    private static final int TINY_HISTORIES = 20_000;
    private static final int TINY_OPS_MAX = 7;

    /**
     * Small random histories, many of them not linearizable, checked against a brute-force search
     * over every order. Few values and many unknown outcomes exercise the checker's shortcuts for
     * unknown-outcome writes, which must never change a verdict.
     */
    @Test
    void agreesWithBruteForceOnTinyHistories() {
        Random random = new Random(42);
        String[] values = {null, "a", "b", "c"};
        int linearizableCount = 0;
        for (int i = 0; i < TINY_HISTORIES; i++) {
            List<Operation> history = new ArrayList<>();
            int opCount = 1 + random.nextInt(TINY_OPS_MAX);
            for (int op = 0; op < opCount; op++) {
                long invoke = random.nextInt(10);
                long complete = random.nextInt(5) == 0 ? Operation.UNKNOWN : invoke + random.nextInt(6);
                int dice = random.nextInt(12);
                if (dice < 4) {
                    history.add(put(op, "x", values[1 + random.nextInt(3)], invoke, complete));
                } else if (dice < 6) {
                    history.add(delete(op, "x", invoke, complete));
                } else if (dice < 10) {
                    history.add(get(op, "x", values[random.nextInt(4)], invoke, complete));
                } else {
                    history.add(cas(op, "x", values[1 + random.nextInt(3)], values[1 + random.nextInt(3)], invoke, complete));
                }
            }
            boolean expected = bruteForceLinearizable(history);
            CheckResult result = LinearizabilityChecker.check(history);
            assertEquals(expected ? Verdict.LINEARIZABLE : Verdict.NOT_LINEARIZABLE, result.verdict(),
                    () -> "history " + history + "\n" + result);
            linearizableCount += expected ? 1 : 0;
        }
        // Both verdicts must be well represented, or the comparison proves little.
        assertTrue(linearizableCount > TINY_HISTORIES / 5, "linearizable: " + linearizableCount);
        assertTrue(linearizableCount < TINY_HISTORIES * 4 / 5, "linearizable: " + linearizableCount);
    }

    /** Tries every order of the calls (unknown-outcome ones may also be left out) on one register. */
    private static boolean bruteForceLinearizable(List<Operation> history) {
        List<Operation> calls = history.stream().filter(op -> !(op.unknown() && op.kind() == Kind.GET)).toList();
        return bruteForce(calls, new boolean[calls.size()], null);
    }

    private static boolean bruteForce(List<Operation> calls, boolean[] placed, String register) {
        boolean knownLeft = false;
        for (int i = 0; i < calls.size(); i++) {
            knownLeft |= !placed[i] && !calls.get(i).unknown();
        }
        if (!knownLeft) {
            return true;
        }
        for (int i = 0; i < calls.size(); i++) {
            if (placed[i] || !mayGoNext(calls, placed, i)) {
                continue;
            }
            Operation call = calls.get(i);
            String after = switch (call.kind()) {
                case PUT, CAS -> call.input();
                case DELETE -> null;
                case GET -> register;
            };
            if (call.kind() == Kind.GET && !java.util.Objects.equals(call.output(), register)) {
                continue;
            }
            // A CAS whose outcome is unknown is checked as an unknown PUT, as the checker does.
            if (call.kind() == Kind.CAS && !call.unknown() && !java.util.Objects.equals(call.output(), register)) {
                continue;
            }
            placed[i] = true;
            boolean ok = bruteForce(calls, placed, after);
            placed[i] = false;
            if (ok) {
                return true;
            }
        }
        return false;
    }

    /** No unplaced call returned before this one was invoked. */
    private static boolean mayGoNext(List<Operation> calls, boolean[] placed, int candidate) {
        for (int i = 0; i < calls.size(); i++) {
            if (!placed[i] && i != candidate && calls.get(i).completeTime() < calls.get(candidate).invokeTime()) {
                return false;
            }
        }
        return true;
    }

    /**
     * A correct register serving several clients. Each call gets a true linearization point a few
     * ticks after its invocation and completes a few ticks after that; the register is updated at
     * that point, so a GET returns exactly what a linearizable store would. A few calls lose their
     * answer: half of those still take effect, the other half never do.
     */
    private static List<Operation> simulate(long seed, int clientCount, int keyCount, int opCount,
            double unknownChance) {
        Random random = new Random(seed);
        Map<String, String> register = new HashMap<>();
        InFlight[] inFlight = new InFlight[clientCount];
        List<Operation> history = new ArrayList<>(opCount);
        int started = 0;
        int valueSeq = 0;
        long time = 0;
        while (history.size() < opCount) {
            time++;
            // Calls that take effect in the same tick overlap, so any order among them is valid.
            for (InFlight call : inFlight) {
                if (call != null && call.linearizeTime == time && call.takesEffect) {
                    switch (call.kind) {
                        case PUT -> register.put(call.key, call.input);
                        case DELETE -> register.remove(call.key);
                        case GET -> call.output = register.get(call.key);
                    }
                }
            }
            for (int client = 0; client < clientCount; client++) {
                InFlight call = inFlight[client];
                if (call != null && call.completeTime == time) {
                    history.add(new Operation(client, call.kind, call.key, call.input, call.output,
                            call.invokeTime, call.unknown ? Operation.UNKNOWN : call.completeTime));
                    inFlight[client] = null;
                }
            }
            for (int client = 0; client < clientCount; client++) {
                if (inFlight[client] != null || started == opCount || random.nextInt(3) != 0) {
                    continue;
                }
                started++;
                InFlight call = new InFlight();
                call.key = "k" + random.nextInt(keyCount);
                int dice = random.nextInt(100);
                call.kind = dice < 40 ? Kind.PUT : dice < 50 ? Kind.DELETE : Kind.GET;
                call.input = call.kind == Kind.PUT ? "v" + (++valueSeq) : null;
                call.invokeTime = time;
                call.linearizeTime = time + 1 + random.nextInt(6);
                call.completeTime = call.linearizeTime + random.nextInt(6);
                call.unknown = random.nextDouble() < unknownChance;
                call.takesEffect = !call.unknown || random.nextBoolean();
                inFlight[client] = call;
            }
        }
        return history;
    }

    private static final class InFlight {
        String key;
        Kind kind;
        String input;
        String output;
        long invokeTime;
        long linearizeTime;
        long completeTime;
        boolean unknown;
        boolean takesEffect;
    }

    // ---- helpers ----

    private static void assertLinearizable(List<Operation> history) {
        CheckResult result = LinearizabilityChecker.check(history);
        assertEquals(Verdict.LINEARIZABLE, result.verdict(), result::toString);
        assertTrue(result.ok());
    }

    private static CheckResult assertViolation(String key, List<Operation> history) {
        CheckResult result = LinearizabilityChecker.check(history);
        assertEquals(Verdict.NOT_LINEARIZABLE, result.verdict(), result::toString);
        assertEquals(key, result.key(), result::toString);
        assertTrue(result.explanation().contains("key \"" + key + "\""), result::toString);
        return result;
    }
}
