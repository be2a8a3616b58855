package io.raftkv.client;

import io.raftkv.protocol.KeyValue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The exact check of the CAS-counter workload ({@link CasCounterWorkload}). Each increment of counter {@code c}
 * is one transaction that, if the counter's mod_revision is still the one the client read, puts the counter's
 * new count at {@code cas/c<c>/n} and a key of its own, {@code cas/c<c>/t/<client>.<seq>} (its token), holding
 * the same count. Both land in one revision, so the store at the end is a complete record of what was applied:
 *
 * <ul>
 *   <li>every token key has version 1 (a second put of the same token is an increment applied twice);</li>
 *   <li>the counts of a counter's tokens are exactly 1..N, each once, where N is the counter's value (two tokens
 *       with one count are a lost update), and the counter was put exactly N times (its version);</li>
 *   <li>ordered by count, the tokens' mod revisions rise, the last one is the counter's, and no two tokens of any
 *       counter share a revision (one transaction, one revision);</li>
 *   <li>every increment acknowledged as succeeded is there, with the count and the revision its answer gave; an
 *       increment the cluster said was not applied is absent; one whose outcome is unknown is there at most once;
 *       no token is there that no client sent;</li>
 *   <li>an increment acknowledged before another began has the lower revision (real-time order);</li>
 *   <li>the header revisions each client saw, over all its reads and transactions in its order, never go back,
 *       and a transaction that wrote got a revision above every one the client had seen before; none is above the
 *       revision of the store read at the end (no revision a client saw was lost).</li>
 * </ul>
 */
final class CasCounterCheck {

    static final String PREFIX = "cas/";
    private static final int EXAMPLES_PER_KIND = 3;

    enum Outcome {
        /** The transaction's answer said it succeeded. */
        ACKNOWLEDGED,
        /** The answer was lost: it may or may not have been applied. */
        UNKNOWN,
        /** Every attempt was refused or failed its compare and the client gave up: it must not be there. */
        NOT_APPLIED
    }

    /**
     * One increment as its client saw it. {@code count} and {@code revision}: what the acknowledgement said (the
     * count written and the header revision); {@code invoke}/{@code complete}: the last attempt (nanoTime).
     */
    record Increment(String token, int counter, Outcome outcome, long count, long revision, long invoke, long complete) { }

    /** One answer a client got, in its order: the header revision, whether it wrote, who served it, what it was. */
    record Seen(long revision, boolean wrote, int member, String what) { }

    /** What the check found; {@code problems} empty when everything holds. */
    record Result(Problems found, long applied, int acknowledged, int unknown, int unknownApplied, int notApplied,
                  long[] finalCounts, long observations) {
        boolean ok() {
            return found.byKind.isEmpty();
        }

        String summary() {
            return acknowledged + " increments acknowledged, " + unknown + " unknown (" + unknownApplied + " of them applied), "
                    + notApplied + " not applied; counters " + java.util.Arrays.toString(finalCounts) + " = " + applied
                    + " increments applied; " + observations + " client revisions checked";
        }

        String describe() {
            StringBuilder b = new StringBuilder(problems().size() + " CAS-counter problems");
            found.byKind.forEach((kind, list) -> {
                b.append("\n    ").append(list.size()).append(" ").append(kind).append(":");
                for (int i = 0; i < Math.min(list.size(), EXAMPLES_PER_KIND); i++) b.append("\n      ").append(list.get(i));
                if (list.size() > EXAMPLES_PER_KIND) b.append("\n      ...");
            });
            return b.toString();
        }

        List<String> problems() {
            List<String> all = new ArrayList<>();
            found.byKind.values().forEach(all::addAll);
            return all;
        }
    }

    /** Problems by kind, in the order first found. */
    static final class Problems {
        private final Map<String, List<String>> byKind = new java.util.LinkedHashMap<>();

        void add(String kind, String text) {
            byKind.computeIfAbsent(kind, k -> new ArrayList<>()).add(text);
        }
    }

    static String counterKey(int counter) {
        return PREFIX + "c" + counter + "/n";
    }

    static String tokenKey(int counter, String token) {
        return PREFIX + "c" + counter + "/t/" + token;
    }

    private CasCounterCheck() {
    }

    /**
     * {@code stored}: every key under {@link #PREFIX}, read at {@code storedRevision} after the run; {@code seen}:
     * per client, the answers it got in its order.
     */
    static Result check(int counters, List<Increment> increments, Map<Integer, List<Seen>> seen, long storedRevision, List<KeyValue> stored) {
        Problems problems = new Problems();
        KeyValue[] counterKvs = new KeyValue[counters];
        List<Map<String, KeyValue>> tokens = new ArrayList<>();
        for (int c = 0; c < counters; c++) tokens.add(new TreeMap<>());
        for (KeyValue kv : stored) {
            String key = utf8(kv.key());
            int c = counterOf(key, counters);
            if (c < 0) {
                problems.add("unexpected key", "unexpected key " + key);
            } else if (key.equals(counterKey(c))) {
                counterKvs[c] = kv;
            } else if (key.startsWith(tokenKey(c, ""))) {
                tokens.get(c).put(key.substring(tokenKey(c, "").length()), kv);
            } else {
                problems.add("unexpected key", "unexpected key " + key);
            }
        }

        // What the store holds: each counter's increments are 1..N, once each, in revision order.
        long applied = 0;
        long[] finalCounts = new long[counters];
        Map<Long, String> tokenAtRevision = new HashMap<>();
        for (int c = 0; c < counters; c++) {
            KeyValue ck = counterKvs[c];
            long value = ck == null ? 0 : number(ck, problems);
            finalCounts[c] = value;
            applied += tokens.get(c).size();
            if (ck != null && ck.version() != value) {
                problems.add("lost update", "counter " + c + " holds " + value + " but was put " + ck.version() + " times"
                        + (ck.version() > value ? ": " + (ck.version() - value) + " of its increments were overwritten (lost updates)" : ""));
            }
            TreeMap<Long, String> byCount = new TreeMap<>();
            for (var e : tokens.get(c).entrySet()) {
                String token = e.getKey();
                KeyValue kv = e.getValue();
                long count = number(kv, problems);
                if (kv.version() != 1) problems.add("applied twice", "increment " + token + " of counter " + c + " was applied " + kv.version() + " times");
                String other = byCount.put(count, token);
                if (other != null) problems.add("lost update", "counter " + c + ": increments " + other + " and " + token + " both wrote count " + count + " (a lost update)");
                String sameRevision = tokenAtRevision.put(kv.modRevision(), c + "/" + token);
                if (sameRevision != null) problems.add("revision shared", "increments " + sameRevision + " and " + c + "/" + token + " share revision " + kv.modRevision());
            }
            for (long n = 1; n <= value; n++) if (!byCount.containsKey(n)) problems.add("count missing", "counter " + c + " holds " + value + " but no increment wrote count " + n);
            for (var e : byCount.tailMap(value, false).entrySet()) {
                problems.add("count above the counter", "increment " + e.getValue() + " wrote count " + e.getKey() + " of counter " + c + ", which holds " + value);
            }
            long lastRevision = 0;
            String lastToken = null;
            for (var e : byCount.entrySet()) {
                long rev = tokens.get(c).get(e.getValue()).modRevision();
                if (rev <= lastRevision) {
                    problems.add("revision order", "counter " + c + ": count " + e.getKey() + " (" + e.getValue() + ") has revision " + rev + ", not after " + lastRevision
                            + " of the count before it (" + lastToken + ")");
                }
                lastRevision = rev;
                lastToken = e.getValue();
            }
            if (ck != null && byCount.containsKey(value) && tokens.get(c).get(byCount.get(value)).modRevision() != ck.modRevision()) {
                problems.add("revision order", "counter " + c + " was last put at revision " + ck.modRevision() + ", but its increment " + byCount.get(value)
                        + " to " + value + " at revision " + tokens.get(c).get(byCount.get(value)).modRevision());
            }
        }

        // What the clients were told, against the store.
        int acknowledged = 0;
        int unknown = 0;
        int unknownApplied = 0;
        int notApplied = 0;
        Map<String, Increment> sent = new HashMap<>();
        List<Increment> acked = new ArrayList<>();
        for (Increment inc : increments) {
            String id = inc.counter() + "/" + inc.token();
            if (sent.put(id, inc) != null) problems.add("workload", "the workload recorded increment " + id + " twice");
            KeyValue kv = inc.counter() < counters ? tokens.get(inc.counter()).get(inc.token()) : null;
            switch (inc.outcome()) {
                case ACKNOWLEDGED -> {
                    acknowledged++;
                    acked.add(inc);
                    if (kv == null) {
                        problems.add("acknowledged but lost", "increment " + id + ", acknowledged with count " + inc.count() + " at revision " + inc.revision() + ", is lost");
                    } else if (number(kv, problems) != inc.count() || kv.modRevision() != inc.revision()) {
                        problems.add("acknowledgement differs", "increment " + id + " was acknowledged with count " + inc.count() + " at revision " + inc.revision()
                                + ", but the store has count " + utf8(kv.value()) + " at revision " + kv.modRevision());
                    }
                }
                case UNKNOWN -> {
                    unknown++;
                    if (kv != null) unknownApplied++;
                }
                case NOT_APPLIED -> {
                    notApplied++;
                    if (kv != null) problems.add("refused but applied", "increment " + id + ", which the cluster said was not applied, is there (count " + utf8(kv.value()) + ")");
                }
            }
        }
        for (int c = 0; c < counters; c++) {
            for (String token : tokens.get(c).keySet()) {
                if (!sent.containsKey(c + "/" + token)) problems.add("never sent", "increment " + c + "/" + token + " is there, but no client recorded sending it");
            }
        }

        // Real time: an increment acknowledged before another was sent has the lower revision.
        List<Increment> byComplete = new ArrayList<>(acked);
        byComplete.sort(Comparator.comparingLong(Increment::complete));
        acked.sort(Comparator.comparingLong(Increment::invoke));
        int done = 0;
        Increment latest = null;
        for (Increment b : acked) {
            while (done < byComplete.size() && byComplete.get(done).complete() < b.invoke()) {
                Increment a = byComplete.get(done++);
                if (latest == null || a.revision() > latest.revision()) latest = a;
            }
            if (latest != null && latest.revision() >= b.revision()) {
                problems.add("real-time order", "increment " + latest.counter() + "/" + latest.token() + " was acknowledged at revision " + latest.revision() + " before "
                        + b.counter() + "/" + b.token() + " was sent, which got revision " + b.revision());
            }
        }

        // Each client's revisions never go back, across nodes and failovers.
        long observations = 0;
        for (var e : new TreeMap<>(seen).entrySet()) {
            long max = 0;
            Seen maxSeen = null;
            for (Seen s : e.getValue()) {
                observations++;
                String before = maxSeen == null ? "" : " (" + maxSeen.what() + ", node " + maxSeen.member() + ")";
                if (s.revision() < max) {
                    problems.add("revision went back", "client " + e.getKey() + " saw revision " + s.revision() + " (" + s.what() + ", node " + s.member() + ") after revision "
                            + max + before);
                } else if (s.wrote() && s.revision() == max) {
                    problems.add("revision went back", "client " + e.getKey() + "'s write got revision " + s.revision() + " (" + s.what() + ", node " + s.member()
                            + "), not above revision " + max + before + " it had already seen");
                }
                if (s.revision() > storedRevision) {
                    problems.add("revision lost", "client " + e.getKey() + " saw revision " + s.revision() + " (" + s.what() + ", node " + s.member()
                            + "), but the store read after the run is at revision " + storedRevision);
                }
                if (s.revision() > max) {
                    max = s.revision();
                    maxSeen = s;
                }
            }
        }
        return new Result(problems, applied, acknowledged, unknown, unknownApplied, notApplied, finalCounts, observations);
    }

    /** The counter a key under {@link #PREFIX} belongs to, or -1. */
    private static int counterOf(String key, int counters) {
        if (!key.startsWith(PREFIX + "c")) return -1;
        int slash = key.indexOf('/', PREFIX.length() + 1);
        if (slash < 0) return -1;
        try {
            int c = Integer.parseInt(key.substring(PREFIX.length() + 1, slash));
            return c >= 0 && c < counters ? c : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static long number(KeyValue kv, Problems problems) {
        try {
            return Long.parseLong(utf8(kv.value()));
        } catch (NumberFormatException e) {
            problems.add("not a count", utf8(kv.key()) + " holds " + utf8(kv.value()) + ", not a count");
            return -1;
        }
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
