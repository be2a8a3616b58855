package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The limits of a node process. Options that contradict each other stop the node at start with one line
 * that names them. Every input from the network meets a limit that answers with a refusal or a close, never a stopped node.
 * A node process with a small {@code pendingRequestsMax} and {@code connectionsMax} (so its timer wheel is
 * small: the budget is derived from those limits) is flooded with many times its timer capacity of
 * connections that never say HELLO, first opened and closed at once, then held past the connection limit,
 * while a client writes. Before the HELLO timer was cancelled on close, such a flood filled the wheel and the
 * node exited with code 70.
 */
class NodeLimitsTest {

    private static final int PENDING_REQUESTS_MAX = 50;
    private static final int CONNECTIONS_MAX = 200;
    /** The node's timer capacity with these limits and no peers: NodeOptions.timersMax. */
    private static final int TIMERS_MAX = PENDING_REQUESTS_MAX + CONNECTIONS_MAX + NodeOptions.FIXED_TIMERS;
    private static final int CONNECT_CLOSE_CYCLES = 10 * TIMERS_MAX;
    private static final int HELD_CONNECTIONS = CONNECTIONS_MAX + 300;
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    @Test
    void helloLessConnectionFloodsAreRefusedOrClosedWhileWritesGoOn() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 1)) {
            cluster.jvmOptions.addAll(List.of("-Draftkv.pendingRequestsMax=" + PENDING_REQUESTS_MAX, "-Draftkv.connectionsMax=" + CONNECTIONS_MAX));
            cluster.startAll();
            InetSocketAddress node = cluster.address(1);
            try (RaftKvClient writer = cluster.client()) {
                cluster.awaitLeader(writer, DEADLINE);
                Writes writes = new Writes(writer);
                writes.start();
                try {
                    long started = System.nanoTime();
                    for (int i = 0; i < CONNECT_CLOSE_CYCLES; i++) SocketChannel.open(node).close();
                    long cyclesMs = (System.nanoTime() - started) / 1_000_000;

                    Pipelined pipelined;
                    Held held;
                    try (Socket raw = new Socket()) {
                        // Opened before the node is full; once it is, more writes than pendingRequestsMax arrive at once.
                        raw.connect(node, 5_000);
                        raw.setSoTimeout(30_000);
                        raw.getOutputStream().write(ClientCodec.helloClient().array());
                        held = holdPastTheLimit(node);
                        pipelined = pipelineWrites(raw, 4 * PENDING_REQUESTS_MAX);
                    }
                    assertTrue(pipelined.overloaded() > 0, "writes past pendingRequestsMax are answered OVERLOADED: " + pipelined);
                    assertTrue(cluster.alive(1), "the node survived the flood");
                    long writesDuringFlood = writes.succeeded.get();

                    // No budget leaked: once the flood is gone a new connection is served, up to the limit.
                    int again = CONNECTIONS_MAX - 10;
                    LocalCluster.await(DEADLINE, again + " new connections to be served", () -> {
                        try {
                            return ConnectionFloodTest.answeredStatus(node, again) == again ? true : null;
                        } catch (IOException e) {
                            throw new AssertionError(e);
                        }
                    });
                    writes.stopAndJoin();
                    assertNull(writes.failure.get(), "every write succeeded");
                    assertTrue(writes.succeeded.get() > 0, "writes went on during the flood");
                    assertTrue(cluster.alive(1), "the node is alive");
                    assertTrue(!cluster.log(1).contains(" ERROR "), "the node logged no error:\n" + cluster.log(1));
                    System.out.printf("timer budget flood: %d hello-less connect/close cycles in %d ms (timer capacity %d), then %d connections held "
                                    + "with connectionsMax %d: %d refused with ERROR REFUSED, %d closed bare, %d accepted; meanwhile %d writes pipelined "
                                    + "on one connection (pendingRequestsMax %d): %d OK, %d OVERLOADED; %d writes succeeded during the flood, "
                                    + "%d in all, none failed%n", CONNECT_CLOSE_CYCLES, cyclesMs, TIMERS_MAX, HELD_CONNECTIONS, CONNECTIONS_MAX,
                            held.refusedWithError, held.closedBare, held.accepted, 4 * PENDING_REQUESTS_MAX, PENDING_REQUESTS_MAX,
                            pipelined.ok(), pipelined.overloaded(), writesDuringFlood, writes.succeeded.get());
                } finally {
                    writes.stopAndJoin();
                }
            }
        }
    }

    @Test
    void optionsThatContradictEachOtherRefuseToStartWithOneLine() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 1)) {
            cluster.jvmOptions.addAll(List.of("-Draftkv.frameBytesMax=65536")); // the default 1 MiB value no longer fits a frame
            cluster.startAll();
            assertEquals(2, cluster.awaitExit(1, DEADLINE), "exit code: a usage error");
            List<String> lines = cluster.log(1).lines().toList();
            assertEquals(1, lines.size(), "one line: " + lines);
            assertTrue(lines.get(0).startsWith("raftkv node 1: node options contradict each other: frameBytesMax (65536) must hold the largest PUT"), lines.get(0));
        }
    }

    private record Held(int refusedWithError, int closedBare, int accepted) { }

    private record Pipelined(int ok, int overloaded) { }

    /** Sends {@code n} PUTs back to back on a greeted connection, then reads every answer: each is OK or OVERLOADED. */
    private static Pipelined pipelineWrites(Socket s, int n) throws IOException {
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        for (int i = 1; i <= n; i++) frames.write(ClientCodec.request(new ClientRequest.Put(i, ("p" + i).getBytes(), "v".getBytes())).array());
        s.getOutputStream().write(frames.toByteArray());
        DataInputStream in = new DataInputStream(s.getInputStream());
        int ok = 0;
        int overloaded = 0;
        for (int i = 0; i < n; i++) {
            byte[] frame = new byte[in.readInt()];
            in.readFully(frame);
            ClientResponse r = ClientCodec.decodeResponse(frame[0], ByteBuffer.wrap(frame, 1, frame.length - 1).slice());
            if (r instanceof ClientResponse.Ok) ok++;
            else if (r instanceof ClientResponse.Error e && e.code() == ErrorCode.OVERLOADED) overloaded++;
            else throw new AssertionError("a pipelined write was answered " + r);
        }
        return new Pipelined(ok, overloaded);
    }

    /** Opens more connections than the node takes and keeps them; each is refused with ERROR REFUSED, closed, or left open. */
    private static Held holdPastTheLimit(InetSocketAddress node) throws IOException {
        ArrayDeque<SocketChannel> open = new ArrayDeque<>();
        int refused = 0;
        int closedBare = 0;
        int accepted = 0;
        try {
            for (int i = 0; i < HELD_CONNECTIONS; i++) open.add(SocketChannel.open(node));
            // The node handles its accept queue in order: once the last is refused, every connection was handled.
            SocketChannel last = open.getLast();
            LocalCluster.await(DEADLINE, "the node to refuse the last connection", () -> readAll(last).closed ? true : null);
            for (SocketChannel c : open) {
                Received r = readAll(c);
                if (!r.closed) {
                    assertEquals(0, r.bytes.length, "an accepted connection that said nothing is answered nothing");
                    accepted++;
                } else if (r.bytes.length == 0) {
                    closedBare++;
                } else {
                    ClientResponse.Error e = ConnectionFloodTest.onlyError(r.bytes);
                    assertEquals(ErrorCode.REFUSED, e.code(), e.toString());
                    refused++;
                }
            }
        } finally {
            for (SocketChannel c : open) c.close();
        }
        assertTrue(refused > 0, "connections past the limit were refused with an error");
        assertTrue(accepted <= CONNECTIONS_MAX, accepted + " accepted with connectionsMax " + CONNECTIONS_MAX);
        return new Held(refused, closedBare, accepted);
    }

    private record Received(byte[] bytes, boolean closed) { }

    /** What the node has sent on {@code c} so far, and whether it closed it; never blocks. */
    private static Received readAll(SocketChannel c) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean closed = false;
        try {
            c.configureBlocking(false);
            ByteBuffer buffer = ByteBuffer.allocate(512);
            while (true) {
                buffer.clear();
                int n = c.read(buffer);
                if (n == 0) break;
                if (n < 0) {
                    closed = true;
                    break;
                }
                bytes.write(buffer.array(), 0, n);
            }
        } catch (IOException e) {
            closed = true; // a reset
        }
        return new Received(bytes.toByteArray(), closed);
    }

    /** A client that writes one key after another until stopped, and remembers the first failure. */
    private static final class Writes {
        final AtomicLong succeeded = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final RaftKvClient client;
        private final Thread thread;
        private volatile boolean stopping;

        Writes(RaftKvClient client) {
            this.client = client;
            this.thread = new Thread(this::run, "writes");
        }

        void start() {
            thread.start();
        }

        void stopAndJoin() throws InterruptedException {
            stopping = true;
            thread.join();
        }

        private void run() {
            for (long i = 0; !stopping && failure.get() == null; i++) {
                try {
                    client.put("w" + i, "during the flood");
                    succeeded.incrementAndGet();
                } catch (RuntimeException e) {
                    failure.set(e);
                }
            }
        }
    }
}
