package io.raftkv.server;

import io.raftkv.net.PeerCodec;
import io.raftkv.raft.SnapshotId;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Writes the snapshot chunks one peer sends into a temporary file, in order. A chunk that does not continue the
 * file (a transfer cut short and begun again, a lost chunk) abandons what was received: the leader sends the whole
 * snapshot again after its next heartbeat. Nothing here is synced or trusted yet: the file is checked whole once
 * complete ({@link #takeComplete}). Loop thread only; a chunk is written to the page cache, not synced.
 */
final class SnapshotReceiver {

    /** Received files end in this until checked and renamed; whatever a crash leaves with it is deleted at start. */
    static final String PART_SUFFIX = ".part";

    private final Path dir;
    private final int peerId;
    private final long bytesMax;
    private Path tempFile;
    private FileChannel file;
    private SnapshotId receiving;
    private long written;
    private long totalBytes;

    SnapshotReceiver(Path dir, int peerId, long bytesMax) {
        this.dir = dir;
        this.peerId = peerId;
        this.bytesMax = bytesMax;
    }

    /** Appends a chunk; a chunk that does not continue the current transfer abandons it. */
    void accept(PeerCodec.SnapshotChunk chunk) throws IOException {
        SnapshotId id = new SnapshotId(chunk.index(), chunk.term());
        if (chunk.offset() == 0) {
            abandon();
            if (chunk.totalBytes() > bytesMax) throw new IOException("a snapshot of " + chunk.totalBytes() + " bytes is over the limit of " + bytesMax);
            Files.createDirectories(dir);
            // A name per transfer, even across connections: the file of the one before may still be checked on the
            // snapshot thread.
            tempFile = dir.resolve("recv-" + peerId + "-" + System.nanoTime() + PART_SUFFIX);
            file = FileChannel.open(tempFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
            receiving = id;
            totalBytes = chunk.totalBytes();
            written = 0;
        } else if (file == null || !id.equals(receiving) || chunk.offset() != written || chunk.totalBytes() != totalBytes) {
            abandon();
            return;
        }
        while (chunk.data().hasRemaining()) written += file.write(chunk.data(), written);
    }

    /** The file of snapshot {@code id} when all of it arrived (closed, not synced), else null; either way the receiver starts over. */
    Path takeComplete(SnapshotId id) throws IOException {
        boolean complete = file != null && id.equals(receiving) && written == totalBytes;
        if (!complete) {
            abandon();
            return null;
        }
        file.close();
        file = null;
        receiving = null;
        return tempFile;
    }

    /** Drops a transfer in progress. */
    void abandon() throws IOException {
        if (file == null) return;
        file.close();
        file = null;
        receiving = null;
        Files.deleteIfExists(tempFile);
    }
}
