package io.raftkv.client;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Connection floods against the leader of a three-node {@link LocalCluster} started with
 * {@code connectionsMax=500}: thousands of idle connections, and clients that pipeline requests without
 * ever reading their answers. The node must refuse or cut the offenders cleanly, keep serving a normal
 * client, and keep its memory bounded; a client that does read is not cut for a burst of answers just over
 * the bound.
 */
class ConnectionFloodTest {

    private static final int CONNECTIONS_MAX = 500;
    private static final int IDLE_CONNECTIONS = 3000;
    /** The node's own connections (two peer links dialed, two accepted) and our clients count too. */
    private static final int CONNECTIONS_OF_OUR_OWN_MAX = 20;
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    static Path dir;

    private static LocalCluster cluster;
    private static RaftKvClient anywhere;
    private static int leader;

    @BeforeAll
    static void startCluster() throws IOException {
        cluster = new LocalCluster(dir, 3);
        cluster.jvmOptions.add("-Draftkv.connectionsMax=" + CONNECTIONS_MAX);
        cluster.startAll();
        anywhere = cluster.client();
        leader = cluster.awaitLeader(anywhere, Duration.ofSeconds(20));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (anywhere != null) anywhere.close();
        if (cluster != null) cluster.close();
    }

    // ------------------------------------------------------------------ idle connections

    @Test
    void idleConnectionsPastTheLimitAreRefusedAndAcceptedAgainOnceTheyClose() throws Exception {
        InetSocketAddress node = cluster.address(leader);
        long term = anywhere.status(node).term();
        List<Idle> idle = new ArrayList<>();
        try (RaftKvClient normal = new RaftKvClient(List.of(node), Duration.ofSeconds(10)); Selector selector = Selector.open()) {
            normal.put("before", "the flood"); // its connection is open before the flood starts
            long started = System.nanoTime();
            try {
                for (int i = 0; i < IDLE_CONNECTIONS; i++) {
                    SocketChannel channel = SocketChannel.open(node);
                    channel.configureBlocking(false);
                    Idle c = new Idle(channel);
                    channel.register(selector, SelectionKey.OP_READ, c);
                    idle.add(c);
                    if (i % 100 == 0) drain(selector);
                }
                // The node handles its accept queue in order: once the last connection is refused, all were handled.
                Idle last = idle.get(idle.size() - 1);
                LocalCluster.await(DEADLINE, "the node to refuse the last connection", () -> {
                    drain(selector);
                    return last.closed ? true : null;
                });
                drain(selector);
                long floodMs = (System.nanoTime() - started) / 1_000_000;

                int refused = 0;
                int refusedWithError = 0;
                for (Idle c : idle) {
                    if (c.closed) {
                        refused++;
                        if (c.received.size() > 0) {
                            ClientResponse.Error e = onlyError(c.received.toByteArray());
                            assertEquals(0, e.requestId());
                            assertEquals(ErrorCode.REFUSED, e.code(), e.toString());
                            refusedWithError++;
                        }
                    } else {
                        assertEquals(0, c.received.size(), "an accepted idle connection is answered nothing");
                    }
                }
                int accepted = IDLE_CONNECTIONS - refused;
                assertTrue(accepted <= CONNECTIONS_MAX && accepted >= CONNECTIONS_MAX - CONNECTIONS_OF_OUR_OWN_MAX,
                        accepted + " idle connections accepted with connectionsMax=" + CONNECTIONS_MAX);

                // Everyone else is still served: the normal client's connection predates the flood.
                for (int i = 0; i < 20; i++) {
                    normal.put("during-" + i, "flood");
                    assertEquals("flood", normal.get("during-" + i));
                }
                assertEquals(leader, normal.status(node).nodeId());
                assertEquals(0, answeredStatus(node, 5), "a new connection while the node is full is refused");
                System.out.printf("idle flood: %d connections in %d ms to node %d (connectionsMax %d): %d accepted, %d refused "
                        + "(%d with ERROR REFUSED, %d by a bare close); the normal client kept working%n",
                        IDLE_CONNECTIONS, floodMs, leader, CONNECTIONS_MAX, accepted, refused, refusedWithError, refused - refusedWithError);
            } finally {
                for (Idle c : idle) c.channel.close();
            }

            // Once the idle connections are gone, new ones are accepted again, up to the limit.
            int again = CONNECTIONS_MAX - CONNECTIONS_OF_OUR_OWN_MAX;
            LocalCluster.await(DEADLINE, again + " new connections to be served", () -> {
                try {
                    return answeredStatus(node, again) == again ? true : null;
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            });
            normal.put("after", "the flood");
            assertEquals("the flood", normal.get("after"));
            assertStillLeading(term);
        }
    }

    /** The flooded node is alive and still leads in the term it led before: the flood caused no election. */
    private static void assertStillLeading(long term) throws IOException {
        assertTrue(cluster.alive(leader), "node " + leader + " is alive");
        ClientResponse.StatusResult s = anywhere.status(cluster.address(leader));
        assertEquals(List.of("LEADER", term), List.of(s.role(), s.term()), "node " + leader + "'s role and term after the flood");
    }

    /** One idle connection: what it received, and whether the node closed it. */
    private static final class Idle {
        final SocketChannel channel;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        boolean closed;

        Idle(SocketChannel channel) {
            this.channel = channel;
        }

        void read(SelectionKey key) {
            ByteBuffer buffer = ByteBuffer.allocate(512);
            try {
                while (true) {
                    buffer.clear();
                    int n = channel.read(buffer);
                    if (n == 0) return;
                    if (n < 0) break;
                    received.write(buffer.array(), 0, n);
                }
            } catch (IOException e) {
                // A reset: closed all the same.
            }
            closed = true;
            key.cancel();
        }
    }

    private static void drain(Selector selector) {
        try {
            selector.selectNow();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        for (SelectionKey key : selector.selectedKeys()) ((Idle) key.attachment()).read(key);
        selector.selectedKeys().clear();
    }

    static ClientResponse.Error onlyError(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int length = b.getInt();
        assertEquals(bytes.length, 4 + length, "one frame, then the close");
        byte type = b.get();
        assertEquals(FrameType.ERROR, type, "frame type");
        return (ClientResponse.Error) ClientCodec.decodeResponse(type, b.slice());
    }

    /** Opens {@code n} connections that each ask STATUS; returns how many got a STATUS_RESULT (the rest were refused). */
    static int answeredStatus(InetSocketAddress node, int n) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        int answered = 0;
        try {
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                sockets.add(s);
                s.connect(node, 5_000);
                s.setSoTimeout(10_000);
                ByteBuffer hello = ClientCodec.helloClient();
                ByteBuffer status = ClientCodec.request(new ClientRequest.Status(i + 1));
                try {
                    OutputStream out = s.getOutputStream();
                    out.write(hello.array(), 0, hello.remaining());
                    out.write(status.array(), 0, status.remaining());
                } catch (SocketException e) {
                    // Refused and closed by the node before we wrote: read below sees the close.
                }
            }
            for (Socket s : sockets) {
                try {
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    int length = in.readInt();
                    byte type = in.readByte();
                    byte[] body = new byte[length - 1];
                    in.readFully(body);
                    ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
                    if (r instanceof ClientResponse.StatusResult) answered++;
                    else if (!(r instanceof ClientResponse.Error e && e.code() == ErrorCode.REFUSED)) fail("unexpected answer " + r);
                } catch (EOFException | SocketException e) {
                    // Refused by a bare close.
                }
            }
        } finally {
            for (Socket s : sockets) s.close();
        }
        return answered;
    }

    // ------------------------------------------------------------------ clients that never read

    /**
     * Half of the flooders pipeline serializable GETs of a 64 KiB value (21 bytes in, 64 KiB out), half
     * pipeline STATUS (13 bytes in, 69 out, the most objects per byte queued); none reads. Each must be cut
     * by the node once its outbound queue passes its bound, while a normal client keeps being served.
     */
    @Test
    void clientsThatNeverReadAreCutWhileMemoryStaysBoundedAndOthersAreServed() throws Exception {
        InetSocketAddress node = cluster.address(leader);
        ProcessHandle process = nodeProcess(leader);
        byte[] big = new byte[64 * 1024];
        anywhere.put("big".getBytes(StandardCharsets.UTF_8), big);
        long rssBeforeKb = procStatusKb(process.pid(), "VmRSS");
        long term = anywhere.status(node).term();

        RssSampler sampler = new RssSampler(process.pid());
        List<Flooder> flooders = new ArrayList<>();
        byte[] getBig = ClientCodec.request(new ClientRequest.Get(1, "big".getBytes(StandardCharsets.UTF_8), true)).array();
        byte[] status = ClientCodec.request(new ClientRequest.Status(1)).array();
        long ops = 0;
        long statusMsMax = 0;
        try (RaftKvClient normal = new RaftKvClient(List.of(node), Duration.ofSeconds(10))) {
            normal.put("before", "the flood");
            sampler.start();
            long started = System.nanoTime();
            for (int i = 0; i < 4; i++) flooders.add(new Flooder(node, i % 2 == 0 ? getBig : status, i % 2 == 0 ? "GET 64 KiB" : "STATUS"));
            long end = System.nanoTime() + DEADLINE.toNanos();
            boolean allCut = false;
            String failure = null;
            while (System.nanoTime() < end && failure == null) {
                try {
                    long t0 = System.nanoTime();
                    assertEquals(leader, normal.status(node).nodeId());
                    statusMsMax = Math.max(statusMsMax, (System.nanoTime() - t0) / 1_000_000);
                    normal.put("during-" + ops, "v" + ops);
                    assertEquals("v" + ops, normal.get("during-" + ops));
                    ops++;
                } catch (RaftKvException e) {
                    failure = "the normal client failed after " + ops + " operations: " + e.getMessage();
                }
                allCut = flooders.stream().allMatch(f -> f.cutAfterBytes.get() >= 0);
                if (allCut && ops >= 20) break;
            }
            for (Flooder f : flooders) f.close();
            sampler.stop();
            String log = cluster.log(leader);
            assertTrue(cluster.alive(leader), "node " + leader + " died (" + failure + ", RSS at most " + (sampler.maxKb.get() >> 10)
                    + " MiB, " + flooders + "):\n" + log.substring(Math.max(0, log.length() - 3000)));
            if (failure != null) fail(failure);
            assertTrue(allCut, "every non-reading client is cut; " + flooders);
            normal.put("after", "the flood");
            assertEquals("the flood", normal.get("after"));
            assertStillLeading(term);
            long peakKb = procStatusKb(process.pid(), "VmHWM");
            System.out.printf("non-reading clients: %s cut by node %d in %d ms; %d put+get on another connection meanwhile, "
                            + "STATUS at most %d ms; RSS %d MiB before, %d MiB at most while sampled, peak (VmHWM) %d MiB%n",
                    flooders, leader, (System.nanoTime() - started) / 1_000_000, ops, statusMsMax, rssBeforeKb >> 10,
                    sampler.maxKb.get() >> 10, peakKb >> 10);
            assertTrue(peakKb < RSS_KB_MAX, "peak RSS " + (peakKb >> 10) + " MiB");
            // Responsive: a STATUS on another connection is answered within a few loop turns (seen: 50 to 160 ms).
            assertTrue(statusMsMax < 2_000, "STATUS took " + statusMsMax + " ms during the flood");
        } finally {
            for (Flooder f : flooders) f.close();
            sampler.stop();
        }
    }

    /**
     * Node JVMs run with -Xmx256m and the serial collector. At rest a node is ~60 MiB resident; a flood may touch
     * its whole young generation (a third of the heap, ~85 MiB) with garbage and keep what the four flooders
     * may have queued, 4 x clientOutboundBytesMax = 16 MiB counted, at most ~32 MiB as objects (a 69-byte
     * STATUS answer is ~140 bytes of heap): ~180 MiB at worst. With 64 MiB per connection the same flood fills
     * the heap and the node dies of OutOfMemoryError at ~310 MiB resident.
     */
    private static final long RSS_KB_MAX = 200 * 1024;

    /**
     * Answers queued in one loop turn leave at its end: a reading client whose burst of answers passes the bound
     * within one turn is not cut while the socket can still take bytes. Four 1 MiB answers are 68 bytes over
     * clientOutboundBytesMax (4 MiB); before the node tried the socket first, it cut such a client with no answer.
     */
    @Test
    void aClientThatReadsIsNotCutForABurstOfAnswersJustOverTheBound() throws Exception {
        byte[] key = "one-mebibyte".getBytes(StandardCharsets.UTF_8);
        anywhere.put(key, new byte[1 << 20]);
        InetSocketAddress node = cluster.address(leader);
        LocalCluster.await(Duration.ofSeconds(10), "the leader to apply the value", () -> {
            try (RaftKvClient one = new RaftKvClient(List.of(node), Duration.ofSeconds(5))) {
                return one.get(key, true).isPresent() ? true : null;
            }
        });
        int burst = 4;
        try (Socket s = new Socket()) {
            s.connect(node, 5_000);
            s.setSoTimeout(10_000);
            ByteArrayOutputStream requests = new ByteArrayOutputStream();
            requests.write(ClientCodec.helloClient().array());
            for (int i = 1; i <= burst; i++) requests.write(ClientCodec.request(new ClientRequest.Get(i, key, true)).array());
            s.getOutputStream().write(requests.toByteArray()); // one write: one read, one turn at the node
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
            for (int i = 0; i < burst; i++) {
                int length;
                try {
                    length = in.readInt();
                } catch (IOException e) {
                    throw new AssertionError("cut after " + i + " of " + burst + " answers: " + e, e);
                }
                byte type = in.readByte();
                byte[] body = new byte[length - 1];
                in.readFully(body);
                ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
                assertTrue(r instanceof ClientResponse.Value v && v.value().length == 1 << 20, "answer " + r);
            }
        } finally {
            // STATUS digests the whole map on every call: a big map would slow the STATUS flood of the test below.
            anywhere.delete(key);
        }
    }

    /** A client that writes pipelined requests as fast as it can and never reads. */
    private static final class Flooder {
        final String what;
        final Socket socket = new Socket();
        final AtomicLong cutAfterBytes = new AtomicLong(-1);
        private final long startedNanos = System.nanoTime();
        private volatile long cutMs;
        private final Thread thread;
        private volatile boolean closing;

        Flooder(InetSocketAddress node, byte[] request, String what) throws IOException {
            this.what = what;
            socket.setReceiveBufferSize(4096);
            socket.connect(node, 5_000);
            byte[] batch = new byte[request.length * 512];
            for (int i = 0; i < 512; i++) System.arraycopy(request, 0, batch, i * request.length, request.length);
            OutputStream out = socket.getOutputStream();
            out.write(ClientCodec.helloClient().array());
            thread = new Thread(() -> {
                long written = 0;
                try {
                    while (!closing) {
                        out.write(batch);
                        written += batch.length;
                    }
                } catch (IOException e) {
                    if (!closing) {
                        cutMs = (System.nanoTime() - startedNanos) / 1_000_000;
                        cutAfterBytes.set(written);
                    }
                }
            }, "flooder");
            thread.setDaemon(true);
            thread.start();
        }

        void close() throws IOException, InterruptedException {
            closing = true;
            socket.close();
            thread.join(10_000);
        }

        @Override
        public String toString() {
            long cut = cutAfterBytes.get();
            return what + (cut < 0 ? " (not cut)" : " (cut after " + cutMs + " ms and " + (cut >> 10) + " KiB of requests)");
        }
    }

    /** Samples a process's VmRSS; the kernel's VmHWM gives the exact peak, this only shows the course. */
    private static final class RssSampler {
        final long pid;
        final AtomicLong maxKb = new AtomicLong();
        private volatile boolean running = true;
        private final Thread thread = new Thread(this::run, "rss-sampler");

        RssSampler(long pid) {
            this.pid = pid;
            thread.setDaemon(true);
        }

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join(5_000);
        }

        private void run() {
            while (running) {
                try {
                    long kb = procStatusKb(pid, "VmRSS");
                    maxKb.accumulateAndGet(kb, Math::max);
                } catch (IOException e) {
                    return; // the process is gone: the test says so
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
        }
    }

    /** A {@code kB} line of /proc/PID/status, e.g. VmRSS. */
    private static long procStatusKb(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
            if (line.startsWith(field + ":")) return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip());
        }
        throw new IOException(field + " not in /proc/" + pid + "/status");
    }

    /** The JVM of node {@code id} of our cluster, found among this JVM's children by its command line. */
    private static ProcessHandle nodeProcess(int id) {
        String config = cluster.config().toString();
        return ProcessHandle.current().children().filter(p -> {
            List<String> args = p.info().arguments().map(List::of).orElse(List.of());
            int at = args.indexOf("--id");
            return at >= 0 && at + 1 < args.size() && args.get(at + 1).equals(String.valueOf(id)) && args.contains(config);
        }).findFirst().orElseThrow(() -> new AssertionError("no process for node " + id));
    }
}
