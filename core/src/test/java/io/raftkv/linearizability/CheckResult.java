package io.raftkv.linearizability;

import java.util.List;
import java.util.Objects;

/**
 * What {@link LinearizabilityChecker} concluded about a history.
 *
 * @param key the key whose history is not linearizable or ran over the state budget; null when
 *     the whole history is linearizable
 * @param keyHistory every operation on that key, in the order the caller gave them; empty when
 *     the whole history is linearizable
 * @param explanation a report for humans; for a violation it shows where the search got stuck
 * @param statesExplored search states visited over all keys checked, a measure of the work done
 */
public record CheckResult(
        Verdict verdict, String key, List<Operation> keyHistory, String explanation, long statesExplored) {

    public enum Verdict {
        LINEARIZABLE,
        NOT_LINEARIZABLE,
        /** The search gave up: the history may or may not be linearizable. */
        BUDGET_EXCEEDED
    }

    public CheckResult {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(explanation, "explanation");
        keyHistory = List.copyOf(keyHistory);
        if ((verdict == Verdict.LINEARIZABLE) != (key == null)) {
            throw new IllegalArgumentException("a key is named exactly when the verdict is not LINEARIZABLE");
        }
    }

    public boolean ok() {
        return verdict == Verdict.LINEARIZABLE;
    }

    @Override
    public String toString() {
        return verdict + ": " + explanation;
    }
}
