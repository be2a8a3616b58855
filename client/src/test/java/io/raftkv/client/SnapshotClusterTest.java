package io.raftkv.client;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.server.RestoreMain;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Snapshots and log compaction with real node processes (docs/snapshots.md): small thresholds, so that a few hundred
 * writes take several snapshots, release WAL segments, and leave a follower that was down behind the leader's log.
 */
class SnapshotClusterTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);
    private static final int SNAPSHOT_ENTRIES = 100;
    private static final int CATCH_UP_ENTRIES = 20;

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    private LocalCluster smallSnapshotCluster() throws IOException {
        LocalCluster c = new LocalCluster(dir, 3);
        // Small frames allow small WAL segments, so that releasing them shows after a few hundred writes.
        c.jvmOptions.addAll(List.of("-Draftkv.snapshotEntries=" + SNAPSHOT_ENTRIES, "-Draftkv.snapshotCatchUpEntries=" + CATCH_UP_ENTRIES,
                "-Draftkv.frameBytesMax=65536", "-Draftkv.valueBytesMax=16384", "-Draftkv.walSegmentBytesMax=98304",
                "-Draftkv.outboundBytesPerConnectionMax=1048576"));
        return c.startAll();
    }

    private static void putMany(RaftKvClient client, int from, int to) {
        String value = "x".repeat(200);
        for (int i = from; i < to; i++) client.put("k" + (i % 50), value + i);
    }

    @Test
    @DisplayName("a follower that was down while the leader compacted its log catches up through a snapshot, then from the log")
    void followerCatchesUpThroughSnapshot() throws Exception {
        cluster = smallSnapshotCluster();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, DEADLINE);
            int behind = leader % 3 + 1;
            putMany(client, 0, 20);
            cluster.kill(behind);
            putMany(client, 20, 600);
            cluster.start(behind);
            putMany(client, 600, 610);
            try {
                cluster.awaitLocalValue(behind, "k" + (609 % 50), "x".repeat(200) + 609, DEADLINE);
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "\nnode " + behind + ":\n" + tail(cluster.log(behind)) + "\nleader " + leader + ":\n" + tail(cluster.log(leader)), e);
            }
            assertTrue(cluster.log(behind).contains("installed snapshot"), "node " + behind + " caught up through a snapshot:\n" + cluster.log(behind));
            assertTrue(cluster.log(leader).contains("sending snapshot"), cluster.log(leader));
            for (int id = 1; id <= 3; id++) {
                List<Path> snapshots = files(cluster.dataDir(id).resolve("snap"), "*.snap");
                assertTrue(!snapshots.isEmpty() && snapshots.size() <= 2, "node " + id + " keeps one or two snapshots: " + snapshots);
            }
            // About 600 writes of ~250 bytes through 96 KiB segments: two snapshots' worth stay, the rest is released.
            List<Path> segments = files(cluster.dataDir(leader), "wal-*.log");
            assertTrue(segments.size() <= 4, "the leader's WAL keeps only the segments after its older snapshot: " + segments);
        }
    }

    @Test
    @DisplayName("every node killed and started again comes back from its newest snapshot and the WAL after it")
    void restartFromSnapshotAndWal() throws Exception {
        cluster = smallSnapshotCluster();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            putMany(client, 0, 350);
        }
        for (int id = 1; id <= 3; id++) cluster.kill(id);
        cluster.startAll();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            for (int i = 300; i < 350; i++) assertEquals("x".repeat(200) + i, client.get("k" + (i % 50)));
        }
        for (int id = 1; id <= 3; id++) assertTrue(cluster.log(id).contains("started from snapshot"), cluster.log(id));
    }

    @Test
    @DisplayName("a damaged newest snapshot: the node falls back to the older one and replays the WAL after it")
    void damagedNewestSnapshotFallsBack() throws Exception {
        cluster = smallSnapshotCluster();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            putMany(client, 0, 350);
        }
        for (int id = 1; id <= 3; id++) cluster.kill(id);
        List<Path> snapshots = files(cluster.dataDir(1).resolve("snap"), "*.snap");
        assertEquals(2, snapshots.size(), "two snapshots after 350 writes: " + snapshots);
        Path newest = snapshots.get(snapshots.size() - 1);
        flipByte(newest, Files.size(newest) / 2);
        cluster.startAll();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            for (int i = 300; i < 350; i++) assertEquals("x".repeat(200) + i, client.get("k" + (i % 50)));
        }
        String log = cluster.log(1);
        assertTrue(log.contains(newest.getFileName().toString()) && log.contains("started from snapshot " + snapshots.get(0).getFileName()),
                "node 1 names the damaged snapshot and starts from the older one:\n" + log);
    }

    @Test
    @DisplayName("every snapshot damaged and the WAL released past them: the node refuses to start and names the files")
    void allSnapshotsDamagedRefusesToStart() throws Exception {
        cluster = smallSnapshotCluster();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            putMany(client, 0, 350);
        }
        for (int id = 1; id <= 3; id++) cluster.kill(id);
        List<Path> snapshots = files(cluster.dataDir(2).resolve("snap"), "*.snap");
        for (Path s : snapshots) flipByte(s, Files.size(s) / 2);
        cluster.start(2);
        assertEquals(1, cluster.awaitExit(2, DEADLINE));
        String log = cluster.log(2);
        for (Path s : snapshots) assertTrue(log.contains(s.getFileName().toString()), "the refusal names " + s + ":\n" + log);
    }

    @Test
    @DisplayName("raftkvctl snapshot save, snapshot status, then raftkv restore into a new cluster: every key and the revision come back")
    void backupAndRestore() throws Exception {
        cluster = new LocalCluster(Files.createDirectories(dir.resolve("old")), 3).startAll();
        Path backup = dir.resolve("backup.snap");
        long revision;
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            for (int i = 0; i < 200; i++) client.put("key" + i, "value" + i);
            client.delete("key7");
            revision = client.range(RangeRequest.range("key".getBytes(), "kez".getBytes())).header().revision();
            assertEquals(0, ctl("--endpoints", endpoints(cluster), "snapshot", "save", backup.toString()));
        }
        String status = ctlOutput("snapshot", "status", backup.toString(), "-w", "json");
        // 200 keys: key7 is deleted, and its delete is history the snapshot keeps until a compaction passes it.
        assertTrue(status.contains("\"revision\":" + revision) && status.contains("\"totalKey\":200"), status);
        cluster.close();

        Path fresh = Files.createDirectories(dir.resolve("new"));
        cluster = new LocalCluster(fresh, 3);
        assertEquals(0, RestoreMain.run(new String[]{backup.toString(), "--config", cluster.config().toString(), "--data-dir", fresh.toString()}));
        assertEquals(1, RestoreMain.run(new String[]{backup.toString(), "--config", cluster.config().toString(), "--data-dir", fresh.toString()}),
                "a restore never overwrites a node");
        cluster.startAll();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            ClientResponse.RangeResult all = client.range(RangeRequest.range("key".getBytes(), "kez".getBytes()));
            assertEquals(199, all.count());
            assertEquals(revision, all.header().revision(), "the restored cluster goes on from the backup's revision");
            assertEquals("value42", client.get("key42"));
            assertEquals(revision + 1, client.put("after".getBytes(), "restore".getBytes(), false).header().revision());
        }
    }

    @Test
    @DisplayName("a damaged backup: raftkvctl snapshot status and raftkv restore refuse it, and no directory is made")
    void damagedBackupIsRefused() throws Exception {
        cluster = new LocalCluster(Files.createDirectories(dir.resolve("old")), 3).startAll();
        Path backup = dir.resolve("backup.snap");
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            for (int i = 0; i < 50; i++) client.put("key" + i, "value" + i);
            assertEquals(0, ctl("--endpoints", endpoints(cluster), "snapshot", "save", backup.toString()));
        }
        flipByte(backup, Files.size(backup) / 2);
        assertEquals(1, ctl("snapshot", "status", backup.toString()));
        Path fresh = dir.resolve("new");
        assertEquals(1, RestoreMain.run(new String[]{backup.toString(), "--config", cluster.config().toString(), "--data-dir", fresh.toString()}));
        assertTrue(!Files.exists(fresh.resolve("node1")), "nothing restored from a damaged backup");
    }

    private static String endpoints(LocalCluster c) {
        return String.join(",", c.endpoints().stream().map(a -> a.getHostString() + ":" + a.getPort()).toList());
    }

    private static int ctl(String... args) {
        return RaftKvCtl.run(args, new ByteArrayInputStream(new byte[0]), new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(new ByteArrayOutputStream()), false);
    }

    private static String ctlOutput(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream printOut = new PrintStream(out, true);
        PrintStream printErr = new PrintStream(err, true);
        int code = RaftKvCtl.run(args, new ByteArrayInputStream(new byte[0]), printOut, printErr, false);
        printOut.flush();
        printErr.flush();
        assertEquals(0, code, err.toString());
        return out.toString();
    }

    private static String tail(String log) {
        List<String> lines = log.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
    }

    private static void flipByte(Path file, long offset) throws IOException {
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            c.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x40)).rewind();
            c.write(b, offset);
        }
    }

    /** Files matching {@code glob} in {@code dir}, by name (oldest snapshot or segment first). */
    private static List<Path> files(Path dir, String glob) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(dir)) return found;
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, glob)) {
            for (Path p : s) found.add(p);
        }
        found.sort(null);
        return found;
    }
}
