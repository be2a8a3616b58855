package io.raftkv.server;

import io.raftkv.raft.Membership;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;

/**
 * A file in the data directory, {@code member}, naming the cluster and node the directory belongs to, and the
 * configuration the node's log starts from (its bootstrap: the members {@code nodes.conf} listed when the cluster was
 * first started, or none for a node that joined later). Two lines:
 * <pre>
 * cluster HEX node ID
 * bootstrap HEX-OF-MEMBERSHIP | bootstrap joined
 * joined INDEX HEX-OF-MEMBERSHIP      (a node that joined: the members its join target named, and at which index)
 * </pre>
 * Once it exists, {@code nodes.conf} no longer decides anything for this node: the configuration comes from the log,
 * its snapshots and this bootstrap. (A marker of the first version has no second line: its bootstrap is nodes.conf.)
 *
 * <p>It is written once the node's WAL first holds something durable. Its presence with an empty WAL means the WAL
 * was wiped: the node may have voted in a term it no longer remembers, and voting again could elect two
 * leaders in one term, so it refuses to start.
 */
final class MemberMarker {

    static final String FILE = "member";
    private static final String JOINED = "joined";

    /** What a marker says; {@code bootstrap} null for a first-version marker, {@code joinView} null unless the node joined. */
    record Stored(long clusterId, int nodeId, Membership bootstrap, Membership joinView, long joinIndex) { }

    private final Path file;
    private final String identity;
    private final String content;
    private boolean present;

    /**
     * {@code bootstrap}: {@link Membership#EMPTY} for a node that joined a running cluster, which then gives the members
     * it was told of ({@code joinView}, set at {@code joinIndex}): a restart before its log names them needs them.
     */
    MemberMarker(Path dataDir, long clusterId, int nodeId, Membership bootstrap, Membership joinView, long joinIndex) {
        this.file = dataDir.resolve(FILE);
        this.identity = "cluster " + Long.toHexString(clusterId) + " node " + nodeId;
        this.content = identity + "\nbootstrap " + (bootstrap.members().isEmpty() ? JOINED : HexFormat.of().formatHex(bootstrap.encode())) + "\n"
                + (joinView == null ? "" : "joined " + joinIndex + " " + HexFormat.of().formatHex(joinView.encode()) + "\n");
    }

    MemberMarker(Path dataDir, long clusterId, int nodeId, Membership bootstrap) {
        this(dataDir, clusterId, nodeId, bootstrap, null, 0);
    }

    /** The marker in {@code dataDir}, or null when there is none; IOException when it cannot be read as one. */
    static Stored read(Path dataDir) throws IOException {
        Path file = dataDir.resolve(FILE);
        if (!Files.exists(file)) return null;
        String[] lines = Files.readString(file, StandardCharsets.UTF_8).split("\n");
        try {
            String[] first = lines[0].split(" ");
            if (first.length != 4 || !first[0].equals("cluster") || !first[2].equals("node")) throw new IllegalArgumentException("first line '" + lines[0] + "'");
            Membership bootstrap = null;
            if (lines.length > 1) {
                if (!lines[1].startsWith("bootstrap ")) throw new IllegalArgumentException("second line '" + lines[1] + "'");
                String b = lines[1].substring("bootstrap ".length());
                bootstrap = b.equals(JOINED) ? Membership.EMPTY : Membership.decode(HexFormat.of().parseHex(b));
            }
            Membership joinView = null;
            long joinIndex = 0;
            if (lines.length > 2) {
                String[] joined = lines[2].split(" ");
                if (joined.length != 3 || !joined[0].equals("joined")) throw new IllegalArgumentException("third line '" + lines[2] + "'");
                joinIndex = Long.parseLong(joined[1]);
                joinView = Membership.decode(HexFormat.of().parseHex(joined[2]));
            }
            return new Stored(Long.parseUnsignedLong(first[1], 16), Integer.parseInt(first[3]), bootstrap, joinView, joinIndex);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + " is damaged (" + e.getMessage() + "): it names the cluster and node of this data directory");
        }
    }

    /** Checks the directory against the WAL just opened; throws with the reason the node must not start. */
    void check(boolean walEmpty) throws IOException {
        present = Files.exists(file);
        if (!present) return;
        String found = Files.readString(file, StandardCharsets.UTF_8).split("\n")[0];
        if (!found.equals(identity)) {
            throw new IOException(file + " says '" + found.strip() + "', but this is '" + identity + "': the data directory belongs to another node or cluster");
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
