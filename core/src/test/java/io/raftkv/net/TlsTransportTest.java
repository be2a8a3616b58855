package io.raftkv.net;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.FrameException;
import io.raftkv.protocol.TlsFiles;
import io.raftkv.server.CertsMain;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS through {@link TlsTransport} on a real {@link EventLoop}: frames of every size cross it unchanged both ways, a
 * failed or fuzzed handshake closes that connection with a reason and nothing else, and a plaintext client on a TLS port
 * reads a refusal in plaintext. The server side echoes every frame.
 */
class TlsTransportTest {

    private static final String PASSWORD = CertsMain.PASSWORD_DEFAULT;
    private static final int FRAME_BYTES_MAX = 4 << 20;
    private static final long WAIT_SECONDS = 20;

    @TempDir
    static Path certs;
    private static SSLContext server;
    private static SSLContext client;
    /** A certificate of another CA, which trusts only its own. */
    private static SSLContext stranger;

    private EventLoop loop;
    private Thread loopThread;
    /** Why each accepted connection closed, in order. */
    private final BlockingQueue<String> closedReasons = new LinkedBlockingQueue<>();

    @BeforeAll
    static void makeCertificates() throws IOException {
        Path ours = certs.resolve("ours");
        Path theirs = certs.resolve("theirs");
        CertsMain.generate(ours, "test CA", List.of(new CertsMain.Leaf("server", List.of()), new CertsMain.Leaf("client", List.of())), PASSWORD, 2);
        CertsMain.generate(theirs, "another CA", List.of(new CertsMain.Leaf("stranger", List.of())), PASSWORD, 2);
        server = TlsFiles.context(TlsFiles.keyManagers(ours.resolve("server.p12"), null, PASSWORD.toCharArray()),
                TlsFiles.trustManagers(null, ours.resolve("ca.pem")));
        // The PEM pair, as raftkvctl --cacert --cert --key reads it.
        client = TlsFiles.clientContext(ours.resolve("ca.pem"), ours.resolve("client.pem"), ours.resolve("client-key.pem"), null);
        stranger = TlsFiles.clientContext(theirs.resolve("ca.pem"), theirs.resolve("stranger.p12"), null, PASSWORD.toCharArray());
    }

    @BeforeEach
    void startLoop() throws IOException {
        loop = new EventLoop(new EventLoop.Limits(FRAME_BYTES_MAX, 64L << 20, 64L << 20, 1000, 1024, 1000));
        loopThread = new Thread(loop::run, "tls-test-loop");
        loopThread.start();
    }

    @AfterEach
    void stopLoop() throws InterruptedException {
        loop.stop();
        loopThread.join(10_000);
    }

    /** Listens with TLS (client certificates required when {@code needClientAuth}); echoes frames; returns the address. */
    private InetSocketAddress echoServer(SSLContext context, boolean needClientAuth) throws Exception {
        Supplier<SSLEngine> engines = () -> {
            SSLEngine e = context.createSSLEngine();
            e.setUseClientMode(false);
            if (needClientAuth) e.setNeedClientAuth(true);
            else e.setWantClientAuth(true);
            return e;
        };
        CompletableFuture<InetSocketAddress> bound = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                bound.complete((InetSocketAddress) loop.listen(new InetSocketAddress("127.0.0.1", 0), engines, c -> new Connection.Handler() {
                    @Override
                    public void onFrame(Connection c, byte type, ByteBuffer body) {
                        c.send(frame(type, body));
                    }

                    @Override
                    public void onBadFrame(Connection c, FrameException e) {
                        c.sendAndClose(ClientCodec.response(new ClientResponse.Error(0, e.code(), e.getMessage())));
                    }

                    @Override
                    public void onClosed(Connection c, String reason) {
                        closedReasons.add(String.valueOf(reason));
                    }
                }).getLocalAddress());
            } catch (IOException e) {
                bound.completeExceptionally(e);
            }
        });
        return bound.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    private static ByteBuffer frame(byte type, ByteBuffer body) {
        ByteBuffer f = ByteBuffer.allocate(5 + body.remaining());
        f.putInt(1 + body.remaining()).put(type).put(body.duplicate()).flip();
        return f;
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void framesOfEverySizeCrossALoopToLoopLinkBothWays() throws Exception {
        InetSocketAddress address = echoServer(server, true);
        int[] sizes = {0, 1, 16_379, 16_380, 16_384, 100_000, FRAME_BYTES_MAX - 1};
        BlockingQueue<byte[]> echoed = new LinkedBlockingQueue<>();
        CompletableFuture<Void> connected = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                SSLEngine engine = client.createSSLEngine("127.0.0.1", address.getPort());
                engine.setUseClientMode(true);
                loop.connect(address, new Connection.Handler() {
                    @Override
                    public void onConnected(Connection c) {
                        connected.complete(null);
                        // Queued in one turn: one gathering wrap of many frames, the large one over hundreds of records.
                        for (int i = 0; i < sizes.length; i++) c.send(frame((byte) i, ByteBuffer.wrap(bytes(sizes[i], i))));
                    }

                    @Override
                    public void onFrame(Connection c, byte type, ByteBuffer body) {
                        byte[] b = new byte[body.remaining() + 1];
                        b[0] = type;
                        body.get(b, 1, b.length - 1);
                        echoed.add(b);
                    }

                    @Override
                    public void onClosed(Connection c, String reason) {
                        connected.completeExceptionally(new IOException(reason));
                    }
                }, engine);
            } catch (IOException e) {
                connected.completeExceptionally(e);
            }
        });
        connected.get(WAIT_SECONDS, TimeUnit.SECONDS);
        for (int i = 0; i < sizes.length; i++) {
            byte[] b = echoed.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(b, "frame " + i + " of " + sizes[i] + " bytes came back");
            assertEquals(i, b[0]);
            assertArrayEquals(bytes(sizes[i], i), java.util.Arrays.copyOfRange(b, 1, b.length), "frame " + i + " of " + sizes[i] + " bytes");
        }
    }

    @Test
    void manyPipelinedFramesFromABlockingTlsSocketComeBackInOrder() throws Exception {
        InetSocketAddress address = echoServer(server, false);
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(address.getAddress(), address.getPort())) {
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            int frames = 20_000;
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int i = 0; i < frames; i++) {
                        ByteBuffer f = frame((byte) 7, ByteBuffer.allocate(4 + i % 300).putInt(0, i));
                        out.write(f.array());
                    }
                    out.flush();
                } catch (IOException e) {
                    // The reader fails the test.
                }
            });
            writer.start();
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < frames; i++) {
                int length = in.readInt();
                assertEquals(5 + i % 300, length);
                assertEquals(7, in.readByte());
                assertEquals(i, in.readInt());
                in.skipNBytes(length - 5);
            }
            writer.join();
        }
    }

    @Test
    void aPlaintextClientOnATlsPortReadsARefusalInPlaintext() throws Exception {
        InetSocketAddress address = echoServer(server, false);
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            s.getOutputStream().write(bytesOf(ClientCodec.helloClient()));
            DataInputStream in = new DataInputStream(s.getInputStream());
            int length = in.readInt();
            byte type = in.readByte();
            byte[] body = new byte[length - 1];
            in.readFully(body);
            ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
            assertTrue(r instanceof ClientResponse.Error e && e.message().contains("speaks TLS"), r.toString());
            assertEquals(-1, in.read(), "then the node closes the connection");
        }
    }

    @Test
    void aConnectionRefusedBeforeItsHandshakeIsClosedAtOnce() throws Exception {
        // As InboundConnections refuses one over the connection limit: no timer, so no waiting for a handshake.
        CompletableFuture<InetSocketAddress> bound = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                bound.complete((InetSocketAddress) loop.listen(new InetSocketAddress("127.0.0.1", 0), () -> {
                    SSLEngine e = server.createSSLEngine();
                    e.setUseClientMode(false);
                    return e;
                }, c -> {
                    c.sendAndClose(ClientCodec.response(new ClientResponse.Error(0, io.raftkv.protocol.ErrorCode.REFUSED, "connection limit")));
                    return new Connection.Handler() {
                        @Override
                        public void onFrame(Connection c, byte type, ByteBuffer body) {
                        }

                        @Override
                        public void onClosed(Connection c, String reason) {
                        }
                    };
                }).getLocalAddress());
            } catch (IOException e) {
                bound.completeExceptionally(e);
            }
        });
        InetSocketAddress address = bound.get(WAIT_SECONDS, TimeUnit.SECONDS);
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertTrue(endsWithoutWaiting(s.getInputStream()), "closed without the other side saying a word");
        }
    }

    @Test
    void aCertificateOfAnotherCaFailsTheHandshakeOnBothSides() throws Exception {
        InetSocketAddress address = echoServer(server, true);
        try (SSLSocket s = (SSLSocket) stranger.getSocketFactory().createSocket(address.getAddress(), address.getPort())) {
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            // The stranger does not trust our server either: it fails first, and says so to the server in an alert.
            assertThrows(SSLException.class, s::startHandshake);
        }
        String reason = closedReasons.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(reason);
        assertTrue(reason.startsWith("TLS handshake failed: "), reason);
    }

    @Test
    void aDialledLinkRefusesAServerOfAnotherCa() throws Exception {
        InetSocketAddress address = echoServer(stranger, false);
        CompletableFuture<String> closed = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                SSLEngine engine = client.createSSLEngine("127.0.0.1", address.getPort());
                engine.setUseClientMode(true);
                loop.connect(address, new Connection.Handler() {
                    @Override
                    public void onConnected(Connection c) {
                        closed.completeExceptionally(new AssertionError("connected to a server of another CA"));
                    }

                    @Override
                    public void onFrame(Connection c, byte type, ByteBuffer body) {
                    }

                    @Override
                    public void onClosed(Connection c, String reason) {
                        closed.complete(reason);
                    }
                }, engine);
            } catch (IOException e) {
                closed.completeExceptionally(e);
            }
        });
        String reason = closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertTrue(reason.startsWith("TLS handshake failed: ") && reason.contains("PKIX"), reason);
    }

    @Test
    void fuzzedHandshakesCloseTheirConnectionsAndTheLoopServesTheOthers() throws Exception {
        InetSocketAddress address = echoServer(server, false);
        byte[] clientHello = clientHello(address);
        Random random = new Random(42);
        // A live TLS connection across the fuzzing, checked at the end.
        try (SSLSocket live = (SSLSocket) client.getSocketFactory().createSocket(address.getAddress(), address.getPort())) {
            live.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            live.startHandshake();
            for (int round = 0; round < 60; round++) {
                byte[] input = switch (round % 4) {
                    case 0 -> noise(1 + random.nextInt(40_000), round);
                    case 1 -> java.util.Arrays.copyOf(clientHello, 1 + random.nextInt(clientHello.length - 1)); // a handshake that stops halfway
                    case 2 -> flipOneByte(clientHello, random);
                    default -> record(22, bytes(random.nextInt(20_000), round)); // a handshake record of garbage
                };
                try (Socket s = new Socket(address.getAddress(), address.getPort())) {
                    s.getOutputStream().write(input);
                    if (round % 4 == 0) {
                        // Not TLS at all: closed at once, with the reason on the node's side.
                        s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                        assertTrue(endsWithoutWaiting(s.getInputStream()), "noise of round " + round + " is answered by a close");
                        assertNotNull(awaitReason(r -> r.startsWith("TLS handshake failed: ")),
                                "the node says why it closed the noise of round " + round);
                    }
                    // The others may wait for more (the owner's deadline closes them: InboundConnections) or fail.
                } catch (IOException e) {
                    // A reset is a close too.
                }
            }
            OutputStream out = live.getOutputStream();
            out.write(frame((byte) 9, ByteBuffer.wrap(new byte[]{1, 2, 3})).array());
            DataInputStream in = new DataInputStream(live.getInputStream());
            assertEquals(4, in.readInt());
            assertEquals(9, in.readByte());
            assertArrayEquals(new byte[]{1, 2, 3}, in.readNBytes(3));
        }
        assertTrue(loopThread.isAlive());
    }

    /** The first close reason that {@code wanted} accepts, skipping others (connections of earlier rounds); null if none comes. */
    private String awaitReason(java.util.function.Predicate<String> wanted) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        for (String r; (r = closedReasons.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) != null; ) {
            if (wanted.test(r)) return r;
        }
        return null;
    }

    /** True when the other side closes (or resets) the connection before the socket's timeout. */
    private static boolean endsWithoutWaiting(InputStream in) {
        byte[] sink = new byte[4096];
        try {
            while (in.read(sink) >= 0) {
                // Whatever the server says: an alert, then the end.
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** Random bytes that no TLS engine takes for a record: the second byte is not a TLS major version (3). */
    private static byte[] noise(int n, long seed) {
        byte[] b = bytes(Math.max(5, n), seed);
        b[0] = 22;
        b[1] = (byte) (b[1] == 3 ? 4 : b[1]);
        return b;
    }

    private static byte[] flipOneByte(byte[] b, Random random) {
        byte[] copy = b.clone();
        int i = 5 + random.nextInt(copy.length - 5);
        copy[i] ^= (byte) (1 + random.nextInt(255));
        return copy;
    }

    private static byte[] record(int type, byte[] body) {
        ByteBuffer r = ByteBuffer.allocate(5 + body.length);
        r.put((byte) type).put((byte) 3).put((byte) 3).putShort((short) body.length).put(body);
        return r.array();
    }

    /** A real ClientHello, as our client engine would send it first. */
    private static byte[] clientHello(InetSocketAddress address) throws SSLException {
        SSLEngine engine = client.createSSLEngine("127.0.0.1", address.getPort());
        engine.setUseClientMode(true);
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.beginHandshake();
        engine.wrap(ByteBuffer.allocate(0), out);
        return java.util.Arrays.copyOf(out.array(), out.position());
    }

    private static byte[] bytesOf(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return bytes;
    }
}
