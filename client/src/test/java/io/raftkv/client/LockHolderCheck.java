package io.raftkv.client;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The check of the chaos lock holders ({@link ChaosLockHolders}), issue 12's proof for locks. Each holder takes one lock
 * over and over; inside, it writes its fencing token (the lock key's create revision) to a register with a transaction
 * that refuses a token below the last one written (etcd's fencing pattern), and notes when it entered and left. Its
 * unlock says whether its key was still there (it held the lock throughout) or gone (its session's lease ended while it
 * was inside: it lost the lock without knowing, and another holder may have been inside with it).
 *
 * <ul>
 *   <li>tokens are unique: each section's lock key was created at a revision of its own;</li>
 *   <li>no overlap, in the order of the tokens: a section that held its lock to its unlock ended before every section
 *       with a larger token entered (the next holder can only be handed the lock by that unlock);</li>
 *   <li>a section that held its lock to its unlock never had a write refused: no larger token was written meanwhile;</li>
 *   <li>the fence holds: ordered by revision, the accepted writes' tokens never go down; a refused write is justified
 *       by a larger token written before it (an accepted write at a lower revision, or an unknown one sent before it
 *       was answered);</li>
 *   <li>a section that lost its lock and overlapped a later holder had its fenced writes refused once the later holder
 *       had written: none of those was accepted;</li>
 *   <li>the register's final token is the largest accepted, or one of a write whose outcome is unknown and larger.</li>
 * </ul>
 *
 * Times are System.nanoTime of one JVM: every holder runs in the test's.
 */
final class LockHolderCheck {

    private static final int EXAMPLES_MAX = 5;

    /** How a section's unlock ended. */
    enum Release {
        /** The key was still there: the lock was held to the unlock. */
        HELD,
        /** The key was gone: the session's lease ended inside the section. */
        LOST,
        /** The unlock's answer was lost: either. */
        UNKNOWN
    }

    enum Outcome {
        /** The compare held: the token was written. */
        ACCEPTED,
        /** The compare failed: a larger token had been written. */
        REFUSED,
        /** The answer was lost: it may or may not have been applied. */
        UNKNOWN,
        /** The cluster said it was not applied (no leader in time): nothing to check. */
        NOT_APPLIED
    }

    /** One fenced write: its sequence in the section, when it was sent and answered, what came of it, its header revision. */
    record Write(int seq, long invoke, long complete, Outcome outcome, long revision) { }

    /** One critical section: who, with which token, from when to when (nanoTime), its writes, and how its unlock ended. */
    record Section(int holder, long token, long enter, long exit, List<Write> writes, Release release) {
        boolean held() {
            return release == Release.HELD;
        }

        String name() {
            return "holder " + holder + "'s section with token " + token;
        }
    }

    /** What the check found: the problems (empty when everything holds) and what it counted. */
    record Result(List<String> problems, int sections, int lost, int overlapped, int accepted, int refused, int unknown) {
        String summary() {
            return sections + " lock sections (" + lost + " lost their lock inside, " + overlapped + " of them overlapping a later holder), fenced writes: "
                    + accepted + " accepted, " + refused + " refused, " + unknown + " unknown";
        }
    }

    private LockHolderCheck() {
    }

    /** The problems found, at most {@value #EXAMPLES_MAX} examples of each kind, then how many more there were. */
    private static final class Problems {
        private final List<String> lines = new ArrayList<>();
        private final java.util.Map<String, Integer> counts = new java.util.LinkedHashMap<>();

        void add(String kind, String line) {
            int n = counts.merge(kind, 1, Integer::sum);
            if (n <= EXAMPLES_MAX) lines.add(line);
        }

        List<String> list() {
            List<String> all = new ArrayList<>(lines);
            counts.forEach((kind, n) -> {
                if (n > EXAMPLES_MAX) all.add("... " + (n - EXAMPLES_MAX) + " more: " + kind);
            });
            return all;
        }
    }

    /** {@code finalToken}: the register's token read at the end (0 if none was ever written). */
    static Result check(List<Section> sections, long finalToken) {
        Problems problems = new Problems();
        List<Section> byToken = new ArrayList<>(sections);
        byToken.sort(Comparator.comparingLong(Section::token));

        Set<Long> tokens = new HashSet<>();
        for (Section s : byToken) if (!tokens.add(s.token())) problems.add("duplicate tokens", "two sections have token " + s.token());

        // No overlap in the order of the tokens, for every section that held its lock to its unlock.
        for (int i = 0; i < byToken.size(); i++) {
            Section a = byToken.get(i);
            if (!a.held()) continue;
            for (int j = i + 1; j < byToken.size(); j++) {
                Section b = byToken.get(j);
                if (b.token() > a.token() && b.enter() <= a.exit()) {
                    problems.add("two holders at once", b.name() + " entered " + micros(a.exit() - b.enter()) + " µs before " + a.name()
                            + " left, and that one held its lock to its unlock: two holders at once");
                }
            }
            for (Write w : a.writes()) {
                if (w.outcome() == Outcome.REFUSED) problems.add("a holder's write refused while it held the lock", a.name() + " held its lock throughout, yet its write " + w.seq() + " was refused by the fence");
            }
        }

        // The fence: accepted tokens never go down in revision order; each refusal has a larger token before it.
        record Written(Section section, Write write) { }
        List<Written> accepted = new ArrayList<>();
        List<Written> refused = new ArrayList<>();
        List<Written> unknown = new ArrayList<>();
        for (Section s : sections) {
            for (Write w : s.writes()) {
                switch (w.outcome()) {
                    case ACCEPTED -> accepted.add(new Written(s, w));
                    case REFUSED -> refused.add(new Written(s, w));
                    case UNKNOWN -> unknown.add(new Written(s, w));
                    case NOT_APPLIED -> { }
                }
            }
        }
        accepted.sort(Comparator.comparingLong(x -> x.write().revision()));
        for (int i = 1; i < accepted.size(); i++) {
            Written before = accepted.get(i - 1);
            Written now = accepted.get(i);
            if (now.section().token() < before.section().token()) {
                problems.add("tokens that went back", "the fence let a token go back: " + now.section().name() + " was written at revision " + now.write().revision()
                        + ", after token " + before.section().token() + " at revision " + before.write().revision());
            }
        }
        for (Written r : refused) {
            long token = r.section().token();
            // A refused txn writes nothing: its header names the store's revision as it was evaluated, which is the larger
            // token's own write when that was the last before it.
            boolean larger = accepted.stream().anyMatch(a -> a.section().token() > token && a.write().revision() <= r.write().revision())
                    || unknown.stream().anyMatch(u -> u.section().token() > token && u.write().invoke() < r.write().complete());
            if (!larger) problems.add("refusals without a larger token", r.section().name() + ": write " + r.write().seq() + " was refused at revision " + r.write().revision()
                    + " though no larger token had been written");
        }

        // A section that lost its lock and overlapped a later holder: its writes after the later one's were refused.
        int lost = 0;
        int overlapped = 0;
        for (Section a : byToken) {
            if (a.held()) continue;
            lost++;
            boolean overlaps = false;
            for (Section b : byToken) {
                if (b.token() <= a.token() || b.enter() > a.exit()) continue;
                overlaps = true;
                long laterWrote = Long.MAX_VALUE;
                for (Write w : b.writes()) if (w.outcome() == Outcome.ACCEPTED) laterWrote = Math.min(laterWrote, w.complete());
                for (Write w : a.writes()) {
                    if (w.invoke() > laterWrote && w.outcome() == Outcome.ACCEPTED) {
                        problems.add("late writes of a holder that lost its lock accepted", a.name() + " lost its lock and overlapped " + b.name() + ", and its write " + w.seq()
                                + ", sent after that holder had written, was accepted: the fence failed");
                    }
                }
            }
            if (overlaps) overlapped++;
        }

        long largestAccepted = accepted.stream().mapToLong(a -> a.section().token()).max().orElse(0);
        boolean finalIsKnown = finalToken == largestAccepted
                || (finalToken > largestAccepted && unknown.stream().anyMatch(u -> u.section().token() == finalToken));
        if (!finalIsKnown) problems.add("final token", "the register ended with token " + finalToken + ", the largest accepted is " + largestAccepted);

        return new Result(problems.list(), sections.size(), lost, overlapped, accepted.size(), refused.size(), unknown.size());
    }

    private static long micros(long nanos) {
        return nanos / 1_000;
    }
}
