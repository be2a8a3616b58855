package io.raftkv.net;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The loop's pool of direct buffers that connections copy frames into ({@link Connection#sendCopy}). A heap frame given to
 * a socket is copied by the JDK into a direct buffer of its own anyway; copying it into one of these instead lets the
 * caller encode every answer into one reused array (no array allocated and zeroed per answer, a range's 30 KB among
 * them), and the socket takes the chunks as they are. Loop thread only.
 *
 * <p>Bounded twice: past {@value #POOLED_MAX} free chunks one given back is left to the collector, so a burst to a slow
 * reader does not pin its memory for good; and at most {@code inUseMax} chunks are out at once, so that queues which
 * are each within their own bound cannot together exhaust the JVM's direct memory (by default as large as the heap, and
 * also what the JDK copies peers' frames through): past it {@link #take} says no, and the connection that asked is
 * closed with the reason, where an {@code OutOfMemoryError} would have stopped the loop.
 */
final class DirectChunks {

    static final int CHUNK_BYTES = 64 * 1024;
    static final int POOLED_MAX = 256;

    private final int inUseMax;
    /** Most recently given back first: the one still in the cache. */
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int inUse;

    /** Half of the JVM's direct memory at its default size (the heap's maximum), and never below a pool's worth. */
    DirectChunks() {
        this((int) Math.max(POOLED_MAX, Math.min(Integer.MAX_VALUE, Runtime.getRuntime().maxMemory() / 2 / CHUNK_BYTES)));
    }

    DirectChunks(int inUseMax) {
        this.inUseMax = inUseMax;
    }

    /** An empty chunk to append to (position and limit 0), or null when {@code inUseMax} chunks are out already. */
    ByteBuffer take() {
        if (inUse == inUseMax) return null;
        ByteBuffer chunk = free.poll();
        if (chunk == null) chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        chunk.clear().limit(0);
        inUse++;
        return chunk;
    }

    void give(ByteBuffer chunk) {
        inUse--;
        if (free.size() < POOLED_MAX) free.push(chunk);
    }

    int inUseMax() {
        return inUseMax;
    }

    int inUse() {
        return inUse;
    }

    int pooled() {
        return free.size();
    }
}
