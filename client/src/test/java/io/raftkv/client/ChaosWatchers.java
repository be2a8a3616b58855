package io.raftkv.client;

import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Watchers of every key through a chaos run (issue 12): one on each node (it waits for its node through kills and
 * pauses, and resumes there), and one that may use any node (it moves). At the end each must have delivered the
 * same history: for every revision two of them saw, the same events; no gap between the first and last revision a
 * watcher saw; revisions in order, each event once; and every acknowledged put among the events. A watcher the
 * cluster compacted away from (its node was down for longer than the history kept) is canceled with COMPACTED:
 * allowed, and its events up to then are checked all the same.
 */
final class ChaosWatchers implements AutoCloseable {

    private static final class One implements WatchListener {
        final String name;
        final RaftKvClient client;
        final List<WatchEvent> events = Collections.synchronizedList(new ArrayList<>());
        Watcher watcher;
        volatile String canceled;

        One(String name, List<InetSocketAddress> endpoints) {
            this.name = name;
            this.client = new RaftKvClient(endpoints, Duration.ofSeconds(2));
        }

        @Override
        public void onEvents(WatchResponse response) {
            events.addAll(response.events());
        }

        @Override
        public void onCanceled(long compactRevision, String reason) {
            canceled = reason + " (compact revision " + compactRevision + ")";
        }
    }

    private final List<One> watchers = new ArrayList<>();

    ChaosWatchers(LocalCluster cluster, int size) {
        for (int id = 1; id <= size; id++) watchers.add(new One("watcher on node " + id, List.of(cluster.address(id))));
        watchers.add(new One("watcher on any node", cluster.endpoints()));
        // Every key, from the first revision a write can make.
        for (One w : watchers) w.watcher = w.client.watch(WatchRequest.prefix(0, new byte[0]).fromRevision(2), w);
    }

    /** Waits until every watcher still open has delivered every revision up to {@code revision}. */
    void awaitRevision(long revision, Duration deadline) {
        LocalCluster.await(deadline, "every watcher to reach revision " + revision + " (" + progress() + ")",
                () -> watchers.stream().allMatch(w -> w.canceled != null || w.watcher.revision() >= revision) ? true : null);
    }

    private String progress() {
        List<String> each = new ArrayList<>();
        for (One w : watchers) each.add(w.name + " at " + w.watcher.revision() + (w.canceled != null ? ", canceled" : ""));
        return String.join("; ", each);
    }

    /** What is wrong with the watchers' histories, one line each (empty: nothing). */
    List<String> check(Collection<String> acknowledgedPutValues) {
        List<String> failures = new ArrayList<>();
        Map<Long, List<String>> union = new TreeMap<>();
        for (One w : watchers) {
            Map<Long, List<String>> mine = byRevision(w, failures);
            for (Map.Entry<Long, List<String>> e : mine.entrySet()) {
                List<String> other = union.putIfAbsent(e.getKey(), e.getValue());
                if (other != null && !other.equals(e.getValue())) {
                    failures.add(w.name + " saw revision " + e.getKey() + " as " + e.getValue() + ", another watcher as " + other);
                }
            }
        }
        for (One w : watchers) {
            Map<Long, List<String>> mine = byRevision(w, new ArrayList<>());
            if (mine.isEmpty()) continue;
            long first = ((TreeMap<Long, List<String>>) mine).firstKey();
            long last = ((TreeMap<Long, List<String>>) mine).lastKey();
            for (long rev : ((TreeMap<Long, List<String>>) union).subMap(first, true, last, true).keySet()) {
                if (!mine.containsKey(rev)) failures.add(w.name + " missed revision " + rev + " (" + union.get(rev) + ") between " + first + " and " + last);
            }
        }
        boolean someoneSawEverything = watchers.stream().anyMatch(w -> w.canceled == null);
        if (someoneSawEverything) {
            java.util.Set<String> putValues = new java.util.HashSet<>();
            for (List<String> events : union.values()) for (String e : events) if (e.startsWith("PUT ")) putValues.add(e.substring(e.indexOf('=') + 1));
            int missing = 0;
            String example = null;
            for (String v : acknowledgedPutValues) {
                if (!putValues.contains(v)) {
                    missing++;
                    example = v;
                }
            }
            if (missing > 0) failures.add(missing + " acknowledged puts were reported by no watcher, e.g. value " + example);
        }
        return failures;
    }

    /** A watcher's events by revision, as "PUT key=value" / "DELETE key"; order and duplicates are checked on the way. */
    private static Map<Long, List<String>> byRevision(One w, List<String> failures) {
        Map<Long, List<String>> by = new TreeMap<>();
        long previous = 0;
        String previousKey = null;
        synchronized (w.events) {
            for (WatchEvent e : w.events) {
                String key = new String(e.kv().key(), StandardCharsets.UTF_8);
                if (e.revision() < previous || (e.revision() == previous && previousKey != null && key.compareTo(previousKey) <= 0)) {
                    failures.add(w.name + ": event " + key + "@" + e.revision() + " after " + previousKey + "@" + previous + " (out of order or twice)");
                }
                previous = e.revision();
                previousKey = key;
                String shown = e.type() == WatchEvent.Type.PUT ? "PUT " + key + "=" + new String(e.kv().value(), StandardCharsets.UTF_8) : "DELETE " + key;
                by.computeIfAbsent(e.revision(), r -> new ArrayList<>()).add(shown);
            }
        }
        return by;
    }

    String summary() {
        long events = 0;
        int canceled = 0;
        for (One w : watchers) {
            events += w.events.size();
            if (w.canceled != null) canceled++;
        }
        return watchers.size() + " watchers delivered " + events + " events" + (canceled > 0 ? " (" + canceled + " canceled by compaction)" : "");
    }

    @Override
    public void close() {
        for (One w : watchers) w.client.close();
    }
}
