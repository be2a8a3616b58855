package io.raftkv.server;

import io.raftkv.net.PeerCodec;
import io.raftkv.raft.SnapshotId;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Writes the snapshot chunks one peer sends into a temporary file, in order. A chunk that does not continue the
 * file (a transfer cut short and begun again, a lost chunk) abandons what was received: the leader sends the whole
 * snapshot again after its next heartbeat. Nothing here is trusted yet: the file is checked whole once
 * complete ({@link #takeComplete}). Loop thread only: a chunk is written to the page cache, and every
 * {@link #SYNC_INTERVAL_BYTES} the snapshot thread is asked to sync what is there.
 */
final class SnapshotReceiver {

    /** Received files end in this until checked and renamed; whatever a crash leaves with it is deleted at start. */
    static final String PART_SUFFIX = ".part";

    /** Received bytes left to the page cache at most before they are synced (off the loop, see {@link #accept}). */
    static final long SYNC_INTERVAL_BYTES = 8L << 20;

    private final Path dir;
    private final int peerId;
    private final long bytesMax;
    private final Executor syncer;
    private long unsynced;
    /** A sync is queued on the syncer and has not started: one at a time, so they never crowd its other work out. */
    private final AtomicBoolean syncQueued = new AtomicBoolean();
    private Path tempFile;
    private FileChannel file;
    private SnapshotId receiving;
    private long written;
    private long totalBytes;

    /** {@code syncer}: the thread that syncs what was received while the loop goes on (the node's snapshot thread). */
    SnapshotReceiver(Path dir, int peerId, long bytesMax, Executor syncer) {
        this.dir = dir;
        this.peerId = peerId;
        this.bytesMax = bytesMax;
        this.syncer = syncer;
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
            unsynced = 0;
        } else if (file == null || !id.equals(receiving) || chunk.offset() != written || chunk.totalBytes() != totalBytes) {
            abandon();
            return;
        }
        int n = chunk.data().remaining();
        while (chunk.data().hasRemaining()) written += file.write(chunk.data(), written);
        unsynced += n;
        if (unsynced >= SYNC_INTERVAL_BYTES) {
            unsynced = 0;
            syncSoon(file);
        }
    }

    /**
     * Has the snapshot thread sync what was written so far: a big snapshot left whole in the page cache until its final
     * sync would make every WAL sync on the same disk wait behind a flush of gigabytes (as for a snapshot written here).
     */
    private void syncSoon(FileChannel channel) {
        if (!syncQueued.compareAndSet(false, true)) return;
        try {
            syncer.execute(() -> {
                syncQueued.set(false);
                try {
                    channel.force(false);
                } catch (IOException closed) {
                    // Abandoned or complete meanwhile: the final check syncs whatever is kept.
                }
            });
        } catch (RejectedExecutionException busy) {
            syncQueued.set(false); // the final check syncs it all
        }
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
