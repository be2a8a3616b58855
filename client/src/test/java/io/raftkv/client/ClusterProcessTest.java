package io.raftkv.client;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Three real node processes on loopback: election, redirects, kill -9 of the leader and of everyone. */
class ClusterProcessTest {

    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    @Test
    void electsALeaderAndAWriteSentToAFollowerIsReadBackFromEveryNode() throws Exception {
        long started = System.nanoTime();
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient probe = cluster.client()) {
            int leader = cluster.awaitLeader(probe, ELECTION_DEADLINE);
            System.out.printf("first leader: node %d, %d ms after starting three JVMs%n", leader, (System.nanoTime() - started) / 1_000_000);
            int follower = leader == 1 ? 2 : 1;
            List<java.net.InetSocketAddress> followerFirst = new ArrayList<>(cluster.endpoints());
            followerFirst.remove(cluster.address(follower));
            followerFirst.add(0, cluster.address(follower));
            try (RaftKvClient client = new RaftKvClient(followerFirst, Duration.ofSeconds(10))) {
                client.put("greeting", "hello");
                assertEquals(cluster.address(leader), client.preferredEndpoint(), "the client followed NOT_LEADER to the leader");
                assertEquals("hello", client.get("greeting"));
            }
            for (int id = 1; id <= 3; id++) cluster.awaitLocalValue(id, "greeting", "hello", Duration.ofSeconds(10));
        }
    }

    @Test
    void killingTheLeaderElectsAnotherThatHasEveryAcknowledgedWrite() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, ELECTION_DEADLINE);
            for (int i = 0; i < 100; i++) client.put("k" + i, "v" + i);
            long killed = System.nanoTime();
            cluster.kill(leader);
            int next = cluster.awaitLeader(client, ELECTION_DEADLINE);
            System.out.printf("re-election: node %d leads %d ms after node %d was killed (election timeout %d ms)%n",
                    next, (System.nanoTime() - killed) / 1_000_000, leader, LocalCluster.TICK_MS * LocalCluster.ELECTION_TICKS);
            assertNotEquals(leader, next);
            for (int i = 0; i < 100; i++) assertEquals("v" + i, client.get("k" + i));
            client.put("after", "failover");
            assertEquals("failover", client.get("after"));

            cluster.start(leader);
            long leaderCommit = cluster.status(client, next).orElseThrow().commit();
            LocalCluster.await(Duration.ofSeconds(20), "the old leader to catch up",
                    () -> cluster.status(client, leader).filter(s -> s.applied() >= leaderCommit).orElse(null));
            cluster.awaitLocalValue(leader, "after", "failover", Duration.ofSeconds(10));
        }
    }

    @Test
    void sigtermStopsANodeCleanlyAndItRejoins() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, ELECTION_DEADLINE);
            int follower = leader == 3 ? 2 : 3;
            client.put("before", "stop");
            cluster.stop(follower);
            assertTrue(cluster.log(follower).contains("stopped"), "the node ran its clean shutdown:\n" + cluster.log(follower));
            client.put("while", "down");
            cluster.start(follower);
            cluster.awaitLocalValue(follower, "while", "down", Duration.ofSeconds(20));
        }
    }

    @Test
    void killingEveryNodeDuringAWriteLoadLosesNoAcknowledgedWrite() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        Map<String, String> acknowledged = new ConcurrentHashMap<>();
        AtomicBoolean writing = new AtomicBoolean(true);
        List<Thread> writers = new ArrayList<>();
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, ELECTION_DEADLINE);
            for (int w = 0; w < 4; w++) {
                int writer = w;
                Thread t = new Thread(() -> {
                    for (int i = 0; writing.get(); i++) {
                        String key = "w" + writer + "-" + i;
                        try {
                            client.put(key, "value-" + i);
                            acknowledged.put(key, "value-" + i);
                        } catch (RaftKvException e) {
                            return; // the cluster is going down: outcome unknown, not counted
                        }
                    }
                });
                t.start();
                writers.add(t);
            }
            LocalCluster.await(Duration.ofSeconds(30), "200 acknowledged writes", () -> acknowledged.size() >= 200 ? true : null);
            for (int id = 1; id <= 3; id++) cluster.kill(id);
            writing.set(false);
            for (Thread t : writers) t.join(30_000);
        }
        int acked = acknowledged.size();
        for (int id = 1; id <= 3; id++) cluster.start(id);
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, ELECTION_DEADLINE);
            for (Map.Entry<String, String> e : acknowledged.entrySet()) {
                assertEquals(e.getValue(), client.get(e.getKey()), "acknowledged write " + e.getKey() + " survived kill -9 of every node");
            }
        }
        System.out.printf("kill -9 of all three nodes under load: %d acknowledged writes, all present after restart%n", acked);
    }

    @Test
    void garbageOnOneConnectionClosesItAndTheNodeKeepsServingOthers() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, ELECTION_DEADLINE);
            byte[] random = new byte[4096];
            new Random(42).nextBytes(random);
            byte[] hugeLength = ByteBuffer.allocate(5).putInt(Integer.MAX_VALUE).put((byte) 0x10).array();
            byte[] notHello = ClientCodec.request(new ClientRequest.Status(1)).array();
            ByteBuffer put = ClientCodec.request(new ClientRequest.Put(7, "k".getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8)));
            byte[] truncated = concat(ClientCodec.helloClient().array(), java.util.Arrays.copyOf(put.array(), put.remaining() - 3));
            byte[] unknownType = concat(ClientCodec.helloClient().array(), new byte[]{0, 0, 0, 1, 0x7E});
            byte[] lyingBody = concat(ClientCodec.helloClient().array(), ByteBuffer.allocate(4 + 1 + 8 + 4).putInt(1 + 8 + 4).put((byte) 0x11).putLong(1).putInt(1_000_000).array());
            for (byte[] garbage : List.of(random, hugeLength, notHello, truncated, unknownType, lyingBody)) {
                String answer = sendAndAwaitClose(cluster, leader, garbage, garbage == truncated);
                assertTrue(answer.startsWith("closed"), answer);
                client.put("still", "serving");
                assertEquals("serving", client.get("still"));
            }
            assertTrue(cluster.alive(leader));
        }
    }

    /** Writes {@code bytes} to the node, optionally half-closes, and reads until the node closes the connection. */
    private static String sendAndAwaitClose(LocalCluster cluster, int id, byte[] bytes, boolean halfClose) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(cluster.address(id), 5_000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(bytes);
            out.flush();
            if (halfClose) s.shutdownOutput();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[1024];
            int n;
            while ((n = in.read(buf)) >= 0) got.write(buf, 0, n);
            return "closed after " + got.size() + " bytes of answer";
        } catch (java.net.SocketTimeoutException e) {
            return "the node did not close the connection";
        } catch (java.net.SocketException e) {
            return "closed (" + e.getMessage() + ")";
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
