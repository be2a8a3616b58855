package io.raftkv.net;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Connection#sendCopy} on a real {@link EventLoop}: frames copied out of one reused array arrive whole and in
 * order, mixed with frames queued by {@link Connection#send}, across chunk boundaries and partial writes; written chunks
 * go back to the loop's pool; a reader that stops reading gets its connection closed at the queue's bound.
 */
class SendCopyTest {

    private static final int FRAME_BYTES_MAX = 4 << 20;
    private static final long WAIT_SECONDS = 20;

    private EventLoop loop;
    private Thread loopThread;
    private final BlockingQueue<String> closedReasons = new LinkedBlockingQueue<>();

    @BeforeEach
    void startLoop() throws IOException {
        startLoop(new DirectChunks());
    }

    private void startLoop(DirectChunks chunks) throws IOException {
        loop = new EventLoop(new EventLoop.Limits(FRAME_BYTES_MAX, 16L << 20, 16L << 20, 1000, 1024, 1000), chunks);
        loopThread = new Thread(loop::run, "send-copy-test-loop");
        loopThread.start();
    }

    @AfterEach
    void stopLoop() throws InterruptedException {
        loop.stop();
        loopThread.join(10_000);
    }

    /**
     * Echoes every frame: type 1 through {@link Connection#sendCopy} from one scratch array that is scribbled over right
     * after (so only a copy can arrive intact), any other type through {@link Connection#send}.
     */
    private InetSocketAddress echoServer() throws Exception {
        byte[] scratch = new byte[FRAME_BYTES_MAX + 5];
        CompletableFuture<InetSocketAddress> bound = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                bound.complete((InetSocketAddress) loop.listen(new InetSocketAddress("127.0.0.1", 0), c -> new Connection.Handler() {
                    @Override
                    public void onFrame(Connection c, byte type, ByteBuffer body) {
                        int n = body.remaining();
                        if (type == 1) {
                            ByteBuffer f = ByteBuffer.wrap(scratch, 0, 5 + n);
                            f.putInt(0, 1 + n).put(4, type).put(5, body, body.position(), n);
                            c.sendCopy(f);
                            java.util.Arrays.fill(scratch, 0, 5 + n, (byte) 0x5a);
                        } else {
                            ByteBuffer f = ByteBuffer.allocate(5 + n);
                            f.putInt(1 + n).put(type).put(body).flip();
                            c.send(f);
                        }
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

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static void write(OutputStream out, byte type, byte[] body) throws IOException {
        ByteBuffer f = ByteBuffer.allocate(5 + body.length);
        f.putInt(1 + body.length).put(type).put(body);
        out.write(f.array());
    }

    /** The body of the next frame, which must be of {@code type}. */
    private static byte[] readBody(DataInputStream in, byte type) throws IOException {
        int length = in.readInt();
        assertEquals(type, in.readByte());
        byte[] body = new byte[length - 1];
        in.readFully(body);
        return body;
    }

    private int pooledChunks() throws Exception {
        CompletableFuture<Integer> pooled = new CompletableFuture<>();
        loop.execute(() -> pooled.complete(loop.chunks().pooled()));
        return pooled.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    private int chunksInUse() throws Exception {
        CompletableFuture<Integer> inUse = new CompletableFuture<>();
        loop.execute(() -> inUse.complete(loop.chunks().inUse()));
        return inUse.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    @Test
    void copiedFramesArriveWholeAndInOrderAmongSentOnes() throws Exception {
        InetSocketAddress address = echoServer();
        int chunk = DirectChunks.CHUNK_BYTES;
        int[] sizes = {0, 1, 100, chunk - 5, chunk - 6, chunk, chunk + 1, 3 * chunk + 17, 1_000_000, FRAME_BYTES_MAX - 1};
        List<byte[]> bodies = new ArrayList<>();
        List<Byte> types = new ArrayList<>();
        try (Socket s = new Socket()) {
            s.connect(address, 10_000);
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            // Every frame sent before any is read: the echoes pile up in the node's queue and go out in partial writes.
            Thread writer = new Thread(() -> {
                try {
                    OutputStream out = s.getOutputStream();
                    for (int round = 0; round < 3; round++) {
                        for (int i = 0; i < sizes.length; i++) {
                            write(out, (byte) (round == 1 && i % 3 == 0 ? 2 : 1), bytes(sizes[i], round * 100L + i));
                        }
                    }
                    out.flush();
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < sizes.length; i++) {
                    bodies.add(bytes(sizes[i], round * 100L + i));
                    types.add((byte) (round == 1 && i % 3 == 0 ? 2 : 1));
                }
            }
            writer.start();
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < bodies.size(); i++) {
                assertArrayEquals(bodies.get(i), readBody(in, types.get(i)), "frame " + i + " of " + bodies.get(i).length + " bytes");
            }
            writer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        }
        int pooled = pooledChunks();
        assertTrue(pooled > 0 && pooled <= DirectChunks.POOLED_MAX, "written chunks go back to the pool, a bounded one: " + pooled);
    }

    @Test
    void aReaderThatStopsReadingIsClosedAtTheQueuesBound() throws Exception {
        InetSocketAddress address = echoServer();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(address, 10_000);
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            OutputStream out = s.getOutputStream();
            byte[] body = bytes(1_000_000, 7);
            // 16 MiB of queue and the socket buffers take a few dozen of these; the connection is closed on the way.
            assertThrows(IOException.class, () -> {
                for (int i = 0; i < 200; i++) write(out, (byte) 1, body);
            });
            String reason = closedReasons.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotNull(reason);
            assertTrue(reason.contains("outbound queue over"), reason);
            // What was queued when it closed went back to the pool, within its bound.
            int pooled = pooledChunks();
            assertTrue(pooled > 0 && pooled <= DirectChunks.POOLED_MAX, "pooled: " + pooled);
            // The frames written before the close arrive whole, then the stream ends.
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertThrows(IOException.class, () -> {
                while (true) assertArrayEquals(body, readBody(in, (byte) 1));
            });
        }
    }

    @Test
    void whenTheLoopsChunksAreAllOutTheConnectionAskingIsClosedAndTheNodeGoesOn() throws Exception {
        stopLoop();
        // 8 chunks (512 KiB) for the whole loop, well under the connection's own 16 MiB bound.
        startLoop(new DirectChunks(8));
        InetSocketAddress address = echoServer();
        try (Socket s = new Socket()) {
            s.setReceiveBufferSize(64 * 1024);
            s.connect(address, 10_000);
            OutputStream out = s.getOutputStream();
            byte[] body = bytes(200_000, 11);
            assertThrows(IOException.class, () -> {
                for (int i = 0; i < 200; i++) write(out, (byte) 1, body);
            });
        }
        String reason = closedReasons.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(reason);
        assertTrue(reason.contains("outbound buffers are full (8 chunks"), reason);
        assertEquals(0, chunksInUse(), "the closed connection's chunks went back");
        // The loop still serves: another connection's frames cross as before.
        try (Socket s = new Socket()) {
            s.connect(address, 10_000);
            s.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            byte[] body = bytes(300_000, 12);
            write(s.getOutputStream(), (byte) 1, body);
            assertArrayEquals(body, readBody(new DataInputStream(s.getInputStream()), (byte) 1));
        }
    }
}
