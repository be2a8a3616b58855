package io.raftkv.client;

import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.TlsFiles;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.server.CertsMain;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13's TLS, on a real 3-node cluster (node processes) whose client and peer links all speak TLS, with certificates
 * from {@link CertsMain}: the Java client works through an SSLContext (requests and watches); a peer without a certificate
 * of the cluster's CA cannot speak the peer protocol; a plaintext client is refused in words it reads; a client that does
 * not trust the nodes says the handshake failed, naming the node; fuzzed and stalled handshakes stop nothing.
 */
class TlsClusterTest {

    private static final String PASSWORD = CertsMain.PASSWORD_DEFAULT;
    /** Short, so that the stalled handshake is seen closed soon. */
    private static final long HANDSHAKE_TIMEOUT_MS = 1_000;
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static Path ours;
    private static Path theirs;
    private static SSLContext clientTls;
    private static RaftKvClient client;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new LocalCluster(dir, 3, 1);
        ours = dir.resolve("certs");
        theirs = dir.resolve("other-ca");
        List<CertsMain.Leaf> leaves = new ArrayList<>();
        for (int id = 1; id <= 4; id++) leaves.add(new CertsMain.Leaf("node" + id, List.of("127.0.0.1")));
        leaves.add(new CertsMain.Leaf("client", List.of()));
        CertsMain.generate(ours, "cluster CA", leaves, PASSWORD, 2);
        CertsMain.generate(theirs, "another CA", List.of(new CertsMain.Leaf("rogue", List.of("127.0.0.1"))), PASSWORD, 2);
        for (int id = 1; id <= 3; id++) {
            tlsOptionsOf(id);
            cluster.start(id);
        }
        clientTls = TlsFiles.clientContext(ours.resolve("ca.pem"), ours.resolve("client.p12"), null, PASSWORD.toCharArray());
        client = new RaftKvClient(cluster.endpoints(), Duration.ofSeconds(10), clientTls);
        cluster.awaitLeader(client, DEADLINE);
    }

    /**
     * The TLS options of node {@code id}'s JVM. Node 1 reads PEM files and requires client certificates, the others read
     * PKCS#12 and do not: both paths of TlsFiles, and both kinds of accepting node.
     */
    private static void tlsOptionsOf(int id) {
        cluster.jvmOptions.clear();
        if (id == 1) {
            cluster.jvmOptions.addAll(List.of("-Draftkv.tls.cert=" + ours.resolve("node1.pem"), "-Draftkv.tls.key=" + ours.resolve("node1-key.pem"),
                    "-Draftkv.tls.clientCertAuth=true"));
        } else {
            // {id}: the node puts its own id in (one JAVA_TOOL_OPTIONS for every node of bin/raftkv start).
            cluster.jvmOptions.addAll(List.of("-Draftkv.tls.cert=" + ours.resolve("node{id}.p12"), "-Draftkv.tls.password=" + PASSWORD));
        }
        cluster.jvmOptions.addAll(List.of("-Draftkv.tls.ca=" + ours.resolve("ca.pem"), "-Draftkv.tls.handshakeTimeoutMs=" + HANDSHAKE_TIMEOUT_MS));
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (client != null) client.close();
        if (cluster != null) cluster.close();
    }

    @Test
    void theJavaClientWritesReadsAndWatchesThroughTls() throws Exception {
        BlockingQueue<WatchResponse> events = new LinkedBlockingQueue<>();
        try (Watcher w = client.watch(WatchRequest.key(0, bytes("tls/watched")), events::add)) {
            client.put("tls/greeting", "hello over TLS");
            assertEquals("hello over TLS", client.get("tls/greeting"));
            // Every node serves it: each link from the client, and the followers' copies through the peer links.
            for (int id = 1; id <= 3; id++) awaitLocalValue(id, "tls/greeting", "hello over TLS");
            client.put("tls/watched", "seen");
            long end = System.nanoTime() + DEADLINE.toNanos();
            while (true) {
                WatchResponse r = events.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                assertNotNull(r, "the watch over TLS saw the put");
                if (!r.events().isEmpty()) {
                    assertEquals("seen", new String(r.events().get(0).kv().value(), StandardCharsets.UTF_8));
                    break;
                }
            }
        }
    }

    /** etcdctl's flags: --cacert turns TLS on, --cert and --key present the client's certificate (node 1 requires one). */
    @Test
    void raftkvctlTalksTlsWithEtcdctlsFlags() throws Exception {
        List<String> tls = List.of("--cacert", ours.resolve("ca.pem").toString(), "--cert", ours.resolve("client.pem").toString(),
                "--key", ours.resolve("client-key.pem").toString());
        assertEquals("OK", ctl(tls, "put", "tls/ctl", "by raftkvctl").strip());
        assertEquals("tls/ctl\nby raftkvctl", ctl(tls, "get", "tls/ctl").strip());
        Path backup = dir.resolve("ctl-backup.snap");
        ctl(tls, "snapshot", "save", backup.toString());
        assertTrue(Files.size(backup) > 0, "snapshot save over TLS wrote nothing");
        // Without --cacert the client speaks plaintext to a TLS port and is told so; --cert alone is a usage error.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, RaftKvCtl.run(ctlArgs(List.of("--cert", "x.pem"), "get", "tls/ctl"), new ByteArrayInputStream(new byte[0]),
                new PrintStream(out), new PrintStream(err), false));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--cacert"), err.toString(StandardCharsets.UTF_8));
    }

    private static String[] ctlArgs(List<String> global, String... command) {
        List<String> args = new ArrayList<>(List.of("--endpoints", cluster.hostPort(1) + "," + cluster.hostPort(2) + "," + cluster.hostPort(3),
                "--timeout", "10"));
        args.addAll(global);
        args.addAll(List.of(command));
        return args.toArray(String[]::new);
    }

    /** Runs raftkvctl in this JVM; fails unless it exits 0. Returns what it printed. */
    private static String ctl(List<String> global, String... command) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RaftKvCtl.run(ctlArgs(global, command), new ByteArrayInputStream(new byte[0]), new PrintStream(out), new PrintStream(err), false);
        assertEquals(0, code, () -> String.join(" ", command) + " failed: " + err.toString(StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aNewMemberJoinsOverTls() throws Exception {
        client.put("tls/before-join", "there");
        client.addMember(4, cluster.hostPort(4), true);
        tlsOptionsOf(4);
        cluster.join(4, 2); // asks node 2 for the members over TLS, then catches up through the peer links
        awaitLocalValue(4, "tls/before-join", "there");
        client.removeMember(4);
    }

    /**
     * The refusal comes at once from a node that is running; a node whose loop is stalled for a second (a loaded machine
     * running the suite) lets the client's attempt bound pass first, and the write is then of unknown outcome, as any
     * write a node did not answer: so up to three tries, each with a new client, and one must read the refusal.
     */
    @Test
    void aPlaintextClientIsRefusedInWordsItReads() throws Exception {
        List<String> others = new ArrayList<>();
        RaftKvException refusal = null;
        for (int attempt = 0; attempt < 3 && refusal == null; attempt++) {
            try (RaftKvClient plain = new RaftKvClient(List.of(cluster.address(1)), Duration.ofSeconds(3))) {
                RaftKvException e = assertThrows(RaftKvException.class, () -> plain.put("tls/plain", "no"));
                if (e.getMessage().contains("this port speaks TLS")) {
                    refusal = e;
                } else {
                    assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, e.kind(), "neither the refusal nor a timeout: " + e.getMessage());
                    others.add(e.getMessage());
                }
            }
        }
        assertNotNull(refusal, "no try read the refusal: " + others);
        // Refused at its HELLO: the client knows the write was not applied.
        assertTrue(refusal.kind() != RaftKvException.Kind.OUTCOME_UNKNOWN, refusal.kind() + ": " + refusal.getMessage());
        awaitLog(1, "this port speaks TLS, and the other side sent plaintext raftkv frames");
    }

    @Test
    void aClientThatDoesNotTrustTheNodesSaysTheHandshakeFailedWithWhichNode() throws Exception {
        SSLContext wrongTrust = TlsFiles.clientContext(theirs.resolve("ca.pem"), null, null, null);
        InetSocketAddress node = cluster.address(2);
        IOException e = assertThrows(IOException.class, () -> NodeConnection.open(node, 5_000, 1 << 20, 10, wrongTrust).close());
        assertTrue(e.getMessage().startsWith("TLS handshake failed with 127.0.0.1:" + node.getPort() + ": "), e.getMessage());
    }

    @Test
    void aNodeThatRequiresClientCertificatesRefusesAClientWithoutOne() throws Exception {
        SSLContext anonymous = TlsFiles.clientContext(ours.resolve("ca.pem"), null, null, null);
        // TLS 1.3 tells the client only after its own handshake ended: the client's first exchange finds out, in open().
        IOException e = assertThrows(IOException.class, () -> NodeConnection.open(cluster.address(1), 5_000, 1 << 20, 10, anonymous).close());
        assertTrue(e.getMessage().startsWith("TLS handshake failed with 127.0.0.1:" + cluster.address(1).getPort() + ": ")
                && e.getMessage().contains("bad_certificate"), e.getMessage());
        awaitLog(1, "TLS handshake failed: Empty client certificate chain");
        // Node 2 takes clients without certificates.
        NodeConnection.open(cluster.address(2), 5_000, 1 << 20, 10, anonymous).close();
    }

    @Test
    void aConnectionWithoutACertificateCannotSpeakThePeerProtocol() throws Exception {
        // Trusts the nodes, presents nothing: the handshake passes (clients need no certificate), HELLO_PEER does not.
        SSLContext anonymous = TlsFiles.clientContext(ours.resolve("ca.pem"), null, null, null);
        try (SSLSocket s = (SSLSocket) anonymous.getSocketFactory().createSocket("127.0.0.1", cluster.address(2).getPort())) {
            s.setSoTimeout((int) DEADLINE.toMillis());
            s.getOutputStream().write(whole(PeerCodec.helloPeer(clusterId(), 3)));
            ClientResponse r = readResponse(s.getInputStream());
            assertTrue(r instanceof ClientResponse.Error err && err.code() == ErrorCode.REFUSED
                    && err.message().contains("a peer must present a certificate of the cluster's CA"), r.toString());
            assertEquals(-1, s.getInputStream().read(), "then the node closes the link");
        }
        awaitLog(2, "refused node 3 from");
    }

    @Test
    void aPeerWithACertificateOfAnotherCaFailsItsHandshake() throws Exception {
        // Trusts the nodes (so that only the node's check can refuse), and presents the other CA's certificate even though
        // the node asks for one of its own CA (a JDK client would then present none: the test above).
        javax.net.ssl.X509KeyManager keys = (javax.net.ssl.X509KeyManager) TlsFiles.keyManagers(theirs.resolve("rogue.p12"), null, PASSWORD.toCharArray())[0];
        SSLContext rogue = TlsFiles.context(new javax.net.ssl.KeyManager[]{new Insistent(keys, "rogue")}, TlsFiles.trustManagers(null, ours.resolve("ca.pem")));
        try (SSLSocket s = (SSLSocket) rogue.getSocketFactory().createSocket("127.0.0.1", cluster.address(3).getPort())) {
            s.setSoTimeout((int) DEADLINE.toMillis());
            try {
                // TLS 1.3: the client's handshake ends before the node checked its certificate; the refusal is the next read.
                s.getOutputStream().write(whole(PeerCodec.helloPeer(clusterId(), 1)));
                assertEquals(-1, s.getInputStream().read(), "the node answered a peer of another CA");
            } catch (SSLException refused) {
                // The node's alert (certificate_unknown): what the JDK client reports.
            }
        }
        awaitLog(3, "TLS handshake failed: PKIX path");
        client.put("tls/after-rogue", "ok");
    }

    /** Presents its one certificate whatever issuers the server asks for, as a rogue peer would. */
    private static final class Insistent extends javax.net.ssl.X509ExtendedKeyManager {
        private final javax.net.ssl.X509KeyManager keys;
        private final String alias;

        Insistent(javax.net.ssl.X509KeyManager keys, String alias) {
            this.keys = keys;
            this.alias = alias;
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
            return alias;
        }

        @Override
        public String chooseClientAlias(String[] keyType, java.security.Principal[] issuers, Socket socket) {
            return alias;
        }

        @Override
        public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
            return new String[]{alias};
        }

        @Override
        public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, java.security.Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public java.security.cert.X509Certificate[] getCertificateChain(String a) {
            return keys.getCertificateChain(a);
        }

        @Override
        public java.security.PrivateKey getPrivateKey(String a) {
            return keys.getPrivateKey(a);
        }
    }

    @Test
    void fuzzedAndStalledHandshakesStopNothing() throws Exception {
        Random random = new Random(13);
        InetSocketAddress node = cluster.address(1);
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int round = 0; round < 40; round++) {
                Socket s = new Socket(node.getAddress(), node.getPort());
                byte[] noise = new byte[1 + random.nextInt(20_000)];
                random.nextBytes(noise);
                if (round % 2 == 0) {
                    // A TLS record header announcing a ClientHello, then a part of it, then nothing: the handshake stops halfway.
                    noise = java.util.Arrays.copyOf(new byte[]{22, 3, 1, 2, 0, 1, 0, 1, (byte) 252, 3, 3}, 11 + random.nextInt(200));
                    s.getOutputStream().write(noise);
                    stalled.add(s);
                } else {
                    noise[0] = (byte) (22 + random.nextInt(2)); // handshake or app-data record type, garbage after
                    try (s) {
                        s.getOutputStream().write(noise);
                    } catch (IOException e) {
                        // Reset by the node: refused, as meant.
                    }
                }
                if (round % 10 == 0) client.put("tls/fuzz", "round " + round);
            }
            // The node gives each stalled handshake its deadline, then closes it.
            for (Socket s : stalled) {
                s.setSoTimeout((int) (HANDSHAKE_TIMEOUT_MS * 10));
                assertTrue(closedByNode(s.getInputStream()), "a stalled handshake is closed by the node within its deadline");
            }
        } finally {
            for (Socket s : stalled) s.close();
        }
        awaitLog(1, "TLS handshake not over within " + HANDSHAKE_TIMEOUT_MS + " ms");
        for (int id = 1; id <= 3; id++) assertTrue(cluster.alive(id), "node " + id + " is running" + cluster.whyGone(id));
        client.put("tls/fuzz", "after");
        assertEquals("after", client.get("tls/fuzz"));
    }

    /** Waits until node {@code id}, asked alone over TLS, answers a serializable read of {@code key} with {@code value}. */
    private static void awaitLocalValue(int id, String key, String value) {
        try (RaftKvClient one = new RaftKvClient(List.of(cluster.address(id)), Duration.ofSeconds(2), clientTls)) {
            LocalCluster.await(DEADLINE, "node " + id + " to serve " + key + "=" + value, () -> {
                try {
                    return one.get(bytes(key), true).map(v -> new String(v, StandardCharsets.UTF_8)).filter(value::equals).orElse(null);
                } catch (RaftKvException e) {
                    return null; // still catching up
                }
            });
        }
    }

    private static boolean closedByNode(InputStream in) {
        try {
            while (in.read() >= 0) {
                // Nothing is expected; read to the end.
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private static void awaitLog(int id, String text) {
        LocalCluster.await(DEADLINE, "node " + id + "'s log to say \"" + text + "\"", () -> {
            try {
                return cluster.log(id).contains(text) ? true : null;
            } catch (IOException e) {
                return null;
            }
        });
    }

    private static long clusterId() throws IOException {
        return ClusterConfig.load(cluster.config()).clusterId();
    }

    private static ClientResponse readResponse(InputStream stream) throws IOException {
        DataInputStream in = new DataInputStream(stream);
        int length = in.readInt();
        byte type = in.readByte();
        byte[] body = new byte[length - 1];
        in.readFully(body);
        return ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
    }

    private static byte[] whole(ByteBuffer frame) {
        byte[] b = new byte[frame.remaining()];
        frame.get(b);
        return b;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
