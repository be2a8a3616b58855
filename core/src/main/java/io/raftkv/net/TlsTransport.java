package io.raftkv.net;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.Certificate;

/**
 * TLS between a {@link Connection} and its socket: an {@link SSLEngine} driven by the loop thread, with no thread of its
 * own. {@link #read} works as {@code SocketChannel.read} but yields plaintext, {@link #write} as a gathering write but
 * takes plaintext, and both advance the handshake on the way: NEED_WRAP sends a record, NEED_UNWRAP waits for bytes,
 * NEED_TASK runs the engine's delegated tasks right here, on the loop. They are the handshake's public-key operations,
 * 2 to 3 ms per side with the EC P-256 keys {@code CertsMain} makes, once warm (docs/security.md): handing them to
 * another thread would spare the loop that time but add a hand-off, a re-arm of the connection and a state to test, on
 * the same cores. A handshake flood is bounded by the node's connection limit and the handshake deadline.
 *
 * <p>Bounds: each of the three buffers holds one record (the engine's packet or application buffer size, 16 KiB and its
 * overhead); a record announcing more is refused, never buffered. Handshake messages are bounded by the JDK
 * ({@code jdk.tls.maxHandshakeMessageSize}, 32 KiB; {@code jdk.tls.maxCertificateChainLength}, 10), the handshake's time
 * by the connection's owner. Loop thread only.
 */
final class TlsTransport {

    /**
     * Thrown when an accepted connection's first byte is that of a raftkv frame (its length's high byte: frames are under
     * 16 MiB), not of a TLS record (a content type, 20 to 23): a plaintext client on a TLS port. Writes then go out
     * unwrapped, so that the owner can answer the refusal in words the client reads.
     */
    static final class NotTlsException extends SSLException {
        NotTlsException() {
            super("this port speaks TLS, and the other side sent plaintext raftkv frames: connect with TLS");
        }
    }

    private static final ByteBuffer[] NO_PLAINTEXT = new ByteBuffer[0];

    private final SSLEngine engine;
    private final SocketChannel channel;
    /** Bytes from the socket not yet unwrapped (write mode). */
    private final ByteBuffer netIn;
    /** Records wrapped and not yet taken by the socket (read mode). */
    private final ByteBuffer netOut;
    /** Plaintext unwrapped and not yet read (read mode). */
    private ByteBuffer appIn;
    private boolean begun;
    private boolean sniffed;
    private boolean plaintext;
    private boolean inboundClosed;

    TlsTransport(SSLEngine engine, SocketChannel channel) {
        this.engine = engine;
        this.channel = channel;
        this.netIn = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        this.netOut = ByteBuffer.allocate(engine.getSession().getPacketBufferSize()).flip();
        this.appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize()).flip();
    }

    /** Starts the handshake: a client sends its ClientHello now; a server waits for one. */
    void begin() throws IOException {
        if (begun) return;
        begun = true;
        engine.beginHandshake();
        advance(engine.getHandshakeStatus());
    }

    boolean clientMode() {
        return engine.getUseClientMode();
    }

    /** True until the first handshake is over. */
    boolean handshaking() {
        return !begun || engine.getHandshakeStatus() != HandshakeStatus.NOT_HANDSHAKING;
    }

    /** The other side spoke plaintext ({@link NotTlsException}): what is written now goes out as it is. */
    boolean plaintext() {
        return plaintext;
    }

    /** Records wait for the socket: the owner must ask to hear when it is writable. */
    boolean outputPending() {
        return netOut.hasRemaining();
    }

    /** Plaintext is unwrapped and waiting: the socket will not say so, so the owner reads again without waiting for it. */
    boolean inputBuffered() {
        return appIn.hasRemaining();
    }

    /** The certificates the other side presented, verified by the handshake; null when it presented none. */
    Certificate[] peerCertificates() {
        try {
            return engine.getSession().getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /**
     * Reads plaintext into {@code dst}, as {@code SocketChannel.read} does: the count (0 when only handshake bytes came),
     * or -1 at the end of the stream (or the other side's close_notify). {@code fromSocket} false only unwraps what is
     * buffered. Throws {@link SSLException} on anything that is not TLS or fails the handshake.
     */
    int read(ByteBuffer dst, boolean fromSocket) throws IOException {
        if (!begun) begin();
        int n = take(dst);
        if (inboundClosed) return n > 0 ? n : -1;
        if (fromSocket && netIn.hasRemaining() && channel.read(netIn) < 0) return n > 0 ? n : -1;
        if (!sniffed && netIn.position() > 0) {
            sniffed = true;
            if (!clientMode() && netIn.get(0) == 0) {
                plaintext = true;
                throw new NotTlsException();
            }
        }
        n += unwrap(dst);
        return n == 0 && inboundClosed ? -1 : n;
    }

    private int unwrap(ByteBuffer dst) throws IOException {
        int n = 0;
        netIn.flip();
        try {
            while (netIn.hasRemaining() && !appIn.hasRemaining() && !inboundClosed) {
                appIn.clear();
                SSLEngineResult r;
                try {
                    r = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
                n += take(dst);
                switch (r.getStatus()) {
                    case BUFFER_UNDERFLOW -> {
                        // A whole buffer holds no whole record: it announces more than a record may hold.
                        if (netIn.position() == 0 && netIn.limit() == netIn.capacity()) {
                            throw new SSLException("a TLS record over " + netIn.capacity() + " bytes");
                        }
                        return n;
                    }
                    case BUFFER_OVERFLOW -> growAppIn();
                    case CLOSED -> inboundClosed = true;
                    case OK -> { }
                }
                advance(r.getHandshakeStatus());
            }
            return n;
        } finally {
            netIn.compact();
        }
    }

    /** The session now wants a larger plaintext buffer (it never does past a record's 16 KiB): appIn is empty here. */
    private void growAppIn() throws SSLException {
        int size = engine.getSession().getApplicationBufferSize();
        if (size <= appIn.capacity()) throw new SSLException("the TLS engine asks for more than " + appIn.capacity() + " bytes of plaintext room");
        appIn = ByteBuffer.allocate(size).flip();
    }

    private int take(ByteBuffer dst) {
        int n = Math.min(dst.remaining(), appIn.remaining());
        if (n == 0) return 0;
        int limit = appIn.limit();
        appIn.limit(appIn.position() + n);
        dst.put(appIn);
        appIn.limit(limit);
        return n;
    }

    /**
     * Wraps plaintext from {@code srcs} into records and writes them, as far as the socket takes them; returns the
     * plaintext bytes taken. Before the handshake is over the engine takes none (the owner holds its frames till then).
     */
    long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        if (plaintext) return channel.write(srcs, offset, length);
        long taken = 0;
        while (writeNet() && hasRemaining(srcs, offset, length)) {
            SSLEngineResult r = wrap(srcs, offset, length);
            if (r.getStatus() == SSLEngineResult.Status.CLOSED) throw new SSLException("the TLS session is closed");
            taken += r.bytesConsumed();
            advance(r.getHandshakeStatus());
            if (r.bytesConsumed() == 0) break;
        }
        return taken;
    }

    /** Goes on with what the socket could not take before, and with a handshake that waited for it. */
    void resume() throws IOException {
        if (!plaintext) advance(engine.getHandshakeStatus());
        writeNet();
    }

    /** Does what the handshake asks that this side can do now; NEED_UNWRAP waits for the other side's bytes. */
    private void advance(HandshakeStatus status) throws IOException {
        HandshakeStatus hs = status;
        while (hs == HandshakeStatus.NEED_TASK || hs == HandshakeStatus.NEED_WRAP) {
            if (hs == HandshakeStatus.NEED_TASK) {
                for (Runnable task; (task = engine.getDelegatedTask()) != null; ) task.run();
                hs = engine.getHandshakeStatus();
                continue;
            }
            if (!writeNet()) return; // the socket is full: resume() goes on once it is writable
            hs = wrap(NO_PLAINTEXT, 0, 0).getHandshakeStatus();
            if (engine.isOutboundDone()) break;
        }
        writeNet();
    }

    /** Wraps into netOut, which is empty. */
    private SSLEngineResult wrap(ByteBuffer[] srcs, int offset, int length) throws IOException {
        netOut.compact();
        SSLEngineResult r;
        try {
            r = engine.wrap(srcs, offset, length, netOut);
        } finally {
            netOut.flip();
        }
        if (r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW) {
            throw new SSLException("a TLS record over " + netOut.capacity() + " bytes");
        }
        return r;
    }

    /** Writes what is wrapped; true when nothing is left. */
    private boolean writeNet() throws IOException {
        if (netOut.hasRemaining()) channel.write(netOut);
        return !netOut.hasRemaining();
    }

    /**
     * Sends what the engine has to say before the socket closes, as far as the socket takes it at once: a close_notify,
     * or the alert of a failed handshake, so the other side reads why ("bad_certificate") rather than a reset.
     */
    void sendClose() {
        if (plaintext || !begun) return;
        try {
            engine.closeOutbound();
            if (writeNet() && !engine.isOutboundDone()) {
                wrap(NO_PLAINTEXT, 0, 0);
                writeNet();
            }
        } catch (IOException | RuntimeException e) {
            // Closing anyway: the other side reads the end of the stream instead.
        }
    }

    private static boolean hasRemaining(ByteBuffer[] srcs, int offset, int length) {
        for (int i = offset; i < offset + length; i++) if (srcs[i].hasRemaining()) return true;
        return false;
    }
}
