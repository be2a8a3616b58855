package io.raftkv.net;

import io.raftkv.protocol.FrameDecoder;
import io.raftkv.protocol.FrameException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayDeque;

/**
 * One non-blocking TCP connection owned by an {@link EventLoop}: frames in through a {@link FrameDecoder},
 * frames out through a queue bounded in bytes. A peer that stops reading fills the queue and is
 * disconnected, never buffered without bound. Loop thread only.
 */
public final class Connection {

    /** What the owner of a connection hears. Called on the loop thread. */
    public interface Handler {
        default void onConnected(Connection c) { }

        void onFrame(Connection c, byte type, ByteBuffer body);

        /** The connection is closed; {@code reason} says why (null for a close we asked for). */
        void onClosed(Connection c, String reason);

        /**
         * The other side sent bytes that are not a frame, or a frame the handler refused. The owner may send
         * an answer with {@link #sendAndClose(ByteBuffer)}; the connection is closed after this returns.
         */
        default void onBadFrame(Connection c, FrameException e) {
            c.close(e.getMessage());
        }

        /** Everything queued was written to the socket: a sender that paces itself may queue more. */
        default void onDrained(Connection c) { }
    }

    private final EventLoop loop;
    private final SocketChannel channel;
    private final FrameDecoder decoder;
    private final ArrayDeque<ByteBuffer> outbound = new ArrayDeque<>();
    private final long outboundBytesMax;
    private final String remote;
    private Handler handler;
    private SelectionKey key;
    private long outboundBytes;
    private boolean closed;
    private boolean closeAfterFlush;
    private boolean dirty;
    /** When bytes last came in, and when the socket last took bytes out: how {@link #silentFor} tells a dead link. */
    private long lastReadMs;
    private long lastWriteMs;
    private static final int GATHER_BUFFERS_MAX = 64;

    Connection(EventLoop loop, SocketChannel channel, Handler handler, int frameBytesMax, long outboundBytesMax, String remote) {
        this.loop = loop;
        this.channel = channel;
        this.handler = handler;
        this.decoder = new FrameDecoder(frameBytesMax);
        this.outboundBytesMax = outboundBytesMax;
        this.remote = remote;
        this.lastReadMs = EventLoop.nowMs();
        this.lastWriteMs = lastReadMs;
    }

    void register(SelectionKey key) {
        this.key = key;
    }

    void setHandler(Handler handler) {
        this.handler = handler;
    }

    public String remote() {
        return remote;
    }

    public boolean isOpen() {
        return !closed;
    }

    /**
     * True when nothing came in for {@code ms} and nothing queued could go out either. A link cut by a silent drop
     * looks like this; a slow but live one that is busy sending (a snapshot, a long catch-up, with the answer to a
     * ping queued behind it on the other side) keeps writing, and is not silent. Nothing queued: the socket took all,
     * which says nothing of the other side, so only what came in counts.
     */
    public boolean silentFor(long ms, long nowMs) {
        return nowMs - lastReadMs > ms && (outboundBytes == 0 || nowMs - lastWriteMs > ms);
    }

    /** Bytes queued and not yet taken by the socket. */
    public long queuedBytes() {
        return outboundBytes;
    }

    /**
     * Queues a whole frame. Returns false, and closes the connection, when the queue would pass its bound:
     * the other side is not reading.
     */
    public boolean send(ByteBuffer frame) {
        if (closed || closeAfterFlush) return false;
        // Frames wait for the end of the turn: before calling the other side slow, give the socket what it takes now.
        if (outboundBytes + frame.remaining() > outboundBytesMax) flushQueued();
        if (closed) return false;
        if (outboundBytes + frame.remaining() > outboundBytesMax) {
            close("outbound queue over " + outboundBytesMax + " bytes: the other side is not reading");
            return false;
        }
        outbound.add(frame);
        outboundBytes += frame.remaining();
        // Written at the end of the loop turn (or at an explicit EventLoop.flush()), together with everything
        // else queued in the turn: one gathering write instead of a system call per frame.
        if (!dirty) {
            dirty = true;
            loop.markDirty(this);
        }
        return true;
    }

    /** Sends {@code frame} (if there is room), then closes once it is written. */
    public void sendAndClose(ByteBuffer frame) {
        send(frame);
        if (closed) return;
        closeAfterFlush = true;
        flushQueued();
    }

    /** Writes what is queued, as far as the socket takes it now. Called by the loop for dirty connections. */
    void flushQueued() {
        dirty = false;
        if (closed || key == null || (key.interestOps() & SelectionKey.OP_CONNECT) != 0) return;
        flush();
    }

    void onConnectable() {
        try {
            if (!channel.finishConnect()) return;
        } catch (IOException e) {
            close("connect failed: " + e.getMessage());
            return;
        }
        key.interestOps(SelectionKey.OP_READ);
        lastReadMs = EventLoop.nowMs();
        lastWriteMs = lastReadMs;
        handler.onConnected(this);
        if (!outbound.isEmpty()) flush();
    }

    void onReadable() {
        try {
            // Bounded work per turn: read at most a few buffers, so one busy connection cannot starve the rest.
            for (int i = 0; i < 4 && !closed; i++) {
                ByteBuffer buffer = decoder.readBuffer();
                int n = channel.read(buffer);
                if (n < 0) {
                    close("closed by the other side");
                    return;
                }
                if (n == 0) return;
                lastReadMs = EventLoop.nowMs();
                decoder.decode((type, body) -> {
                    if (!closed && !closeAfterFlush) handler.onFrame(this, type, body);
                });
                if (buffer.hasRemaining()) return;
            }
        } catch (FrameException e) {
            handler.onBadFrame(this, e);
            if (!closeAfterFlush) close(e.getMessage());
        } catch (IOException e) {
            close(e.getMessage());
        }
    }

    void onWritable() {
        flush();
    }

    private void flush() {
        try {
            ByteBuffer[] batch = new ByteBuffer[Math.min(GATHER_BUFFERS_MAX, Math.max(1, outbound.size()))];
            while (!outbound.isEmpty()) {
                int n = 0;
                long batchBytes = 0;
                for (ByteBuffer b : outbound) {
                    if (n == batch.length) break;
                    batch[n++] = b;
                    batchBytes += b.remaining();
                }
                long written = channel.write(batch, 0, n);
                outboundBytes -= written;
                if (written > 0) lastWriteMs = EventLoop.nowMs();
                while (!outbound.isEmpty() && !outbound.peek().hasRemaining()) outbound.poll();
                if (written < batchBytes) {
                    // The socket buffer is full: go on when it is writable again.
                    key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                    return;
                }
            }
            if (key.isValid()) key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
            if (closeAfterFlush) close(null);
            else handler.onDrained(this);
        } catch (IOException e) {
            close(e.getMessage());
        }
    }

    public void close(String reason) {
        if (closed) return;
        closed = true;
        outbound.clear();
        outboundBytes = 0;
        if (key != null) key.cancel();
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing: nothing left to do with the error.
        }
        loop.connectionClosed(this);
        handler.onClosed(this, reason);
    }

    @Override
    public String toString() {
        return "Connection[" + remote + "]";
    }
}
