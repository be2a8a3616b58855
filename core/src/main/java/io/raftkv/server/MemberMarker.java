package io.raftkv.server;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file in the data directory, {@code member}, naming the cluster and node the directory belongs to. It is
 * written once the node's WAL first holds something durable. Its presence with an empty WAL means the WAL
 * was wiped: the node may have voted in a term it no longer remembers, and voting again could elect two
 * leaders in one term, so it refuses to start.
 */
final class MemberMarker {

    static final String FILE = "member";

    private final Path file;
    private final String content;
    private boolean present;

    MemberMarker(Path dataDir, long clusterId, int nodeId) {
        this.file = dataDir.resolve(FILE);
        this.content = "cluster " + Long.toHexString(clusterId) + " node " + nodeId + "\n";
    }

    /** Checks the directory against the WAL just opened; throws with the reason the node must not start. */
    void check(boolean walEmpty) throws IOException {
        present = Files.exists(file);
        if (!present) return;
        String found = Files.readString(file, StandardCharsets.UTF_8);
        if (!found.equals(content)) {
            throw new IOException(file + " says '" + found.strip() + "', but this is '" + content.strip() + "': the data directory belongs to another node or cluster");
        }
        if (walEmpty) {
            throw new IOException("the write-ahead log in " + file.getParent() + " is gone, but " + file + " shows this node ran here before: "
                    + "it may have voted in a term it no longer remembers, and voting again could elect two leaders. "
                    + "Restore the WAL, or see docs/wal.md ('a wiped WAL')");
        }
    }

    /** Records that the WAL now holds durable state; called after a sync, once. */
    void writeIfAbsent() throws IOException {
        if (present) return;
        Path tmp = file.resolveSibling(FILE + ".tmp");
        Files.writeString(tmp, content, StandardCharsets.UTF_8);
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            c.force(true);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            dir.force(true);
        }
        present = true;
    }
}
