package io.raftkv.bench;

import io.raftkv.client.RaftKvException;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The errors of a run by kind, with the first of each kind as it came: a count alone ("errors 4") does not say
 * whether the cluster was down, overloaded or refusing the request. Thread-safe; called from the clients' threads.
 */
final class ErrorTally {

    /** Kinds kept apart; beyond, errors are counted under "other", so that a run of distinct messages cannot grow the map. */
    static final int KINDS_MAX = 16;
    private static final String OTHER = "other";
    /** A status code in a message, as gRPC writes them ("UNAVAILABLE: io exception"). */
    private static final Pattern CODE = Pattern.compile("\\b([A-Z][A-Z_]{2,})\\b");

    /** One kind: how many, and the first one's text. */
    record Kind(String kind, long count, String first) { }

    private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
    private final Map<String, String> firsts = new ConcurrentHashMap<>();
    private final AtomicLong total = new AtomicLong();

    void add(Throwable error) {
        Throwable e = unwrap(error);
        String kind = kindOf(e);
        if (!counts.containsKey(kind) && counts.size() >= KINDS_MAX) kind = OTHER;
        counts.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
        firsts.putIfAbsent(kind, String.valueOf(e));
        total.incrementAndGet();
    }

    long total() {
        return total.get();
    }

    /** The kinds, the most frequent first. */
    List<Kind> kinds() {
        List<Kind> kinds = new ArrayList<>();
        counts.forEach((k, n) -> kinds.add(new Kind(k, n.get(), firsts.get(k))));
        kinds.sort((a, b) -> Long.compare(b.count(), a.count()));
        return kinds;
    }

    /** A line per kind: "  3 × RaftKvException UNAVAILABLE, the first: ...". */
    String text() {
        StringBuilder s = new StringBuilder();
        for (Kind k : kinds()) s.append(String.format(Locale.ROOT, "  %,d × %s, the first: %s%n", k.count(), k.kind(), k.first()));
        return s.toString();
    }

    String json() {
        List<String> items = new ArrayList<>();
        for (Kind k : kinds()) {
            items.add(String.format(Locale.ROOT, "{\"kind\": \"%s\", \"count\": %d, \"first\": \"%s\"}", quote(k.kind()), k.count(), quote(k.first())));
        }
        return "[" + String.join(", ", items) + "]";
    }

    /** Single quotes for double, no backslashes or line breaks: the readers of these files match fields with a regexp. */
    private static String quote(String s) {
        return s.replace('"', '\'').replace('\\', '/').replace('\n', ' ').replace('\r', ' ');
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) e = e.getCause();
        return e;
    }

    /** The class, and what says more within it: raftkv's kind and error code, or a status code in the message. */
    static String kindOf(Throwable e) {
        String kind = e.getClass().getSimpleName();
        if (e instanceof RaftKvException r) return kind + " " + r.kind() + (r.errorCode() != 0 ? " code " + r.errorCode() : "");
        Matcher m = CODE.matcher(String.valueOf(e.getMessage()));
        return m.find() ? kind + " " + m.group(1) : kind;
    }
}
