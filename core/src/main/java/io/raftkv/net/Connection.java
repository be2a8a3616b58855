package io.raftkv.net;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameDecoder;
import io.raftkv.protocol.FrameException;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.security.cert.Certificate;
import java.util.ArrayDeque;

/**
 * One non-blocking TCP connection owned by an {@link EventLoop}: frames in through a {@link FrameDecoder},
 * frames out through a queue bounded in bytes. A peer that stops reading fills the queue and is
 * disconnected, never buffered without bound. With TLS ({@link TlsTransport}) the same frames go through an SSLEngine:
 * a dialled connection tells its handler onConnected once the handshake is over, and frames queued before that wait
 * for it; without TLS the path is the plain one, with no copy added. Loop thread only.
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
    /** Null for plaintext. */
    private final TlsTransport tls;
    /** The TLS handshake is over: frames may go out. */
    private boolean tlsEstablished;
    /** The engine failed: its alert goes out before the close. */
    private boolean tlsFailed;
    private final FrameDecoder decoder;
    private final ArrayDeque<ByteBuffer> outbound = new ArrayDeque<>();
    /** The loop's chunks among {@code outbound}, in the same order: given back to the loop once written. */
    private final ArrayDeque<ByteBuffer> chunksQueued = new ArrayDeque<>();
    /** The last of {@code outbound} when it is a chunk: where {@link #sendCopy} appends while it has room. */
    private ByteBuffer tailChunk;
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

    /** {@code tls}: null for plaintext; in client mode for a connection this node dials, server mode for one it accepted. */
    Connection(EventLoop loop, SocketChannel channel, Handler handler, int frameBytesMax, long outboundBytesMax, String remote, SSLEngine tls) {
        this.loop = loop;
        this.channel = channel;
        this.tls = tls == null ? null : new TlsTransport(tls, channel);
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

    public boolean isTls() {
        return tls != null;
    }

    /** A TLS connection whose handshake is not over yet (false for plaintext). */
    public boolean handshaking() {
        return tls != null && !tlsEstablished;
    }

    /** The certificate chain the other side presented in the TLS handshake, verified by it; null without one (or TLS). */
    public Certificate[] peerCertificates() {
        return tlsEstablished ? tls.peerCertificates() : null;
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
     * Queues a whole frame, which the connection then owns. Returns false, and closes the connection, when the queue
     * would pass its bound: the other side is not reading.
     */
    public boolean send(ByteBuffer frame) {
        if (!admit(frame.remaining())) return false;
        outbound.add(frame);
        tailChunk = null;
        queued(frame.remaining());
        return true;
    }

    /**
     * Queues a copy of a whole frame, in the loop's direct chunks: the caller may reuse {@code frame}'s array as soon as
     * this returns (an answer encoded into scratch). Returns false, and closes the connection, as {@link #send} does.
     */
    public boolean sendCopy(ByteBuffer frame) {
        int bytes = frame.remaining();
        if (!admit(bytes)) return false;
        int from = frame.position();
        while (from < frame.limit()) {
            if (tailChunk == null || tailChunk.limit() == tailChunk.capacity()) {
                tailChunk = loop.chunks().take();
                if (tailChunk == null) {
                    close("the node's outbound buffers are full (" + loop.chunks().inUseMax() + " chunks of " + DirectChunks.CHUNK_BYTES
                            + " bytes queued on its connections)");
                    return false;
                }
                outbound.add(tailChunk);
                chunksQueued.add(tailChunk);
            }
            int at = tailChunk.limit();
            int n = Math.min(frame.limit() - from, tailChunk.capacity() - at);
            tailChunk.limit(at + n);
            tailChunk.put(at, frame, from, n);
            from += n;
        }
        queued(bytes);
        return true;
    }

    /** Whether {@code bytes} more fit in the queue; when they do not, the connection is closed. */
    private boolean admit(int bytes) {
        if (closed || closeAfterFlush) return false;
        // Frames wait for the end of the turn: before calling the other side slow, give the socket what it takes now.
        if (outboundBytes + bytes > outboundBytesMax) flushQueued();
        if (closed) return false;
        if (outboundBytes + bytes > outboundBytesMax) {
            close("outbound queue over " + outboundBytesMax + " bytes: the other side is not reading");
            return false;
        }
        return true;
    }

    private void queued(int bytes) {
        outboundBytes += bytes;
        // Written at the end of the loop turn (or at an explicit EventLoop.flush()), together with everything
        // else queued in the turn: one gathering write instead of a system call per frame.
        if (!dirty) {
            dirty = true;
            loop.markDirty(this);
        }
    }

    /**
     * Sends {@code frame} (if there is room), then closes once it is written. A TLS connection whose handshake is not over
     * closes at once, unsaid: nothing can be said before the handshake, and waiting for it would hold a connection that
     * is refused (the connection limit, which has no timer to spare) for as long as the other side likes.
     */
    public void sendAndClose(ByteBuffer frame) {
        if (tls != null && !tlsEstablished && !tls.plaintext()) {
            close(null);
            return;
        }
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
        connected();
    }

    /** The socket is connected: the handler hears it now, or, with TLS, once the handshake this starts is over. */
    void connected() {
        if (tls == null) {
            handler.onConnected(this);
            if (!outbound.isEmpty()) flush();
            return;
        }
        try {
            tls.begin();
            afterTls();
        } catch (IOException e) {
            tlsFailed(e);
        }
    }

    void onReadable() {
        try {
            // Bounded work per turn: read at most a few buffers, so one busy connection cannot starve the rest. TLS may
            // hold plaintext unwrapped past them, which the socket will not announce again: it is read out after them.
            for (int i = 0; (i < 4 || (tls != null && tls.inputBuffered())) && !closed; i++) {
                ByteBuffer buffer = decoder.readBuffer();
                int n = tls == null ? channel.read(buffer) : tls.read(buffer, i < 4);
                if (tls != null) afterTls();
                if (n < 0) {
                    close(handshaking() ? "closed by the other side during the TLS handshake" : "closed by the other side");
                    return;
                }
                if (n == 0) return;
                lastReadMs = EventLoop.nowMs();
                decoder.decode((type, body) -> {
                    if (!closed && !closeAfterFlush) handler.onFrame(this, type, body);
                });
                if (buffer.hasRemaining() && (tls == null || !tls.inputBuffered())) return;
            }
        } catch (FrameException e) {
            badFrame(e);
        } catch (TlsTransport.NotTlsException e) {
            // Answered in plaintext, which the client reads: a clear refusal rather than a closed socket.
            badFrame(new FrameException(ErrorCode.REFUSED, e.getMessage()));
        } catch (IOException e) {
            if (tls != null && e instanceof SSLException) tlsFailed(e);
            else close(e.getMessage());
        }
    }

    private void badFrame(FrameException e) {
        handler.onBadFrame(this, e);
        if (!closeAfterFlush) close(e.getMessage());
    }

    private void tlsFailed(IOException e) {
        tlsFailed = true;
        close((tlsEstablished ? "TLS failed: " : "TLS handshake failed: ") + e.getMessage());
    }

    /**
     * After the engine did something: once the handshake is over, a dialled connection's handler hears onConnected and
     * the frames queued meanwhile go; records the socket did not take wait for it to be writable.
     */
    private void afterTls() {
        if (closed) return;
        if (!tlsEstablished && !tls.handshaking()) {
            tlsEstablished = true;
            // The handshake was the link's first exchange: it counts as heard and written.
            lastReadMs = EventLoop.nowMs();
            lastWriteMs = lastReadMs;
            if (tls.clientMode()) handler.onConnected(this);
            if (!outbound.isEmpty() && !dirty && !closed) {
                dirty = true;
                loop.markDirty(this);
            }
        }
        if (tls.outputPending() && key.isValid()) key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
    }

    void onWritable() {
        flush();
    }

    private void flush() {
        try {
            if (tls != null) {
                tls.resume();
                afterTls();
                if (closed) return;
                // Records already wrapped go before more are; frames wait for the handshake.
                if (tls.outputPending()) {
                    key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                    return;
                }
                if (!tlsEstablished && !tls.plaintext()) {
                    key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
                    return;
                }
            }
            ByteBuffer[] batch = new ByteBuffer[Math.min(GATHER_BUFFERS_MAX, Math.max(1, outbound.size()))];
            while (!outbound.isEmpty()) {
                int n = 0;
                long batchBytes = 0;
                for (ByteBuffer b : outbound) {
                    if (n == batch.length) break;
                    batch[n++] = b;
                    batchBytes += b.remaining();
                }
                long written = tls == null ? channel.write(batch, 0, n) : tls.write(batch, 0, n);
                outboundBytes -= written;
                if (written > 0) lastWriteMs = EventLoop.nowMs();
                while (!outbound.isEmpty() && !outbound.peek().hasRemaining()) written(outbound.poll());
                if (written < batchBytes) {
                    // The socket buffer is full: go on when it is writable again.
                    key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                    return;
                }
            }
            if (tls != null && tls.outputPending()) {
                // Every frame is wrapped, the last record not yet written.
                key.interestOps(key.interestOps() | SelectionKey.OP_WRITE);
                return;
            }
            if (key.isValid()) key.interestOps(key.interestOps() & ~SelectionKey.OP_WRITE);
            if (closeAfterFlush) close(null);
            else handler.onDrained(this);
        } catch (IOException e) {
            if (tls != null && e instanceof SSLException) tlsFailed(e);
            else close(e.getMessage());
        }
    }

    /** {@code b} left the queue, all of it written: a chunk goes back to the loop. */
    private void written(ByteBuffer b) {
        if (chunksQueued.peek() != b) return;
        chunksQueued.poll();
        if (b == tailChunk) tailChunk = null;
        loop.chunks().give(b);
    }

    public void close(String reason) {
        if (closed) return;
        closed = true;
        outbound.clear();
        for (ByteBuffer chunk : chunksQueued) loop.chunks().give(chunk);
        chunksQueued.clear();
        tailChunk = null;
        outboundBytes = 0;
        // A close_notify, or the failed engine's alert. Not in the middle of a handshake we give up (a deadline): the other
        // side may already have moved to keys this side never computed, and would read the plaintext alert as a bad record.
        if (tls != null && (tlsEstablished || tlsFailed)) tls.sendClose();
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
