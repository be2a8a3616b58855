package io.raftkv.server;

import io.raftkv.net.Connection;
import io.raftkv.net.PeerCodec;
import io.raftkv.raft.Message;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One snapshot file on its way to a follower over the link this node dialled: SNAPSHOT_CHUNK frames, then the
 * Raft SNAPSHOT message that tells the follower's core it may install it. Paced by the link: a chunk is queued
 * only when the connection has taken the one before, so the link's queue holds at most one chunk beside the
 * Raft traffic (heartbeats and appends to others go on, and a big snapshot never fills the queue). Loop thread only.
 */
final class SnapshotSender {

    private final FileChannel file;
    private final Message message;
    private final long totalBytes;
    private final int chunkBytesMax;
    private long sent;
    private boolean done;

    SnapshotSender(Path path, Message message, int chunkBytesMax) throws IOException {
        this.file = FileChannel.open(path, StandardOpenOption.READ);
        this.message = message;
        this.totalBytes = file.size();
        this.chunkBytesMax = chunkBytesMax;
    }

    Message message() {
        return message;
    }

    /** Queues the next chunk if the connection took the last one; returns true once the whole snapshot and the message are queued. */
    boolean pump(Connection c) throws IOException {
        if (done) return true;
        if (c.queuedBytes() > 0) return false;
        int n = (int) Math.min(chunkBytesMax, totalBytes - sent);
        ByteBuffer data = ByteBuffer.allocate(n);
        while (data.hasRemaining()) {
            if (file.read(data, sent + data.position()) < 0) throw new IOException("snapshot file ended at " + (sent + data.position()) + " of " + totalBytes + " bytes");
        }
        if (!c.send(PeerCodec.snapshotChunk(message.index(), message.logTerm(), sent, totalBytes, data.flip()))) return false;
        sent += n;
        if (sent < totalBytes) return false;
        done = c.send(PeerCodec.raft(message));
        close();
        return done;
    }

    void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // Only read from: nothing to lose.
        }
    }
}
