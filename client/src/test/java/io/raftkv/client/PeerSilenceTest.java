package io.raftkv.client;

import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.FrameType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A node's peer links notice a peer that went silent (issue 14), shown without root: node 1 of a two-node cluster is a
 * real process, node 2 is the test, which speaks the peer protocol on a socket and stays silent when it wants to. The
 * silent drop itself, in network namespaces, is {@link SeparateHostsTest}'s.
 */
class PeerSilenceTest {

    /** LocalCluster's nodes run 50 ms ticks: the default silence bound, the election timeout, is 500 ms. */
    private static final long SILENCE_MS = LocalCluster.ELECTION_TICKS * LocalCluster.TICK_MS;
    /**
     * The test starts its clock a little after the node starts its own (at the connect, or at the ping it answered): a
     * close may come this much before the bound by the test's clock.
     */
    private static final long CLOCK_SLACK_MS = 2 * LocalCluster.TICK_MS;
    /** Far longer than a silence bound: a link not closed in that time is never closed. */
    private static final int READ_TIMEOUT_MS = 10_000;

    @TempDir
    Path dir;
    private LocalCluster cluster;
    private final List<Socket> sockets = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (Socket s : sockets) s.close();
        if (cluster != null) cluster.close();
    }

    @Test
    @DisplayName("a dialled link that hears no pong is closed and dialled again; one that hears pongs stays")
    void aDialledLinkWithoutPongsIsRedialled() throws Exception {
        cluster = new LocalCluster(dir, 2);
        try (ServerSocket node2 = new ServerSocket()) {
            node2.bind(cluster.address(2));
            cluster.start(1);
            Socket first = accept(node2);
            assertEquals(FrameType.HELLO_PEER, readFrame(first).get());
            long pings = 0;
            long start = System.nanoTime();
            while (readFrameOrEnd(first) != null) pings++; // each a PEER_PING (or a Raft message) left unanswered
            long closedAfterMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(pings >= 1, "node 1 sent no ping before closing its link");
            assertTrue(closedAfterMs >= SILENCE_MS - CLOCK_SLACK_MS, "closed after " + closedAfterMs + " ms, before the silence bound of " + SILENCE_MS + " ms");

            Socket second = accept(node2);
            assertEquals(FrameType.HELLO_PEER, readFrame(second).get());
            // Answer every ping for twenty silence bounds: the link stays.
            long end = System.nanoTime() + 20 * SILENCE_MS * 1_000_000;
            int pongs = 0;
            second.setSoTimeout((int) SILENCE_MS);
            while (System.nanoTime() < end) {
                ByteBuffer frame;
                try {
                    frame = readFrameOrEnd(second);
                } catch (SocketTimeoutException quiet) {
                    continue;
                }
                if (frame == null) fail("node 1 closed a link that answered each of its " + pongs + " pings");
                if (frame.get() == FrameType.PEER_PING) {
                    write(second, PeerCodec.peerPong(frame.getLong()));
                    pongs++;
                }
            }
            assertTrue(pongs >= 10, "only " + pongs + " pings in " + 20 * SILENCE_MS + " ms");
        }
    }

    @Test
    @DisplayName("an accepted peer link that says nothing is closed, and a peer's new link replaces its old one")
    void silentAndReplacedInboundLinksAreClosed() throws Exception {
        cluster = new LocalCluster(dir, 2);
        try (ServerSocket node2 = new ServerSocket()) {
            node2.bind(cluster.address(2)); // node 1's own link to node 2 lands here and is ignored
            cluster.start(1);
            long clusterId;
            try (RaftKvClient client = new RaftKvClient(List.of(cluster.address(1)), Duration.ofSeconds(10))) {
                clusterId = client.members().clusterId();
            }

            Socket silent = dial(cluster.address(1), clusterId);
            write(silent, PeerCodec.peerPing(7));
            ByteBuffer pong = readFrame(silent);
            assertEquals(FrameType.PEER_PONG, pong.get());
            assertEquals(7, pong.getLong(), "the pong carries the ping's token");
            long start = System.nanoTime();
            assertEquals(null, readFrameOrEnd(silent), "node 1 kept a peer link that said nothing");
            long closedAfterMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(closedAfterMs >= SILENCE_MS - CLOCK_SLACK_MS, "closed after " + closedAfterMs + " ms, before the silence bound of " + SILENCE_MS + " ms");

            Socket old = dial(cluster.address(1), clusterId);
            write(old, PeerCodec.peerPing(1));
            assertEquals(FrameType.PEER_PONG, readFrame(old).get());
            Socket replacement = dial(cluster.address(1), clusterId);
            write(replacement, PeerCodec.peerPing(2));
            assertEquals(FrameType.PEER_PONG, readFrame(replacement).get());
            assertEquals(null, readFrameOrEnd(old), "node 1 kept the old link of a peer that dialled a new one");
        }
    }

    private Socket accept(ServerSocket server) throws IOException {
        server.setSoTimeout(READ_TIMEOUT_MS);
        Socket s = server.accept();
        sockets.add(s);
        s.setSoTimeout(READ_TIMEOUT_MS);
        return s;
    }

    private Socket dial(InetSocketAddress node, long clusterId) throws IOException {
        Socket s = new Socket();
        sockets.add(s);
        s.connect(node, READ_TIMEOUT_MS);
        s.setSoTimeout(READ_TIMEOUT_MS);
        write(s, PeerCodec.helloPeer(clusterId, 2));
        return s;
    }

    private static void write(Socket s, ByteBuffer frame) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
        out.flush();
    }

    private static ByteBuffer readFrame(Socket s) throws IOException {
        ByteBuffer frame = readFrameOrEnd(s);
        if (frame == null) fail("the node closed the connection");
        return frame;
    }

    /** The next frame (its type, then its body), or null when the node closed the connection. */
    private static ByteBuffer readFrameOrEnd(Socket s) throws IOException {
        DataInputStream in = new DataInputStream(s.getInputStream());
        int length;
        try {
            length = in.readInt();
        } catch (EOFException closed) {
            return null;
        } catch (IOException reset) {
            if (reset instanceof SocketTimeoutException) throw reset;
            return null;
        }
        byte[] frame = new byte[length];
        in.readFully(frame);
        return ByteBuffer.wrap(frame);
    }
}
