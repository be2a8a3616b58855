package io.raftkv.linearizability;

import io.raftkv.linearizability.CheckResult.Verdict;
import io.raftkv.linearizability.Operation.Kind;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Decides whether a history of PUT/DELETE/GET calls on a key/value store is linearizable.
 *
 * <p>Every key is an independent register that starts absent, so the history is split by key and
 * each key is checked alone (P-compositionality, as Porcupine does): a history is linearizable iff
 * every key's history is. Each key gets Wing and Gong's depth-first search with Lowe's cache:
 * call and return events, sorted by time, sit in a doubly linked list; the search linearizes the
 * earliest pending call whose effect agrees with the register, remembers every (set of linearized
 * calls, register value) pair it has entered so that none is explored twice, and backtracks when it
 * reaches the return of a call it has not linearized yet. The search is iterative because a key may
 * carry thousands of calls, far deeper than a thread stack.
 *
 * <p>Time: call A precedes call B iff {@code A.completeTime < B.invokeTime}; equal timestamps
 * overlap. A call with an unknown outcome never returns: it may take effect at any point after its
 * invocation, or never, which is the same as taking effect after everything else. Such calls stay
 * pending to the end, so left unchecked they would multiply the states at every step; two rules
 * (see {@link KeySearch#run}) limit them to the orders that matter, and skip only orders that are
 * equivalent to ones still explored.
 */
public final class LinearizabilityChecker {

    /** Enough for thousands of calls per key at the concurrency of a test cluster; ~100 bytes each. */
    public static final long STATES_PER_KEY_MAX_DEFAULT = 5_000_000;

    // A failure report names the few calls around the point of failure; thousands of lines would hide them.
    private static final int PREFIX_OPS_SHOWN_MAX = 20;
    private static final int PENDING_OPS_SHOWN_MAX = 20;

    private LinearizabilityChecker() {
    }

    public static CheckResult check(List<Operation> history) {
        return check(history, STATES_PER_KEY_MAX_DEFAULT);
    }

    /**
     * Checks keys in sorted order and stops at the first key that is not linearizable. A key that
     * runs over {@code maxStatesPerKey} does not stop the check, because a definite violation on a
     * later key is worth more than "don't know".
     */
    public static CheckResult check(List<Operation> history, long maxStatesPerKey) {
        Objects.requireNonNull(history, "history");
        if (maxStatesPerKey < 1) {
            throw new IllegalArgumentException("maxStatesPerKey must be positive: " + maxStatesPerKey);
        }
        // Sorted so that the verdict and the key it names do not depend on hash order.
        Map<String, List<Operation>> historyByKey = new TreeMap<>();
        for (Operation operation : history) {
            Objects.requireNonNull(operation, "history holds a null operation");
            historyByKey.computeIfAbsent(operation.key(), key -> new ArrayList<>()).add(operation);
        }
        long statesTotal = 0;
        String keyOverBudget = null;
        String explanationOverBudget = null;
        for (Map.Entry<String, List<Operation>> entry : historyByKey.entrySet()) {
            KeySearch search = new KeySearch(entry.getKey(), entry.getValue(), maxStatesPerKey);
            Verdict verdict = search.run();
            statesTotal += search.statesExplored;
            if (verdict == Verdict.NOT_LINEARIZABLE) {
                return new CheckResult(
                        verdict, entry.getKey(), entry.getValue(), search.explainViolation(), statesTotal);
            }
            if (verdict == Verdict.BUDGET_EXCEEDED && keyOverBudget == null) {
                keyOverBudget = entry.getKey();
                explanationOverBudget = search.explainBudget();
            }
        }
        if (keyOverBudget != null) {
            return new CheckResult(Verdict.BUDGET_EXCEEDED, keyOverBudget, historyByKey.get(keyOverBudget),
                    explanationOverBudget, statesTotal);
        }
        String explanation = history.size() + " operations on " + historyByKey.size()
                + " keys are linearizable (" + statesTotal + " states explored)";
        return new CheckResult(Verdict.LINEARIZABLE, null, List.of(), explanation, statesTotal);
    }

    /** The search over one key's history. Single use: construct, {@link #run}, then explain. */
    private static final class KeySearch {

        private static final int ABSENT = 0;
        private static final int REJECTED = -1;
        private static final int NONE = -1;

        private final String key;
        private final long statesMax;
        private final int droppedGetCount;

        /** Calls with a known outcome first (indices below knownCount), then the rest; each group in call order. */
        private final Operation[] ops;
        private final int knownCount;
        /** Register values as small ints so that a state is cheap to hash; index 0 is "absent". */
        private final List<String> valueNames = new ArrayList<>();
        /** The value a PUT, DELETE or CAS leaves in the register, or the value a GET read. */
        private final int[] opValue;
        /** The value a GET read or a CAS expected, NONE for blind writes: what the register must hold for it. */
        private final int[] opRead;
        /** Per register value, the unknown-outcome writes leaving it, in call order. */
        private final int[][] unknownWritersByValue;
        /** Per register value, how many of those writes are linearized; always the first ones (see run). */
        private final int[] unknownWritersUsed;
        private final int[] callEventOfOp;

        // The event list: ids are positions in time order; HEAD and TAIL are sentinels.
        private final int[] eventOp;
        private final boolean[] eventIsCall;
        /** For a call event, its return event; NONE for calls that never return. */
        private final int[] eventReturn;
        private final int[] next;
        private final int[] prev;
        private final int head;
        private final int tail;

        // The calls linearized so far, as bit sets: one over known-outcome calls, one over the rest.
        private final long[] knownLinearized;
        private final long[] unknownLinearized;
        private final Set<StateKey> statesSeen = new HashSet<>();
        long statesExplored;

        /** The longest sequence of calls the search linearized before getting stuck, for the report. */
        private int[] bestPrefixOps = new int[0];
        private int bestPrefixState = ABSENT;

        KeySearch(String key, List<Operation> keyHistory, long statesMax) {
            this.key = key;
            this.statesMax = statesMax;
            List<Operation> known = new ArrayList<>();
            List<Operation> unknown = new ArrayList<>();
            int dropped = 0;
            for (Operation operation : keyHistory) {
                if (!operation.unknown()) {
                    known.add(operation);
                } else if (operation.kind() == Kind.GET) {
                    dropped++; // it returned nothing, so it constrains nothing
                } else {
                    unknown.add(operation);
                }
            }
            droppedGetCount = dropped;
            // Stable sorts: calls invoked at the same time keep the caller's order, so runs repeat exactly.
            known.sort(Comparator.comparingLong(Operation::invokeTime));
            unknown.sort(Comparator.comparingLong(Operation::invokeTime));
            knownCount = known.size();
            int opCount = knownCount + unknown.size();
            ops = new Operation[opCount];
            for (int i = 0; i < knownCount; i++) {
                ops[i] = known.get(i);
            }
            for (int i = knownCount; i < opCount; i++) {
                ops[i] = unknown.get(i - knownCount);
            }

            valueNames.add(null);
            Map<String, Integer> valueIds = new HashMap<>();
            opValue = new int[opCount];
            opRead = new int[opCount];
            for (int i = 0; i < opCount; i++) {
                Operation operation = ops[i];
                String value = switch (operation.kind()) {
                    case PUT, CAS -> operation.input();
                    case DELETE -> null;
                    case GET -> operation.output();
                };
                opValue[i] = valueId(valueIds, value);
                // An unknown-outcome CAS is checked as an unknown PUT: it reads nothing.
                boolean reads = operation.kind() == Kind.GET || operation.kind() == Kind.CAS && i < knownCount;
                opRead[i] = reads ? valueId(valueIds, operation.output()) : NONE;
            }
            int[] writerCounts = new int[valueNames.size()];
            for (int i = knownCount; i < opCount; i++) {
                writerCounts[opValue[i]]++;
            }
            unknownWritersByValue = new int[valueNames.size()][];
            for (int value = 0; value < valueNames.size(); value++) {
                unknownWritersByValue[value] = new int[writerCounts[value]];
            }
            unknownWritersUsed = new int[valueNames.size()];
            int[] writersFilled = new int[valueNames.size()];
            for (int i = knownCount; i < opCount; i++) {
                unknownWritersByValue[opValue[i]][writersFilled[opValue[i]]++] = i;
            }

            // Event descriptors: d < opCount is the call of op d, otherwise the return of op d - opCount.
            int eventCount = opCount + knownCount;
            Integer[] order = new Integer[eventCount];
            for (int d = 0; d < eventCount; d++) {
                order[d] = d;
            }
            // Calls sort before returns at the same time: equal timestamps mean the calls overlap.
            Arrays.sort(order, Comparator
                    .<Integer>comparingLong(d -> d < opCount ? ops[d].invokeTime() : ops[d - opCount].completeTime())
                    .thenComparingInt(d -> d < opCount ? 0 : 1)
                    .thenComparingInt(d -> d));
            eventOp = new int[eventCount];
            eventIsCall = new boolean[eventCount];
            eventReturn = new int[eventCount];
            callEventOfOp = new int[opCount];
            int[] returnEventOfOp = new int[opCount];
            Arrays.fill(returnEventOfOp, NONE);
            for (int event = 0; event < eventCount; event++) {
                int d = order[event];
                eventIsCall[event] = d < opCount;
                eventOp[event] = d < opCount ? d : d - opCount;
                if (d < opCount) {
                    callEventOfOp[d] = event;
                } else {
                    returnEventOfOp[d - opCount] = event;
                }
            }
            Arrays.fill(eventReturn, NONE);
            for (int op = 0; op < opCount; op++) {
                eventReturn[callEventOfOp[op]] = returnEventOfOp[op];
            }
            head = eventCount;
            tail = eventCount + 1;
            next = new int[eventCount + 2];
            prev = new int[eventCount + 2];
            int previous = head;
            for (int event = 0; event < eventCount; event++) {
                next[previous] = event;
                prev[event] = previous;
                previous = event;
            }
            next[previous] = tail;
            prev[tail] = previous;

            knownLinearized = new long[(knownCount + 63) >>> 6];
            unknownLinearized = new long[(opCount - knownCount + 63) >>> 6];
        }

        /**
         * The search. Calls with an unknown outcome are never picked up by the scan itself; they are
         * tried only for a GET that reads a value the register does not hold, and then the GET must
         * come right after. Two rules, each dropping only orders that have an equivalent one left:
         * <ul>
         * <li>An unknown-outcome write that no GET observes right away can be removed from any valid
         * order (the next write hides it, or nothing follows it), and a removed call counts as taking
         * effect last. So it is placed only just before a GET that reads its value.</li>
         * <li>Of the unlinearized unknown-outcome writes leaving the same value, the one invoked first
         * goes first: from the moment the later one is pending both are, and neither ever returns,
         * so swapping them keeps any order valid. Hence the linearized ones are always a prefix of
         * {@link #unknownWritersByValue}, counted by {@link #unknownWritersUsed}.</li>
         * </ul>
         */
        Verdict run() {
            int opCount = ops.length;
            // The path from the empty linearization to the current state, for backtracking.
            int[] pathEvent = new int[opCount];
            int[] pathResumeEvent = new int[opCount];
            int[] pathState = new int[opCount];
            boolean[] pathMustRead = new boolean[opCount];
            int depth = 0;
            int state = ABSENT;
            // True right after an unknown-outcome write: only a GET that observes it may come next.
            boolean mustRead = false;
            // The first return event in the list: only calls before it may be linearized next. Found lazily.
            int frontier = NONE;
            int knownLeft = knownCount;
            if (knownLeft == 0) {
                return Verdict.LINEARIZABLE;
            }
            int entry = next[head];
            while (true) {
                if (entry == tail) {
                    // Every known call's return follows its call, so a scan meets a return before the end.
                    throw new IllegalStateException("event scan ran off the list with " + knownLeft + " calls left");
                }
                if (!eventIsCall[entry]) {
                    // The call returning here is not linearized, and nothing later may go before it.
                    if (!mustRead && depth > bestPrefixOps.length) {
                        rememberPrefix(pathEvent, depth, state);
                    }
                    if (depth == 0) {
                        return Verdict.NOT_LINEARIZABLE;
                    }
                    depth--;
                    int lifted = pathEvent[depth];
                    int op = eventOp[lifted];
                    state = pathState[depth];
                    mustRead = pathMustRead[depth];
                    unlift(lifted);
                    setLinearized(op, false);
                    if (op < knownCount) {
                        knownLeft++;
                    } else {
                        unknownWritersUsed[opValue[op]]--;
                    }
                    frontier = NONE;
                    entry = next[pathResumeEvent[depth]];
                    continue;
                }
                int op = eventOp[entry];
                if (op >= knownCount) {
                    entry = next[entry];
                    continue;
                }
                int lifting = NONE;
                int newState = stepOrReject(op, state, mustRead);
                if (newState != REJECTED) {
                    if (enterIfNew(op, newState, false)) {
                        lifting = entry;
                    }
                } else if (!mustRead) {
                    // Only a GET or a CAS is rejected outside mustRead: it needs a value the register lacks,
                    // which an unknown-outcome write may supply.
                    int value = opRead[op];
                    int writersUsed = unknownWritersUsed[value];
                    if (writersUsed < unknownWritersByValue[value].length) {
                        int writer = unknownWritersByValue[value][writersUsed];
                        if (frontier == NONE) {
                            frontier = firstReturnFrom(entry);
                        }
                        if (callEventOfOp[writer] < frontier && enterIfNew(writer, value, true)) {
                            lifting = callEventOfOp[writer];
                            newState = value;
                            unknownWritersUsed[value]++;
                        }
                    }
                }
                if (lifting == NONE) {
                    entry = next[entry];
                    continue;
                }
                if (statesExplored > statesMax) {
                    return Verdict.BUDGET_EXCEEDED;
                }
                pathEvent[depth] = lifting;
                pathResumeEvent[depth] = entry;
                pathState[depth] = state;
                pathMustRead[depth] = mustRead;
                depth++;
                state = newState;
                mustRead = lifting != entry;
                lift(lifting);
                frontier = NONE;
                if (lifting == entry && --knownLeft == 0) {
                    // Unknown-outcome calls still pending take effect last, which is always allowed.
                    return Verdict.LINEARIZABLE;
                }
                entry = next[head];
            }
        }

        /** The first return event at or after {@code event}, which must lie before the frontier. */
        private int firstReturnFrom(int event) {
            while (event != tail && eventIsCall[event]) {
                event = next[event];
            }
            return event;
        }

        private int valueId(Map<String, Integer> valueIds, String value) {
            if (value == null) {
                return ABSENT;
            }
            return valueIds.computeIfAbsent(value, v -> {
                valueNames.add(v);
                return valueNames.size() - 1;
            });
        }

        /**
         * The register value after linearizing the known-outcome call {@code op} next, or REJECTED. A GET or a CAS
         * needs the register to hold what it read; a CAS also writes, and as an observer it may follow an
         * unknown-outcome write directly (mustRead).
         */
        private int stepOrReject(int op, int state, boolean mustRead) {
            if (opRead[op] != NONE) {
                return opRead[op] == state ? opValue[op] : REJECTED;
            }
            return mustRead ? REJECTED : opValue[op];
        }

        /** Marks {@code op} linearized if the resulting state is new (and counts it), else leaves it unmarked. */
        private boolean enterIfNew(int op, int newState, boolean newMustRead) {
            setLinearized(op, true);
            if (statesSeen.add(stateKey(newState, newMustRead))) {
                statesExplored++;
                return true;
            }
            setLinearized(op, false);
            return false;
        }

        /**
         * The cache key for the current linearized set plus a register state. The known-call bits
         * below the first unlinearized call are all ones and are left out, and so are trailing zero
         * words: what remains is about the width of the concurrency window, not of the history.
         */
        private StateKey stateKey(int state, boolean mustRead) {
            int fromWord = 0;
            while (fromWord < knownLinearized.length && knownLinearized[fromWord] == -1L) {
                fromWord++;
            }
            int toWord = knownLinearized.length;
            while (toWord > fromWord && knownLinearized[toWord - 1] == 0) {
                toWord--;
            }
            int unknownWords = unknownLinearized.length;
            while (unknownWords > 0 && unknownLinearized[unknownWords - 1] == 0) {
                unknownWords--;
            }
            int knownWords = toWord - fromWord;
            long[] words = new long[2 + knownWords + unknownWords];
            words[0] = ((long) state << 32) | ((long) fromWord << 1) | (mustRead ? 1 : 0);
            words[1] = knownWords;
            System.arraycopy(knownLinearized, fromWord, words, 2, knownWords);
            System.arraycopy(unknownLinearized, 0, words, 2 + knownWords, unknownWords);
            return new StateKey(words);
        }

        private void setLinearized(int op, boolean linearized) {
            long[] bits = op < knownCount ? knownLinearized : unknownLinearized;
            int bit = op < knownCount ? op : op - knownCount;
            if (linearized) {
                bits[bit >>> 6] |= 1L << bit;
            } else {
                bits[bit >>> 6] &= ~(1L << bit);
            }
        }

        /** Takes a call and its return out of the list. Undone by {@link #unlift} in reverse order. */
        private void lift(int callEvent) {
            unlink(callEvent);
            if (eventReturn[callEvent] != NONE) {
                unlink(eventReturn[callEvent]);
            }
        }

        private void unlift(int callEvent) {
            if (eventReturn[callEvent] != NONE) {
                relink(eventReturn[callEvent]);
            }
            relink(callEvent);
        }

        private void unlink(int event) {
            next[prev[event]] = next[event];
            prev[next[event]] = prev[event];
        }

        // An unlinked event keeps its own pointers, so relinking in reverse order restores the list.
        private void relink(int event) {
            next[prev[event]] = event;
            prev[next[event]] = event;
        }

        private void rememberPrefix(int[] pathEvent, int depth, int state) {
            bestPrefixOps = new int[depth];
            for (int i = 0; i < depth; i++) {
                bestPrefixOps[i] = eventOp[pathEvent[i]];
            }
            bestPrefixState = state;
        }

        private String describeSize() {
            int unknownCount = ops.length - knownCount;
            return ops.length + " operations on this key (" + unknownCount + " with unknown outcome"
                    + (droppedGetCount > 0 ? ", " + droppedGetCount + " unanswered GETs dropped" : "") + ")";
        }

        String explainBudget() {
            return "key " + Operation.showValue(key) + ": gave up after " + statesExplored + " states (budget "
                    + statesMax + " per key) on " + describeSize() + "; deepest dead end so far after "
                    + bestPrefixOps.length + " operations. The history may or may not be linearizable: raise the "
                    + "budget, or check shorter histories with fewer concurrent or unknown-outcome calls.";
        }

        /**
         * Shows where the search got stuck: the longest order it found, the register value after it,
         * and the calls that could come next, each with why it does not fit. The first call to return
         * among them bounds the choice: something must take effect before it returns.
         */
        String explainViolation() {
            StringBuilder text = new StringBuilder(4096);
            text.append("key ").append(Operation.showValue(key)).append(" is not linearizable: ")
                    .append(describeSize()).append(", ").append(statesExplored).append(" states explored.\n");
            text.append("Longest linearizable prefix found: ").append(bestPrefixOps.length).append(" of ")
                    .append(ops.length).append(" operations, after which the register holds ")
                    .append(Operation.showValue(valueNames.get(bestPrefixState))).append(":\n");
            int shownFrom = Math.max(0, bestPrefixOps.length - PREFIX_OPS_SHOWN_MAX);
            if (shownFrom > 0) {
                text.append("  ... ").append(shownFrom).append(" earlier operations not shown\n");
            }
            for (int i = shownFrom; i < bestPrefixOps.length; i++) {
                int op = bestPrefixOps[i];
                text.append("  ").append(ops[op]);
                if (op >= knownCount) {
                    text.append("   (outcome unknown; taken to have happened here)");
                }
                text.append('\n');
            }

            boolean[] inPrefix = new boolean[ops.length];
            for (int op : bestPrefixOps) {
                inPrefix[op] = true;
            }
            int blocker = NONE;
            for (int op = 0; op < knownCount; op++) {
                if (!inPrefix[op] && (blocker == NONE || ops[op].completeTime() < ops[blocker].completeTime())) {
                    blocker = op;
                }
            }
            if (blocker == NONE) {
                throw new IllegalStateException("a violation with every known call linearized: key " + key);
            }
            long blockingTime = ops[blocker].completeTime();
            text.append("No operation that may come next leads to a complete order (one of them must take effect")
                    .append(" before ").append(ops[blocker]).append(" returns at ").append(blockingTime).append("):\n");
            int shown = 0;
            int notShown = 0;
            // Unknown-outcome writes are pending from their invocation on; listing them all would bury the rest.
            for (int op = 0; op < knownCount; op++) {
                if (inPrefix[op] || ops[op].invokeTime() > blockingTime) {
                    continue;
                }
                if (shown == PENDING_OPS_SHOWN_MAX) {
                    notShown++;
                    continue;
                }
                shown++;
                text.append("  ").append(ops[op]).append("   <- ").append(whyNotNext(op, inPrefix, blockingTime))
                        .append('\n');
            }
            if (notShown > 0) {
                text.append("  ... and ").append(notShown).append(" more\n");
            }
            return text.toString();
        }

        private String whyNotNext(int op, boolean[] inPrefix, long blockingTime) {
            if (opRead[op] == NONE || opRead[op] == bestPrefixState) {
                return "fits here, but every continuation after it fails";
            }
            String why = (ops[op].kind() == Kind.CAS ? "expects " : "reads ") + Operation.showValue(valueNames.get(opRead[op]))
                    + " but the register holds " + Operation.showValue(valueNames.get(bestPrefixState));
            for (int writer : unknownWritersByValue[opRead[op]]) {
                if (!inPrefix[writer] && ops[writer].invokeTime() <= blockingTime) {
                    return why + " (" + ops[writer] + " could write it here, but that leads to a dead end too)";
                }
            }
            return why;
        }
    }

    /** A visited search state: linearized-call bits and register value packed in one array. */
    private static final class StateKey {
        private final long[] words;
        private final int hash;

        StateKey(long[] words) {
            this.words = words;
            this.hash = Arrays.hashCode(words);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof StateKey that && hash == that.hash && Arrays.equals(words, that.words);
        }
    }
}
