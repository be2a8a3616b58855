package io.raftkv.net;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The loop's pool of direct buffers that connections copy frames into ({@link Connection#sendCopy}). A heap frame given to
 * a socket is copied by the JDK into a direct buffer of its own anyway; copying it into one of these instead lets the
 * caller encode every answer into one reused array (no array allocated and zeroed per answer, a range's 30 KB among
 * them), and the socket takes the chunks as they are. Loop thread only. Bounded: past {@value #POOLED_MAX} free chunks
 * one given back is left to the collector, so a burst to a slow reader does not pin its memory for good.
 */
final class DirectChunks {

    static final int CHUNK_BYTES = 64 * 1024;
    static final int POOLED_MAX = 256;

    /** Most recently given back first: the one still in the cache. */
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();

    /** An empty chunk to append to: position and limit 0. */
    ByteBuffer take() {
        ByteBuffer chunk = free.poll();
        if (chunk == null) chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        chunk.clear().limit(0);
        return chunk;
    }

    void give(ByteBuffer chunk) {
        if (free.size() < POOLED_MAX) free.push(chunk);
    }

    int pooled() {
        return free.size();
    }
}
