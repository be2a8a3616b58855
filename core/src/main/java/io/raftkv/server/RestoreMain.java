package io.raftkv.server;

import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.raft.HardState;
import io.raftkv.raft.RaftCore;
import io.raftkv.snapshot.SnapshotDirectory;
import io.raftkv.snapshot.SnapshotFile;
import io.raftkv.snapshot.SnapshotMeta;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * {@code raftkv restore FILE [--config FILE] [--data-dir DIR] [--options FILE]}: builds the data directory of every node in the config
 * from a backup ({@code raftkvctl snapshot save}), the disaster-recovery path etcd users know as {@code etcdutl snapshot
 * restore}. Each node gets the snapshot (with the config's members as its voters), a WAL that starts after it with
 * the backup's term and commit index, and its member marker; {@code raftkv start} then starts the cluster, which
 * elects a leader and goes on from the backup's revision. Refuses a damaged backup and any data directory that exists
 * and is not empty: a restore never overwrites a node. A bad argument, nodes.conf or option exits 2 before anything is
 * read; a backup or directory that cannot be restored exits 1. {@code --options}: the nodes' options file, for the key and
 * value limits the backup is read with (docs/options.md).
 */
public final class RestoreMain {

    private RestoreMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String[] args) {
        Path backup = null;
        Path config = Path.of("nodes.conf");
        Path dataDir = Path.of("data");
        Path optionsFile = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null && args[i].startsWith("--")) return usage(args[i] + " needs a value");
            switch (args[i]) {
                case "--config" -> config = Path.of(value);
                case "--data-dir" -> dataDir = Path.of(value);
                case "--options" -> optionsFile = Path.of(value);
                default -> {
                    if (args[i].startsWith("-") || backup != null) return usage("unexpected " + args[i]);
                    backup = Path.of(args[i]);
                    continue;
                }
            }
            i++;
        }
        if (backup == null) return usage("the backup FILE is required");
        ClusterConfig cluster;
        NodeOptions options;
        try {
            cluster = ClusterConfig.load(config);
        } catch (IOException e) {
            return refused("cannot read " + config + ": " + (e instanceof NoSuchFileException ? "no such file" : e.getMessage()));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage()); // one line per problem, each naming the file and line
            return 2;
        }
        try {
            options = NodeOptionsReader.read(optionsFile, System.getProperties()).options();
        } catch (IOException e) {
            return refused("cannot read " + optionsFile + ": " + (e instanceof NoSuchFileException ? "no such file" : e.getMessage()));
        } catch (IllegalArgumentException e) {
            return refused(e.getMessage());
        }
        try {
            restore(backup, cluster, dataDir, options);
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("raftkv restore: " + e.getMessage());
            return 1;
        }
    }

    static void restore(Path backup, ClusterConfig cluster, Path dataDir, NodeOptions options) throws IOException {
        // The whole backup is checked, and read as the node will, before any directory is made.
        long[] revision = new long[1];
        SnapshotMeta meta = SnapshotFile.readBackup(backup,
                (m, in) -> revision[0] = KvStateMachine.read(in, options.keyBytesMax(), options.valueBytesMax()).revision());
        for (ClusterConfig.Member m : cluster.members()) {
            Path dir = nodeDir(dataDir, m.id());
            if (Files.isDirectory(dir) && !isEmpty(dir)) throw new IOException(dir + " exists and is not empty: a restore never overwrites a node");
        }
        // As etcdutl's restore: a new cluster of the members nodes.conf lists, whatever the backup's cluster had.
        SnapshotMeta restored = new SnapshotMeta(meta.index(), meta.term(), ClusterView.bootstrapOf(cluster));
        for (ClusterConfig.Member m : cluster.members()) {
            Path dir = nodeDir(dataDir, m.id());
            Files.createDirectories(dir);
            SnapshotDirectory snapshots = SnapshotDirectory.open(dir);
            snapshots.write(restored, out -> SnapshotFile.readBackup(backup, (fileMeta, in) -> in.transferTo(out)));
            try (WriteAheadLog wal = WriteAheadLog.open(dir, options.walOptions())) {
                wal.resetTo(meta.index(), meta.term());
                wal.saveHardState(new HardState(meta.term(), RaftCore.NONE, meta.index()));
                wal.sync();
            }
            new MemberMarker(dir, cluster.clusterId(), m.id(), ClusterView.bootstrapOf(cluster)).writeIfAbsent();
            System.out.println("restored node " + m.id() + " into " + dir + ": index " + meta.index() + ", term " + meta.term() + ", revision " + revision[0]);
        }
    }

    private static Path nodeDir(Path dataDir, int id) {
        return dataDir.resolve("node" + id);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            return !s.iterator().hasNext();
        }
    }

    /** A configuration that cannot be used: a usage error, but the usage line would say nothing more. */
    private static int refused(String problem) {
        System.err.println("raftkv restore: " + problem);
        return 2;
    }

    private static int usage(String problem) {
        System.err.println("raftkv restore: " + problem);
        System.err.println("usage: raftkv restore FILE [--config FILE] [--data-dir DIR] [--options FILE]");
        return 2;
    }
}
