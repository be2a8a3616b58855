package io.raftkv.client;

import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Watches against three real node processes: every event once and in order, across kill -9 of the nodes they use. */
class WatchClusterTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    /** Collects what a listener hears. */
    private static final class Seen implements WatchListener {
        final List<WatchEvent> events = Collections.synchronizedList(new ArrayList<>());
        final List<Long> revisions = Collections.synchronizedList(new ArrayList<>());
        final CompletableFuture<String> canceled = new CompletableFuture<>();
        volatile long compactRevision;

        @Override
        public void onEvents(WatchResponse response) {
            events.addAll(response.events());
            revisions.add(response.revision());
        }

        @Override
        public void onCanceled(long compactRevision, String reason) {
            this.compactRevision = compactRevision;
            canceled.complete(reason);
        }

        List<String> shown() {
            synchronized (events) {
                return events.stream().map(WatchClusterTest::show).toList();
            }
        }
    }

    private static String show(WatchEvent e) {
        return e.type() + " " + new String(e.kv().key(), StandardCharsets.UTF_8) + "@" + e.revision();
    }

    @Test
    @DisplayName("a watch resumed across kill -9 of every node in turn delivers exactly the history, in order")
    void aWatchSurvivesNodeKillsWithoutGapOrDuplicate() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient writer = cluster.client(); RaftKvClient watching = cluster.client()) {
            cluster.awaitLeader(writer, DEADLINE);
            Seen live = new Seen();
            Watcher watcher = watching.watch(WatchRequest.prefix(0, b("w/")).fromRevision(2), live);
            long lastRevision = 0;
            int acknowledged = 0;
            for (int round = 1; round <= 3; round++) {
                for (int i = 0; i < 40; i++) {
                    try {
                        lastRevision = Math.max(lastRevision, writer.put(b("w/" + (i % 7)), b("r" + round + "i" + i), false).header().revision());
                        acknowledged++;
                    } catch (RaftKvException e) {
                        if (e.kind() == RaftKvException.Kind.REJECTED) throw e;
                    }
                    if (i % 10 == 0) writer.put("other", "noise");
                }
                writer.deleteRange(b("w/" + round), new byte[0], false);
                // kill -9 each node in turn: the watch's node among them, whichever it is.
                cluster.kill(round);
                cluster.start(round);
                cluster.awaitLeader(writer, DEADLINE);
            }
            long last = writer.put(b("w/end"), b("x"), false).header().revision();
            assertTrue(acknowledged >= 100, acknowledged + " writes acknowledged");
            LocalCluster.await(DEADLINE, "the watch to reach revision " + last, () -> watcher.revision() >= last ? true : null);

            // The reference: one uninterrupted read of the same history, from another node's view.
            Seen reference = new Seen();
            try (RaftKvClient fresh = cluster.client(); Watcher once = fresh.watch(WatchRequest.prefix(0, b("w/")).fromRevision(2), reference)) {
                LocalCluster.await(DEADLINE, "the reference to reach revision " + last, () -> once.revision() >= last ? true : null);
            }
            List<String> got = live.shown();
            assertEquals(reference.shown(), got, "the resumed watch delivered the history exactly once, in order");
            List<Long> seen = new ArrayList<>();
            synchronized (live.events) {
                for (WatchEvent e : live.events) seen.add(e.revision());
            }
            for (int i = 1; i < seen.size(); i++) assertTrue(seen.get(i) > seen.get(i - 1), "revisions ascend: " + seen);
            assertTrue(got.contains("DELETE w/1@" + revisionOfDelete(got, "w/1")), "deletes are reported");
            watcher.close();
        }
    }

    private static String revisionOfDelete(List<String> events, String key) {
        for (String e : events) if (e.startsWith("DELETE " + key + "@")) return e.substring(e.indexOf('@') + 1);
        return "none";
    }

    @Test
    @DisplayName("a watch from a compacted revision is canceled with the compact revision")
    void aCompactedStartIsCanceled() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            long written = 0;
            for (int i = 0; i < 5; i++) written = client.put(b("k"), b("v" + i), false).header().revision();
            long rev = written;
            client.compact(rev - 1);
            Seen seen = new Seen();
            client.watch(WatchRequest.key(0, b("k")).fromRevision(2), seen);
            String reason = seen.canceled.get(10, TimeUnit.SECONDS);
            assertEquals(rev - 1, seen.compactRevision, reason);
            assertTrue(reason.contains("compacted"), reason);
            Seen after = new Seen();
            Watcher ok = client.watch(WatchRequest.key(0, b("k")).fromRevision(rev), after);
            LocalCluster.await(DEADLINE, "the last put from revision " + rev, () -> after.shown().equals(List.of("PUT k@" + rev)) ? true : null);
            ok.close();
        }
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
