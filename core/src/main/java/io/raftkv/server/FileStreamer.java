package io.raftkv.server;

import io.raftkv.net.Connection;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file on its way over one connection in chunks, each wrapped in a frame by {@link Framer}: a snapshot to a follower
 * (SNAPSHOT_CHUNK frames), a backup to a client (SNAPSHOT_DATA). Paced by the connection: a chunk is queued only when
 * the connection has taken the one before, so its queue holds at most one chunk beside its other traffic (heartbeats
 * and answers go on), and a big file never fills it. Loop thread only.
 */
final class FileStreamer {

    /** Wraps bytes [offset, offset + data.remaining()) of a file of {@code totalBytes} in a frame. */
    interface Framer {
        ByteBuffer frame(long offset, long totalBytes, ByteBuffer data);
    }

    private final FileChannel file;
    private final long totalBytes;
    private final int chunkBytesMax;
    private final Framer framer;
    private long sent;

    FileStreamer(Path path, int chunkBytesMax, Framer framer) throws IOException {
        this.file = FileChannel.open(path, StandardOpenOption.READ);
        this.totalBytes = file.size();
        this.chunkBytesMax = chunkBytesMax;
        this.framer = framer;
    }

    long totalBytes() {
        return totalBytes;
    }

    /**
     * Queues the next chunk if the connection took the last; returns true once the whole file is queued. A connection
     * that refuses the chunk (closed, or its queue full) throws: the stream cannot go on.
     */
    boolean pump(Connection c) throws IOException {
        if (sent == totalBytes) return true;
        if (c.queuedBytes() > 0) return false;
        int n = (int) Math.min(chunkBytesMax, totalBytes - sent);
        ByteBuffer data = ByteBuffer.allocate(n);
        while (data.hasRemaining()) {
            if (file.read(data, sent + data.position()) < 0) throw new IOException("the file ended at " + (sent + data.position()) + " of " + totalBytes + " bytes");
        }
        if (!c.send(framer.frame(sent, totalBytes, data.flip()))) throw new IOException("the connection took no more");
        sent += n;
        return sent == totalBytes;
    }

    void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // Only read from: nothing to lose.
        }
    }
}
