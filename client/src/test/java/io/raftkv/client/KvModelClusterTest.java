package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** etcd's data model through the Java client against an in-process 3-node cluster: what an etcd user relies on. */
class KvModelClusterTest {

    @TempDir
    static Path dir;

    private static final List<Node> nodes = new ArrayList<>();
    private static RaftKvClient client;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String s(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    @BeforeAll
    static void startCluster() throws IOException {
        StringBuilder conf = new StringBuilder();
        List<InetSocketAddress> endpoints = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            int port;
            try (ServerSocket socket = new ServerSocket(0)) {
                port = socket.getLocalPort();
            }
            conf.append(id).append(" 127.0.0.1 ").append(port).append('\n');
            endpoints.add(new InetSocketAddress("127.0.0.1", port));
        }
        ClusterConfig config = ClusterConfig.parse(conf.toString(), "test");
        for (int id = 1; id <= 3; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), NodeOptions.defaults().withTickMs(20)));
        client = new RaftKvClient(endpoints, Duration.ofSeconds(10));
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        if (client != null) client.close();
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
    }

    @Test
    void putsAdvanceOneRevisionAndKeysCarryEtcdsMetadata() {
        WithHeader<OpResult.Put> first = client.put(b("meta/k"), b("1"), true);
        assertNull(first.value().prevKv());
        WithHeader<OpResult.Put> second = client.put(b("meta/k"), b("2"), true);
        assertEquals(first.header().revision() + 1, second.header().revision());
        assertArrayEquals(b("1"), second.value().prevKv().value());
        KeyValue kv = client.range(RangeRequest.key(b("meta/k"))).kvs().get(0);
        assertEquals(first.header().revision(), kv.createRevision());
        assertEquals(second.header().revision(), kv.modRevision());
        assertEquals(2, kv.version());
        assertTrue(second.header().memberId() >= 1 && second.header().raftTerm() >= 1, "the header names the member and its term");
    }

    @Test
    void prefixRangesWithLimitAndAPastRevision() {
        for (int i = 0; i < 5; i++) client.put("svc/" + i, "up");
        long before = client.range(RangeRequest.key(b("svc/0"))).header().revision();
        client.put("svc/0", "down");
        ClientResponse.RangeResult page = client.range(RangeRequest.prefix(b("svc/")).withLimit(2));
        assertEquals(List.of("svc/0", "svc/1"), page.kvs().stream().map(kv -> s(kv.key())).toList());
        assertTrue(page.more());
        assertEquals(5, page.count());
        assertEquals("up", s(client.range(RangeRequest.key(b("svc/0")).atRevision(before)).kvs().get(0).value()));
        assertEquals("down", s(client.range(RangeRequest.key(b("svc/0"))).kvs().get(0).value()));
    }

    @Test
    void compareAndSwapWithTheTxnBuilder() {
        long rev = client.put(b("cas"), b("a"), false).header().revision();
        ClientResponse.TxnResult won = client.txn()
                .If(Compare.modRevision(b("cas"), Compare.Result.EQUAL, rev))
                .Then(new TxnOp.Put(b("cas"), b("b"), false))
                .Else(new TxnOp.Range(RangeRequest.key(b("cas"))))
                .commit();
        assertTrue(won.succeeded());
        ClientResponse.TxnResult lost = client.txn()
                .If(Compare.modRevision(b("cas"), Compare.Result.EQUAL, rev))
                .Then(new TxnOp.Put(b("cas"), b("c"), false))
                .Else(new TxnOp.Range(RangeRequest.key(b("cas"))))
                .commit();
        assertFalse(lost.succeeded());
        assertEquals("b", s(((OpResult.Range) lost.results().get(0)).kvs().get(0).value()));
    }

    @Test
    void compactionRefusesOlderReadsNamingTheCompactRevision() {
        long old = client.put(b("hist"), b("1"), false).header().revision();
        long now = client.put(b("hist"), b("2"), false).header().revision();
        client.compact(now);
        RaftKvException e = assertThrows(RaftKvException.class, () -> client.range(RangeRequest.key(b("hist")).atRevision(old)));
        assertEquals(RaftKvException.Kind.REJECTED, e.kind());
        assertTrue(e.getMessage().startsWith("COMPACTED") && e.getMessage().contains("compact revision is " + now), e.getMessage());
        RaftKvException future = assertThrows(RaftKvException.class, () -> client.range(RangeRequest.key(b("hist")).atRevision(now + 1_000_000)));
        assertTrue(future.getMessage().startsWith("FUTURE_REVISION"), future.getMessage());
    }

    @Test
    void badInputIsRefusedAndChangesNothing() {
        long rev = client.put(b("bad/guard"), b("x"), false).header().revision();
        RaftKvException before = assertThrows(RaftKvException.class, () -> client.range(RangeRequest.range(b("b"), b("a"))));
        assertTrue(before.getMessage().startsWith("BAD_REQUEST") && before.getMessage().contains("is before the key"), before.getMessage());
        RaftKvException dup = assertThrows(RaftKvException.class, () -> client.txn()
                .Then(new TxnOp.Put(b("bad/d"), b("1"), false), new TxnOp.Put(b("bad/d"), b("2"), false)).commit());
        assertTrue(dup.getMessage().contains("duplicate key"), dup.getMessage());
        TxnOp[] many = new TxnOp[200];
        for (int i = 0; i < many.length; i++) many[i] = new TxnOp.Put(b("bad/m" + i), b("v"), false);
        RaftKvException tooMany = assertThrows(RaftKvException.class, () -> client.txn().Then(many).commit());
        assertTrue(tooMany.getMessage().startsWith("TOO_LARGE"), tooMany.getMessage());
        RaftKvException empty = assertThrows(RaftKvException.class, () -> client.range(RangeRequest.key(new byte[0])));
        assertTrue(empty.getMessage().contains("the key is empty"), empty.getMessage());
        assertEquals(rev, client.range(RangeRequest.key(b("bad/guard"))).header().revision(), "nothing was applied");
        assertEquals(0, client.range(RangeRequest.prefix(b("bad/m"))).count());
    }
}
