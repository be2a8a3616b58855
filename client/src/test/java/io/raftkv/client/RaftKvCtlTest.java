package io.raftkv.client;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** raftkvctl against a real 3-node cluster running in this JVM on loopback ports. */
class RaftKvCtlTest {

    private static final int NODES = 3;
    private static final long LEADER_WAIT_MS = 10_000;

    @TempDir
    static Path dir;

    private static final List<Node> nodes = new ArrayList<>();
    private static int[] ports;
    private static String configText;
    private static String endpoints;

    /** What one run printed and returned. */
    private record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.isEmpty() ? List.of() : List.of(out.split("\n"));
        }

        List<String> errLines() {
            return err.isEmpty() ? List.of() : List.of(err.split("\n"));
        }
    }

    @BeforeAll
    static void startCluster() throws Exception {
        ports = freePorts(NODES + 1);
        StringBuilder conf = new StringBuilder();
        List<String> addresses = new ArrayList<>();
        for (int id = 1; id <= NODES; id++) {
            conf.append(id).append(" 127.0.0.1 ").append(ports[id - 1]).append('\n');
            addresses.add("127.0.0.1:" + ports[id - 1]);
        }
        configText = conf.toString();
        endpoints = String.join(",", addresses);
        ClusterConfig config = ClusterConfig.parse(configText, "test");
        NodeOptions fast = NodeOptions.defaults().withTickMs(20);
        for (int id = 1; id <= NODES; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), fast));
        awaitLeader();
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
        nodes.clear();
    }

    // ------------------------------------------------------------------ one-shot commands

    @Test
    void putThenGetPrintsKeyThenValueAsEtcdctl() {
        Result put = ctl("put", "greeting", "hello");
        assertEquals(new Result(0, "OK\n", ""), put);
        assertEquals(new Result(0, "greeting\nhello\n", ""), ctl("get", "greeting"));
        String leader = words(ctl("leader").out()).get(1);
        assertEquals(new Result(0, "greeting\nhello\n", ""), ctlAt(leader, "get", "--serializable", "greeting"),
                "the leader applied the write before it answered OK");
        assertEquals(new Result(0, "greeting\nhello\n", ""), ctlAt(leader, "get", "--consistency", "s", "greeting"));
        assertEquals(new Result(0, "greeting\nhello\n", ""), ctl("get", "--consistency=l", "greeting"));
    }

    @Test
    void utf8KeysAndValuesRoundTrip() {
        assertEquals(0, ctl("put", "clé", "värde ✓").code());
        assertEquals(new Result(0, "clé\nvärde ✓\n", ""), ctl("get", "clé"));
    }

    @Test
    void getOfAMissingKeyPrintsNothingAndSucceedsAsEtcdctl() {
        assertEquals(new Result(0, "", ""), ctl("get", "no-such-key"));
    }

    @Test
    void delPrintsTheNumberDeleted() {
        assertEquals(0, ctl("put", "doomed", "x").code());
        assertEquals(new Result(0, "1\n", ""), ctl("del", "doomed"));
        assertEquals(new Result(0, "", ""), ctl("get", "doomed"));
        assertEquals(new Result(0, "0\n", ""), ctl("del", "doomed"), "deleting an absent key succeeds");
    }

    // ------------------------------------------------------------------ get's flags

    @Test
    void getPrefixRangeFromKeyAndLimit() {
        putAll("rng/a", "2", "rng/b", "3", "rng/c", "1", "rng0", "outside");
        assertEquals(new Result(0, "rng/a\n2\nrng/b\n3\nrng/c\n1\n", ""), ctl("get", "rng/", "--prefix"));
        assertEquals(new Result(0, "rng/a\n2\nrng/b\n3\n", ""), ctl("get", "rng/a", "rng/c"), "[key, range_end)");
        assertEquals(new Result(0, "rng/b\n3\nrng/c\n1\n", ""), ctl("get", "rng/b", "--from-key", "--limit", "2"));
        assertEquals(new Result(0, "rng/a\n2\nrng/b\n3\n", ""), ctl("get", "rng/", "--prefix", "--limit=2"));
        assertEquals(new Result(0, "2\n3\n1\n", ""), ctl("get", "rng/", "--prefix", "--print-value-only"));
        Map<?, ?> limited = json(ctl("get", "rng/", "--prefix", "--limit", "2", "-w", "json"));
        assertEquals(true, limited.get("more"), "the limit left one out");
        assertEquals(3L, limited.get("count"), "count is every key in the range");
        assertEquals(2, ((List<?>) limited.get("kvs")).size());
    }

    /**
     * A range over the node's result limit (a little under 4 MiB) is refused TOO_LARGE by the node, where etcd answers it
     * whole; get pages through it at one revision (PagedRangeTest) and prints it as one answer. Sorted by another target,
     * it stays refused.
     */
    @Test
    void getOfARangeLargerThanAFramePagesThroughItAtOneRevision() {
        int keys = 40;
        byte[] value = new byte[128 * 1024];
        try (RaftKvClient client = new RaftKvClient(RaftKvClient.parseEndpoints(endpoints), java.time.Duration.ofSeconds(10))) {
            for (int i = 0; i < keys; i++) {
                Arrays.fill(value, (byte) ('a' + i % 26));
                client.put(utf8(String.format("big/%02d", i)), value);
            }
            RaftKvException refused = assertThrows(RaftKvException.class, () -> client.range(io.raftkv.protocol.RangeRequest.prefix(utf8("big/"))));
            assertEquals(io.raftkv.protocol.ErrorCode.TOO_LARGE, refused.errorCode(), "5 MiB in one answer: the node refuses it");

            io.raftkv.protocol.ClientResponse.RangeResult all = client.rangeAll(io.raftkv.protocol.RangeRequest.prefix(utf8("big/")));
            assertEquals(keys, all.kvs().size());
            assertEquals(keys, all.count());
            assertFalse(all.more());
        }

        Result get = ctl("get", "big/", "--prefix");
        assertEquals(0, get.code(), get.err());
        assertEquals(2 * keys, get.outLines().size());
        assertEquals("big/00", get.outLines().get(0));
        assertEquals("big/39", get.outLines().get(2 * keys - 2));

        Map<?, ?> limited = json(ctl("get", "big/", "--prefix", "--limit", "35", "-w", "json"));
        assertEquals(35, ((List<?>) limited.get("kvs")).size());
        assertEquals(true, limited.get("more"), "the limit left five out");
        assertEquals((long) keys, limited.get("count"));

        Result descending = ctl("get", "big/", "--prefix", "--order", "DESCEND");
        assertEquals(0, descending.code(), descending.err());
        List<String> names = new ArrayList<>();
        for (int i = 0; i < descending.outLines().size(); i += 2) names.add(descending.outLines().get(i));
        List<String> expected = new ArrayList<>();
        for (int i = keys - 1; i >= 0; i--) expected.add(String.format("big/%02d", i));
        assertEquals(expected, names);

        Result byModRevision = ctl("get", "big/", "--prefix", "--sort-by", "MODIFY");
        assertEquals(1, byModRevision.code(), byModRevision.out());
        assertTrue(byModRevision.err().contains("over the limit"), byModRevision.err());
    }

    @Test
    void getKeysOnlyAndCountOnly() {
        putAll("ko/a", "1", "ko/b", "2");
        assertEquals(new Result(0, "ko/a\n\nko/b\n\n", ""), ctl("get", "ko/", "--prefix", "--keys-only"),
                "etcdctl prints each key and an empty value line");
        assertEquals(new Result(0, "2\n", ""), ctl("get", "ko/", "--prefix", "--count-only"));
        Result both = ctl("get", "ko/", "--prefix", "--keys-only", "--count-only");
        assertEquals(2, both.code());
        assertEquals(List.of("error: --keys-only and --count-only cannot be set at the same time, choose one"), both.errLines());
    }

    @Test
    void getSortsByEveryTargetInEitherOrder() {
        putAll("srt/a", "2", "srt/b", "3", "srt/c", "1");
        assertEquals(0, ctl("put", "srt/a", "2").code(), "a is now the last modified and at version 2");
        assertEquals("srt/c srt/b srt/a", keys(ctl("get", "srt/", "--prefix", "--order", "DESCEND")));
        assertEquals("srt/b srt/a srt/c", keys(ctl("get", "srt/", "--prefix", "--sort-by", "VALUE", "--order", "descend")));
        assertEquals("srt/c srt/a srt/b", keys(ctl("get", "srt/", "--prefix", "--sort-by", "value")), "ascending when no order");
        assertEquals("srt/a srt/c srt/b", keys(ctl("get", "srt/", "--prefix", "--sort-by", "MODIFY", "--order", "DESCEND")));
        assertEquals("srt/a srt/b srt/c", keys(ctl("get", "srt/", "--prefix", "--sort-by", "CREATE")));
        assertEquals("srt/a", keys(ctl("get", "srt/", "--prefix", "--sort-by", "VERSION", "--order", "DESCEND", "--limit", "1")));
        assertEquals("srt/b", keys(ctl("get", "srt/", "--prefix", "--sort-by", "VALUE", "--order", "DESCEND", "--limit", "1")));
        for (String[] bad : List.of(new String[] {"--sort-by", "SIZE"}, new String[] {"--order", "UP"}, new String[] {"--consistency", "x"})) {
            Result r = ctl("get", "srt/", "--prefix", bad[0], bad[1]);
            assertEquals(2, r.code(), Arrays.toString(bad));
            assertEquals(1, r.errLines().size(), r.err());
        }
    }

    @Test
    void getRevReadsThePast() {
        long first = revisionOf(ctl("put", "past", "one", "-w", "json"));
        assertEquals(0, ctl("put", "past", "two").code());
        assertEquals(new Result(0, "past\none\n", ""), ctl("get", "past", "--rev", Long.toString(first)));
        assertEquals(new Result(0, "past\ntwo\n", ""), ctl("get", "past"));
        Result future = ctl("get", "past", "--rev", "1000000000");
        assertEquals(1, future.code());
        assertTrue(future.err().startsWith("error: FUTURE_REVISION: "), future.err());
    }

    // ------------------------------------------------------------------ put and del

    @Test
    void putPrevKvPrintsTheKeyAsItWas() {
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "pkv", "v1", "--prev-kv"), "no previous key: OK alone");
        assertEquals(new Result(0, "OK\npkv\nv1\n", ""), ctl("put", "pkv", "v2", "--prev-kv"));
        assertEquals(new Result(0, "pkv\nv2\n", ""), ctl("get", "pkv"));
    }

    @Test
    void putReadsTheValueFromStandardInputOrAFile() throws IOException {
        assertEquals(new Result(0, "OK\n", ""), run(args("put", "stdin-key"), "line one\nline two\n", false));
        assertEquals(new Result(0, "line one\nline two\n\n", ""), ctl("get", "stdin-key", "--print-value-only"),
                "the value is standard input verbatim, its last newline included, as etcdctl");
        Path file = Files.write(dir.resolve("value.bin"), new byte[] {0, 1, (byte) 0xfe, (byte) 0xff});
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "file-key", "--from-file", file.toString()));
        RawResult r = runRaw(args("get", "file-key", "--print-value-only"), new byte[0]);
        assertArrayEquals(new byte[] {0, 1, (byte) 0xfe, (byte) 0xff, '\n'}, r.out());

        Result empty = run(args("put", "stdin-key"), "", false);
        assertEquals(2, empty.code(), "an empty standard input is no value, as etcdctl");
        Result both = ctl("put", "file-key", "v", "--from-file", file.toString());
        assertEquals(2, both.code());
        Result missing = ctl("put", "file-key", "--from-file", dir.resolve("absent").toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("no such file"), missing.err());
    }

    @Test
    void delRangePrefixFromKeyAndPrevKv() {
        putAll("dp/1", "x", "dp/2", "y", "dp/3", "z", "dq", "kept");
        assertEquals(new Result(0, "1\ndp/1\nx\n", ""), ctl("del", "dp/1", "dp/2", "--prev-kv"), "[key, range_end)");
        assertEquals(new Result(0, "2\ndp/2\ny\ndp/3\nz\n", ""), ctl("del", "dp/", "--prefix", "--prev-kv"));
        assertEquals(new Result(0, "0\n", ""), ctl("del", "dp/", "--prefix"));
        assertEquals(new Result(0, "dq\nkept\n", ""), ctl("get", "dq"), "the prefix's end is exclusive");
        putAll("zzz/a", "1", "zzz/b", "2", "zzz/c", "3");
        assertEquals(new Result(0, "2\n", ""), ctl("del", "zzz/b", "--from-key"), "every key from zzz/b on (none sorts after zzz/)");
        assertEquals(new Result(0, "zzz/a\n1\n", ""), ctl("get", "zzz/", "--prefix"));
        Result both = ctl("del", "dp/", "--prefix", "--from-key");
        assertEquals(2, both.code());
        assertEquals(List.of("error: --prefix and --from-key cannot be set at the same time, choose one"), both.errLines());
    }

    // ------------------------------------------------------------------ txn

    @Test
    void txnFromStandardInputTakesTheSuccessBranchThenTheFailureBranch() {
        String txn = """
                mod("txn/k") = "0"
                version("txn/k") < "1"

                put txn/k created
                put txn/other "two words"

                get txn/k
                del txn/other --prev-kv
                """;
        assertEquals(new Result(0, "SUCCESS\n\nOK\n\nOK\n", ""), run(args("txn"), txn, false));
        assertEquals(new Result(0, "FAILURE\n\ntxn/k\ncreated\n\n1\ntxn/other\ntwo words\n", ""), run(args("txn"), txn, false),
                "the key exists now: the compares fail");

        String byValue = "value(\"txn/k\") = \"created\"\ncreate(\"txn/k\") > \"0\"\nval(\"txn/k\") != \"other\"\n\nput txn/k updated --prev-kv\n\n";
        assertEquals(new Result(0, "SUCCESS\n\nOK\ntxn/k\ncreated\n", ""), run(args("txn"), byValue, false));
        assertEquals(new Result(0, "FAILURE\n", ""), run(args("txn"), byValue, false), "no failure requests: FAILURE alone");
        assertEquals(new Result(0, "txn/k\nupdated\n", ""), ctl("get", "txn/k"));
    }

    @Test
    void txnInteractivePromptsAsEtcdctlAndABadLineAppliesNothing() {
        Result r = run(args("txn", "-i"), "mod(\"txn-i\") = \"0\"\n\nput txn-i yes\n\n\n", false);
        assertEquals(new Result(0, "compares:\nsuccess requests (get, put, del):\nfailure requests (get, put, del):\nSUCCESS\n\nOK\n", ""), r);

        for (String bad : List.of("mod(\"txn-bad\") ~ \"0\"\n\nput txn-bad x\n", "size(\"txn-bad\") = \"0\"\n\nput txn-bad x\n",
                "mod(txn-bad) = \"0\"\n\nput txn-bad x\n", "\nput txn-bad\n", "\nwatch txn-bad\n", "\nput txn-bad x\n\nput txn-bad --bogus\n")) {
            Result b = run(args("txn"), bad, false);
            assertEquals(2, b.code(), bad);
            assertEquals(1, b.errLines().size(), b.err());
            assertEquals("", b.out());
        }
        assertEquals(new Result(0, "", ""), ctl("get", "txn-bad"), "nothing was applied");
        Result twice = run(args("txn"), "\nput txn-twice a\nput txn-twice b\n", false);
        assertEquals(1, twice.code(), "the node refuses a txn writing a key twice: " + twice);
        assertTrue(twice.err().startsWith("error: BAD_REQUEST: "), twice.err());
    }

    // ------------------------------------------------------------------ compaction

    @Test
    void compactionThenAReadBelowItFailsWithCompacted() {
        long old = revisionOf(ctl("put", "cmp/k", "old", "-w", "json"));
        long current = revisionOf(ctl("put", "cmp/k", "new", "-w", "json"));
        assertEquals(new Result(0, "cmp/k\nold\n", ""), ctl("get", "cmp/k", "--rev", Long.toString(old)));
        assertEquals(new Result(0, "compacted revision " + current + "\n", ""), ctl("compaction", Long.toString(current)));
        Result r = ctl("get", "cmp/k", "--rev", Long.toString(old));
        assertEquals(1, r.code());
        assertEquals("", r.out());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("error: COMPACTED: "), r.err());
        assertEquals(new Result(0, "cmp/k\nnew\n", ""), ctl("get", "cmp/k", "--rev", Long.toString(current)));
        assertEquals(2, ctl("compaction", "soon").code());
    }

    @Test
    void watchPrintsEachEventAsEtcdctlUntilInterrupted() throws Exception {
        long first = revisionOf(ctl("put", "wat/k", "a", "-w", "json"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] code = {-1};
        Thread watching = new Thread(() -> {
            try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
                code[0] = RaftKvCtl.run(args("watch", "wat/", "--prefix", "--prev-kv", "--rev", Long.toString(first)), new ByteArrayInputStream(new byte[0]), o, e, false);
            }
        });
        watching.start();
        ctl("put", "wat/k", "b");
        ctl("del", "wat/k");
        ctl("put", "other", "x");
        // etcdctl's form: the type, the previous key and value when there was one, the key and value (a delete's value is empty).
        String expected = "PUT\nwat/k\na\n" + "PUT\nwat/k\na\nwat/k\nb\n" + "DELETE\nwat/k\nb\nwat/k\n\n";
        LocalCluster.await(java.time.Duration.ofSeconds(10), "the watch to print " + expected, () -> out.toString(StandardCharsets.UTF_8).equals(expected) ? true : null);
        watching.interrupt();
        watching.join(10_000);
        assertEquals(0, code[0], err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aWatchFromACompactedRevisionEndsWithTheCompactRevision() {
        long current = revisionOf(ctl("put", "watc/k", "v", "-w", "json"));
        ctl("compaction", Long.toString(current));
        Result r = ctl("watch", "watc/k", "--rev", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("error: watch ended: revision 1 has been compacted: the compact revision is " + current), r.err());
        assertEquals(2, run(args(), "watch k\n", false).code(), "the shell refuses watch, which would never return");
        assertEquals(2, ctl("watch").code());
        assertEquals(2, ctl("watch", "k", "--rev", "-3").code());
    }

    // ------------------------------------------------------------------ output formats

    @Test
    void jsonCarriesTheHeaderAndBase64AsEtcdctl() {
        Map<?, ?> put = json(ctl("put", "js/k", "vä", "-w", "json"));
        Map<?, ?> header = (Map<?, ?>) put.get("header");
        assertEquals(Set.of("cluster_id", "member_id", "revision", "raft_term"), header.keySet());
        assertEquals(0L, header.get("cluster_id"));
        long revision = (Long) header.get("revision");
        assertTrue((Long) header.get("raft_term") >= 1, put.toString());
        assertTrue((Long) header.get("member_id") >= 1 && (Long) header.get("member_id") <= NODES, put.toString());

        Map<?, ?> get = json(ctl("--write-out=json", "get", "js/k"));
        assertTrue((Long) ((Map<?, ?>) get.get("header")).get("revision") >= revision);
        assertEquals(1L, get.get("count"));
        assertFalse(get.containsKey("more"), "false is left out, as Go's omitempty does");
        Map<?, ?> kv = (Map<?, ?>) ((List<?>) get.get("kvs")).get(0);
        assertEquals(b64("js/k"), kv.get("key"));
        assertEquals(b64("vä"), kv.get("value"));
        assertEquals(revision, kv.get("create_revision"));
        assertEquals(revision, kv.get("mod_revision"));
        assertEquals(1L, kv.get("version"));

        Map<?, ?> limited = json(ctl("get", "js/", "--prefix", "--keys-only", "--limit", "1", "-w", "json"));
        assertFalse(((Map<?, ?>) ((List<?>) limited.get("kvs")).get(0)).containsKey("value"), "keys-only: no value");
        Map<?, ?> prev = json(ctl("put", "js/k", "w", "--prev-kv", "-w", "json"));
        assertEquals(b64("vä"), ((Map<?, ?>) prev.get("prev_kv")).get("value"));
        Map<?, ?> del = json(ctl("del", "js/k", "--prev-kv", "-w", "json"));
        assertEquals(1L, del.get("deleted"));
        assertEquals(b64("w"), ((Map<?, ?>) ((List<?>) del.get("prev_kvs")).get(0)).get("value"));
        assertEquals(new Result(0, "", ""), ctl("get", "js/k"));
        Map<?, ?> count = json(ctl("get", "js/", "--prefix", "--count-only", "-w", "json"));
        assertFalse(count.containsKey("kvs"));
        assertFalse(count.containsKey("count"), "a count of 0 is left out too");
    }

    @Test
    void jsonOfATxnNestsEachResponseAsEtcdctl() {
        Result r = run(args("txn", "-w", "json"), "\nput jt/k v\nget jt/k\n\n", false);
        Map<?, ?> txn = json(r);
        assertEquals(true, txn.get("succeeded"));
        long revision = (Long) ((Map<?, ?>) txn.get("header")).get("revision");
        List<?> responses = (List<?>) txn.get("responses");
        assertEquals(2, responses.size());
        Map<?, ?> put = (Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) responses.get(0)).get("Response")).get("response_put");
        assertEquals(Map.of("revision", revision), put.get("header"));
        Map<?, ?> range = (Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) responses.get(1)).get("Response")).get("response_range");
        assertEquals(b64("jt/k"), ((Map<?, ?>) ((List<?>) range.get("kvs")).get(0)).get("key"));

        Map<?, ?> failed = json(run(args("txn", "-w", "json"), "mod(\"jt/k\") = \"0\"\n\n\n", false));
        assertFalse(failed.containsKey("succeeded"), "a failed txn has no 'succeeded', as etcd's omitempty");
    }

    @Test
    void tableAsEtcdctlDrawsIt() {
        long a = revisionOf(ctl("put", "tb/a", "1", "-w", "json"));
        long b = revisionOf(ctl("put", "tb/bb", "two words", "-w", "json"));
        String wa = Long.toString(a);
        String wb = Long.toString(b);
        int rw = "CREATE REVISION".length();
        String expected = String.join("\n",
                "+-------+-----------------+--------------+---------+-----------+",
                "|  KEY  | CREATE REVISION | MOD REVISION | VERSION |   VALUE   |",
                "+-------+-----------------+--------------+---------+-----------+",
                "|  tb/a | " + pad(wa, rw) + " | " + pad(wa, 12) + " |       1 |         1 |",
                "| tb/bb | " + pad(wb, rw) + " | " + pad(wb, 12) + " |       1 | two words |",
                "+-------+-----------------+--------------+---------+-----------+", "");
        assertEquals(new Result(0, expected, ""), ctl("get", "tb/", "--prefix", "-w", "table"));
        assertEquals(new Result(0, "+-------+\n| COUNT |\n+-------+\n|     2 |\n+-------+\n", ""),
                ctl("get", "tb/", "--prefix", "--count-only", "-w", "table"));
        Result status = ctl("status", "-w", "table");
        assertEquals(0, status.code(), status.err());
        assertEquals(NODES + 4, status.outLines().size(), status.out());

        for (String[] unsupported : List.of(args("put", "tb/a", "x", "-w", "table"), args("del", "tb/a", "-w", "table"))) {
            Result r = run(unsupported, "", false);
            assertEquals(2, r.code());
            assertTrue(r.err().contains("not supported for"), r.err());
        }
        assertEquals(new Result(0, "tb/a\n1\n", ""), ctl("get", "tb/a"), "the refused put was never sent");
        assertEquals(2, ctl("get", "tb/a", "-w", "json", "--print-value-only").code(), "print-value-only is only for simple output");
        assertEquals(2, ctl("get", "tb/a", "-w", "yaml").code());
    }

    // ------------------------------------------------------------------ bytes

    @Test
    void hexKeysAndValuesRoundTrip() {
        assertEquals(new Result(0, "OK\n", ""), ctl("--hex", "put", "6878ff00", "00ff0a"));
        assertEquals(new Result(0, "\\x68\\x78\\xff\\x00\n\\x00\\xff\\x0a\n", ""), ctl("get", "6878ff00", "--hex"));
        assertEquals(new Result(0, "OK\n\\x68\\x78\\xff\\x00\n\\x00\\xff\\x0a\n", ""),
                ctl("put", "--hex", "\\x68\\x78\\xff\\x00", "\\x01", "--prev-kv"), "etcdctl's hex output is accepted back");
        RawResult raw = runRaw(args("get", "hx", "--prefix"), new byte[0]);
        assertArrayEquals(new byte[] {'h', 'x', (byte) 0xff, 0, '\n', 1, '\n'}, raw.out(), "simple output writes the raw bytes");
        Result bad = ctl("--hex", "get", "xyz");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("is not hex"), bad.err());
        Result txn = run(args("--hex", "txn"), "value(\"6878ff00\") = \"01\"\n\nput 6878ff00 02\n\n", false);
        assertEquals(new Result(0, "SUCCESS\n\nOK\n", ""), txn);
        assertEquals(new Result(0, "\\x02\n", ""), ctl("get", "6878ff00", "--hex", "--print-value-only"));
    }

    @Test
    void aBinaryValuePipedThroughStandardInputRoundTripsByteForByte() {
        byte[] all = new byte[256 * 3];
        for (int i = 0; i < all.length; i++) all[i] = (byte) (i * 7);
        RawResult put = runRaw(args("put", "bin/all"), all);
        assertEquals(0, put.code(), put.err());
        RawResult get = runRaw(args("get", "bin/all", "--print-value-only"), new byte[0]);
        assertEquals(0, get.code(), get.err());
        byte[] expected = Arrays.copyOf(all, all.length + 1);
        expected[all.length] = '\n';
        assertArrayEquals(expected, get.out());
        Map<?, ?> json = json(ctl("get", "bin/all", "-w", "json"));
        assertEquals(Base64.getEncoder().encodeToString(all), ((Map<?, ?>) ((List<?>) json.get("kvs")).get(0)).get("value"));
    }

    @Test
    void argumentsAreTakenAsTheirBytes() {
        byte[] key = {'a', 'r', 'g', (byte) 0xff};
        byte[] value = {(byte) 0xc3, 0x28, (byte) 0x80};
        byte[][] put = {utf8("--endpoints"), utf8(endpoints), utf8("put"), key, value};
        assertEquals(0, RaftKvCtl.run(put, new ByteArrayInputStream(new byte[0]), devNull(), devNull(), false));
        RawResult get = runRaw(new String[] {"--endpoints", endpoints, "--hex", "get", "617267ff"}, new byte[0]);
        assertEquals("\\x61\\x72\\x67\\xff\n\\xc3\\x28\\x80\n", new String(get.out(), StandardCharsets.UTF_8));
    }

    @Test
    void programArgumentsAreRecoveredFromTheCommandLineOnlyWhenTheyMatch() {
        byte[] cmdline = concat(utf8("java\0-cp\0x.jar\0io.raftkv.client.RaftKvCtl\0put\0"), new byte[] {'k', (byte) 0xff}, new byte[] {0},
                utf8("v\0"));
        String[] decoded = {"put", "k\uFFFD", "v"};
        byte[][] raw = CtlInput.matchArguments(decoded, cmdline, StandardCharsets.UTF_8);
        assertArrayEquals(new byte[] {'k', (byte) 0xff}, raw[1]);
        assertArrayEquals(utf8("v"), raw[2]);
        assertEquals(null, CtlInput.matchArguments(new String[] {"put", "k?", "v"}, cmdline, StandardCharsets.UTF_8),
                "not what Java decoded: not used");
        assertEquals(0, CtlInput.matchArguments(new String[0], cmdline, StandardCharsets.UTF_8).length);
        byte[][] empty = CtlInput.matchArguments(new String[] {"put", "", ""}, utf8("java\0put\0\0\0"), StandardCharsets.UTF_8);
        assertEquals(3, empty.length, "empty arguments are entries too");
    }

    @Test
    void goEscapesInDoubleQuotesGiveAnyBytesInTheShell() throws RaftKvCtl.UsageException {
        RawResult r = runRaw(new String[] {"--endpoints", endpoints}, utf8("put esc \"a\\x00\\xff\\n\\u00e9\\101\"\nget esc --print-value-only\n"));
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(concat(utf8("OK\n"), new byte[] {'a', 0, (byte) 0xff, '\n', (byte) 0xc3, (byte) 0xa9, 'A', '\n'}), r.out());
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put k \"\\q\""));
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put k \"\\x4\""));
    }

    // ------------------------------------------------------------------ flags

    @Test
    void flagsMayFollowTheCommandAndItsArguments() {
        assertEquals(0, ctl("put", "after", "v").code());
        Result r = run(new String[] {"get", "after", "--timeout", "1", "--endpoints", endpoints}, "", false);
        assertEquals(new Result(0, "after\nv\n", ""), r);
        assertEquals(new Result(0, "after\nv\n", ""), run(new String[] {"get", "--endpoints=" + endpoints, "after", "--command-timeout", "1s"}, "", false));
        assertEquals(new Result(0, "v\n", ""), ctl("get", "--print-value-only=true", "after"));
        assertEquals(new Result(0, "after\nv\n", ""), ctl("get", "--print-value-only=false", "after"));
        assertTrue(ctl("get", "after", "-wjson").out().startsWith("{\"header\":"));
        assertTrue(ctl("get", "after", "-w=json").out().startsWith("{\"header\":"));
    }

    @Test
    void unknownFlagsAreRefusedClearly() {
        assertEquals(new Result(2, "", "error: unknown flag --bogus for get (see 'raftkvctl help')\n"), ctl("get", "k", "--bogus"));
        assertEquals(new Result(2, "", "error: unknown flag --prev-kv for get (see 'raftkvctl help')\n"), ctl("get", "k", "--prev-kv"));
        assertEquals(new Result(2, "", "error: unknown flag --prefix (a command's flags go after the command)\n"),
                run(new String[] {"--endpoints", endpoints, "--prefix", "get", "k"}, "", false));
        assertEquals(new Result(2, "", "error: unknown shorthand flag 'x' in -x for get\n"), ctl("get", "k", "-x"));
        assertEquals(new Result(2, "", "error: flag --limit needs a value\n"), ctl("get", "k", "--limit"));
        assertEquals(2, ctl("get", "k", "--limit", "-1").code());
        assertEquals(2, ctl("get", "k", "--prefix=maybe").code());
    }

    @Test
    void statusShowsARowPerNodeAndOneLeader() {
        Result r = ctl("status");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(1 + NODES, lines.size(), r.out());
        assertEquals(List.of("ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "KEYS"), words(lines.get(0)));
        int leaders = 0;
        for (int id = 1; id <= NODES; id++) {
            List<String> row = words(lines.get(id));
            assertEquals(8, row.size(), lines.get(id));
            assertEquals(String.valueOf(id), row.get(0));
            assertEquals("127.0.0.1:" + ports[id - 1], row.get(1));
            if (row.get(2).equals("LEADER")) leaders++;
        }
        assertEquals(1, leaders, r.out());
    }

    @Test
    void statusShowsAnUnreachableNodeAndStillSucceeds() {
        String dead = "127.0.0.1:" + ports[NODES];
        Result r = ctlAt(endpoints + "," + dead, "status");
        assertEquals(0, r.code(), r.err());
        List<String> last = words(r.outLines().get(NODES + 1));
        assertEquals(List.of("-", dead, "unreachable"), last.subList(0, 3));

        Result none = ctlAt(dead, "status");
        assertEquals(1, none.code());
        assertEquals(List.of("error: no node answered"), none.errLines());
    }

    @Test
    void leaderPrintsIdAndAddress() {
        Result r = ctl("leader");
        assertEquals(0, r.code(), r.err());
        List<String> w = words(r.out());
        assertEquals(2, w.size(), r.out());
        int id = Integer.parseInt(w.get(0));
        assertEquals("127.0.0.1:" + ports[id - 1], w.get(1));

        Result none = ctlAt("127.0.0.1:" + ports[NODES], "leader");
        assertEquals(1, none.code());
        assertTrue(none.err().startsWith("error: no leader"), none.err());
    }

    @Test
    void configFileGivesTheNodes() throws IOException {
        Path conf = Files.writeString(dir.resolve("nodes.conf"), "# test cluster\n" + configText);
        Result put = run(new String[] {"--config", conf.toString(), "put", "from-config", "yes"}, "", false);
        assertEquals(new Result(0, "OK\n", ""), put);
        Result status = run(new String[] {"--config", conf.toString(), "status"}, "", false);
        assertEquals(1 + NODES, status.outLines().size(), status.out());

        Result missing = run(new String[] {"--config", dir.resolve("absent.conf").toString(), "status"}, "", false);
        assertEquals(2, missing.code());
        assertEquals(1, missing.errLines().size(), missing.err());
    }

    @Test
    void anUnreachableClusterFailsWithinTheTimeout() {
        Result r = run(new String[] {"--endpoints", "127.0.0.1:" + ports[NODES], "--timeout", "0.3", "get", "k"}, "", false);
        assertEquals(1, r.code());
        assertEquals(1, r.errLines().size(), r.err());
        assertTrue(r.err().startsWith("error: cluster unavailable: "), r.err());
    }

    // ------------------------------------------------------------------ usage errors

    @Test
    void usageErrorsExitTwoWithOneLine() {
        for (String[] args : List.of(
                new String[] {"put"},
                new String[] {"get"},
                new String[] {"get", "k", "--linearizable"},
                new String[] {"get", "a", "b", "c"},
                new String[] {"get", "a", "b", "--prefix"},
                new String[] {"get", ""},
                new String[] {"del", "a", "b", "c"},
                new String[] {"status", "extra"},
                new String[] {"txn", "extra"},
                new String[] {"compaction"},
                new String[] {"put", "", "empty key"})) {
            Result r = ctl(args);
            assertEquals(2, r.code(), Arrays.toString(args));
            assertEquals(1, r.errLines().size(), r.err());
            assertTrue(r.err().startsWith("error: "), r.err());
            assertEquals("", r.out());
        }
        for (String[] args : List.of(
                new String[] {"--timeout"},
                new String[] {"--timeout", "soon", "status"},
                new String[] {"--command-timeout", "5", "status"},
                new String[] {"--bogus", "status"},
                new String[] {"--endpoints", "nocolon", "status"},
                new String[] {"--endpoints", "a:1", "--config", "x", "status"})) {
            Result r = run(args, "", false);
            assertEquals(2, r.code(), Arrays.toString(args));
            assertEquals(1, r.errLines().size(), r.err());
        }
    }

    @Test
    void unknownCommandExitsTwo() {
        Result r = ctl("frobnicate");
        assertEquals(2, r.code());
        assertEquals(List.of("error: unknown command 'frobnicate' (see 'raftkvctl help')"), r.errLines());
    }

    @Test
    void helpNeedsNoCluster() {
        Result r = run(new String[] {"--config", dir.resolve("absent.conf").toString(), "help"}, "", false);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("usage: raftkvctl"), r.out());
        Result get = run(new String[] {"--config", dir.resolve("absent.conf").toString(), "get", "-h"}, "", false);
        assertEquals(0, get.code(), get.err());
        assertTrue(get.out().startsWith("usage: raftkvctl get [OPTIONS] KEY [RANGE_END]"), "get's own help: " + get.out());
        assertTrue(get.out().contains("--print-value-only"), get.out());
        assertEquals(get, run(new String[] {"help", "get"}, "", false));
    }

    @Test
    void aValueStartingWithADashNeedsADoubleDash() {
        assertEquals(2, ctl("put", "flag", "--on").code());
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "--", "flag", "--on"));
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "flag2", "--", "-1"));
        assertEquals(new Result(0, "flag\n--on\n", ""), ctl("get", "flag"));
        assertEquals(new Result(0, "-1\n", ""), ctl("get", "flag2", "--print-value-only"));
    }

    // ------------------------------------------------------------------ the shell

    @Test
    void pipedCommandsRunLineByLineWithoutAPrompt() {
        String script = """
                put "piped key" 'a value with  spaces'
                # a comment, then a blank line

                get 'piped key' --print-value-only
                put quote "say \\"hi\\""
                get quote -w json
                del "piped key"
                """;
        Result r = run(new String[] {"--endpoints", endpoints}, script, false);
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(List.of("OK", "a value with  spaces", "OK"), lines.subList(0, 3));
        assertTrue(lines.get(3).contains("\"value\":\"" + b64("say \"hi\"") + "\""), lines.get(3));
        assertEquals("1", lines.get(4));
    }

    @Test
    void aTxnInTheShellReadsTheLinesThatFollow() {
        String script = "txn\nversion(\"shell-txn\") = \"0\"\n\nput shell-txn a\n\nget x\n\nget shell-txn --print-value-only\n";
        Result r = run(new String[] {"--endpoints", endpoints}, script, false);
        assertEquals(new Result(0, "SUCCESS\n\nOK\na\n", ""), r);
    }

    @Test
    void aFailingPipedCommandMakesTheExitCodeNonZeroButTheRestRuns() {
        String script = "get never-written --rev 1000000000\nput after-failure ok\nbogus\nget after-failure\nput x\n--endpoints a:1 get x\n";
        Result r = run(new String[] {"--endpoints", endpoints}, script, false);
        assertEquals(2, r.code());
        assertEquals("OK\nafter-failure\nok\n", r.out());
        List<String> errors = r.errLines();
        assertEquals(4, errors.size(), r.err());
        assertTrue(errors.get(0).startsWith("error: line 1: FUTURE_REVISION: "), errors.get(0));
        assertEquals("error: line 3: unknown command 'bogus' (see 'raftkvctl help')", errors.get(1));
        assertTrue(errors.get(2).startsWith("error: line 5: put needs a VALUE here"), errors.get(2));
        assertEquals("error: line 6: --endpoints is given when raftkvctl starts, not in the shell", errors.get(3));
    }

    @Test
    void exitStopsReadingAndAnUnterminatedQuoteIsAUsageError() {
        Result r = run(new String[] {"--endpoints", endpoints}, "put 'open\nexit\nput never run\n", false);
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertEquals(List.of("error: line 1: unterminated ' quote"), r.errLines());
    }

    @Test
    void interactiveShellPromptsWithTheNodeItTalksTo() {
        Result r = run(new String[] {"--endpoints", endpoints}, "put shell yes\nget shell\nquit\n", true);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("raftkv 127.0.0.1:"), r.out());
        assertTrue(r.out().contains("> OK\n"), r.out());
        assertTrue(r.out().contains("> shell\nyes\n"), r.out());
    }

    @Test
    void tokenizerHandlesSimpleShellQuoting() throws RaftKvCtl.UsageException {
        assertEquals(List.of("put", "a b", "c'd", "e\\f", "", "g h"),
                RaftKvCtl.tokenize("  put \"a b\" \"c'd\" 'e\\f' '' g\\ h  # trailing comment"));
        assertEquals(List.of("ab", "x#y"), RaftKvCtl.tokenize("a'b' x#y"));
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put \"open"));
        assertThrows(RaftKvCtl.UsageException.class, () -> RaftKvCtl.tokenize("put x\\"));
    }

    @Test
    void failedRequestsNameTheirCodeAndOutcomeUnknownSaysTheWriteMayHaveBeenApplied() {
        String m = RaftKvCtl.describe(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN, "answer lost\n(timeout)"));
        assertTrue(m.contains("may or may not have been applied"), m);
        assertFalse(m.contains("\n"), m);
        assertEquals("COMPACTED: revision 3 has been compacted",
                RaftKvCtl.describe(new RaftKvException(RaftKvException.Kind.REJECTED, "COMPACTED: revision 3 has been compacted")));
    }


    // ------------------------------------------------------------------ leases

    /** The id in "lease 694d5765fc71500b granted with TTL(10s)". */
    private static String grantedId(Result r) {
        assertEquals(0, r.code(), r.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("lease ([0-9a-f]{16}) granted with TTL\\((\\d+)s\\)\n").matcher(r.out());
        assertTrue(m.matches(), r.out());
        return m.group(1);
    }

    @Test
    void leaseCommandsPrintAsEtcdctl() {
        Result granted = ctl("lease", "grant", "30");
        String id = grantedId(granted);
        assertTrue(granted.out().endsWith("granted with TTL(30s)\n"), granted.out());
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "lease/k", "v", "--lease", id));
        assertEquals(new Result(0, "OK\n", ""), ctl("put", "lease/j", "v", "--lease=" + id));
        Map<?, ?> kv = (Map<?, ?>) ((List<?>) json(ctl("get", "lease/k", "-w", "json")).get("kvs")).get(0);
        assertEquals(Long.parseLong(id, 16), kv.get("lease"), "etcd's json names the key's lease");

        Result ttl = ctl("lease", "timetolive", id);
        assertTrue(ttl.out().matches("lease " + id + " granted with TTL\\(30s\\), remaining\\((2[0-9]|30)s\\)\n"), ttl.out());
        Result keys = ctl("lease", "timetolive", id, "--keys");
        assertTrue(keys.out().matches("lease " + id + " granted with TTL\\(30s\\), remaining\\(\\d+s\\), attached keys\\(\\[lease/j lease/k\\]\\)\n"), keys.out());
        Map<?, ?> ttlJson = json(ctl("lease", "timetolive", id, "--keys", "-w", "json"));
        assertEquals(30L, ttlJson.get("grantedTTL"));
        assertEquals(List.of(b64("lease/j"), b64("lease/k")), ttlJson.get("keys"));
        assertTrue(ctl("lease", "list").out().matches("(?s)found \\d+ leases\n.*" + id + "\n.*"), ctl("lease", "list").out());
        assertEquals(new Result(0, "lease " + id + " keepalived with TTL(30)\n", ""), ctl("lease", "keep-alive", id, "--once"));
        Map<?, ?> grantJson = json(ctl("lease", "grant", "0", "-w", "json"));
        assertEquals(1L, grantJson.get("TTL"), "0 is raised to the cluster's minimum (1 s with these nodes' 200 ms election timeout), as etcd does");

        assertEquals(new Result(0, "lease " + id + " revoked\n", ""), ctl("lease", "revoke", id));
        assertEquals(new Result(0, "", ""), ctl("get", "lease/", "--prefix"), "the revoke deleted the lease's keys");
        assertEquals(new Result(0, "lease " + id + " already expired\n", ""), ctl("lease", "timetolive", id));
        Result again = ctl("lease", "revoke", id);
        assertEquals(1, again.code());
        assertTrue(again.err().startsWith("error: LEASE_NOT_FOUND: requested lease not found"), again.err());
        Result late = ctl("put", "lease/late", "v", "--lease", id);
        assertEquals(1, late.code());
        assertTrue(late.err().contains("LEASE_NOT_FOUND: requested lease not found"), late.err());
        assertEquals(1, ctl("lease", "keep-alive", id, "--once").code());
        assertEquals(new Result(0, "lease " + id + " expired or revoked.\n", ""), ctl("lease", "keep-alive", id));
    }

    @Test
    void aTxnPutMayNameALease() {
        String id = grantedId(ctl("lease", "grant", "30"));
        Result r = run(args("txn"), "\nput leasetxn/k v --lease " + id + "\n\n", false);
        assertEquals(new Result(0, "SUCCESS\n\nOK\n", ""), r);
        assertTrue(ctl("lease", "timetolive", id, "--keys").out().contains("attached keys([leasetxn/k])"));
        ctl("lease", "revoke", id);
    }

    @Test
    void leaseKeepAlivePrintsEachRenewalUntilInterrupted() throws Exception {
        String id = grantedId(ctl("lease", "grant", "2"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] code = {-1};
        Thread renewing = new Thread(() -> {
            try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
                code[0] = RaftKvCtl.run(args("lease", "keep-alive", id), new ByteArrayInputStream(new byte[0]), o, e, false);
            }
        });
        renewing.start();
        String line = "lease " + id + " keepalived with TTL(2)\n";
        // A renewal every TTL/3: seven lines take more than two TTLs, and the lease is still there.
        LocalCluster.await(java.time.Duration.ofSeconds(20), "seven renewals", () -> out.toString(StandardCharsets.UTF_8).equals(line.repeat(7)) ? true : null);
        assertTrue(ctl("lease", "timetolive", id).out().startsWith("lease " + id + " granted with TTL(2s)"));
        renewing.interrupt();
        renewing.join(10_000);
        assertEquals(0, code[0], err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).matches("(" + java.util.regex.Pattern.quote(line) + ")+"), out.toString(StandardCharsets.UTF_8));
        LocalCluster.await(java.time.Duration.ofSeconds(20), "the lease to expire once left alone",
                () -> ctl("lease", "timetolive", id).out().equals("lease " + id + " already expired\n") ? true : null);
    }

    @Test
    void leaseUsageErrorsExitTwo() {
        assertEquals(2, ctl("lease").code());
        assertEquals(2, ctl("lease", "grant").code());
        assertEquals(2, ctl("lease", "grant", "-5").code());
        Result badId = ctl("lease", "revoke", "xyz");
        assertEquals(new Result(2, "", "error: bad lease ID arg (xyz), expecting ID in Hex\n"), badId);
        assertEquals(2, ctl("lease", "timetolive", "0").code());
        assertEquals(2, ctl("lease", "list", "extra").code());
        assertEquals(2, ctl("lease", "renew", "1").code());
        assertEquals(2, ctl("lease", "grant", "10", "--keys").code());
        assertEquals(2, ctl("lease", "list", "-w", "table").code());
        assertEquals(2, ctl("put", "k", "v", "--lease", "nothex").code());
        assertEquals(2, run(args(), "lease keep-alive 1\n", false).code(), "the shell refuses a keep-alive that would never return");
    }

    // ------------------------------------------------------------------ helpers

    /** What one run printed as bytes. */
    private record RawResult(int code, byte[] out, String err) { }

    private static String[] args(String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpoints;
        System.arraycopy(command, 0, args, 2, command.length);
        return args;
    }

    private static void putAll(String... keysAndValues) {
        for (int i = 0; i < keysAndValues.length; i += 2) {
            Result r = ctl("put", keysAndValues[i], keysAndValues[i + 1]);
            assertEquals(new Result(0, "OK\n", ""), r);
        }
    }

    /** The keys of a simple get's output (every other line), separated by spaces. */
    private static String keys(Result r) {
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < lines.size(); i += 2) keys.add(lines.get(i));
        return String.join(" ", keys);
    }

    private static Map<?, ?> json(Result r) {
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.outLines().size(), "json is one line: " + r.out());
        return (Map<?, ?>) new Json(r.out().strip()).value();
    }

    /** The revision in a json answer's header. */
    private static long revisionOf(Result r) {
        return (Long) ((Map<?, ?>) json(r).get("header")).get("revision");
    }

    private static String b64(String s) {
        return Base64.getEncoder().encodeToString(utf8(s));
    }

    private static String pad(String s, int width) {
        return " ".repeat(width - s.length()) + s;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) b.writeBytes(p);
        return b.toByteArray();
    }

    private static PrintStream devNull() {
        return new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    }

    private static RawResult runRaw(String[] args, byte[] stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(stdin), o, e, false);
        }
        return new RawResult(code, out.toByteArray(), err.toString(StandardCharsets.UTF_8));
    }

    /** Just enough JSON to read raftkvctl's answers back: objects, arrays, strings, integers, true, false, null. */
    static final class Json {
        private final String s;
        private int at;

        Json(String s) {
            this.s = s;
        }

        Object value() {
            Object v = next();
            if (at != s.length()) throw new IllegalArgumentException("trailing text at " + at + ": " + s);
            return v;
        }

        private Object next() {
            char c = s.charAt(at);
            if (c == '{') {
                Map<String, Object> m = new LinkedHashMap<>();
                at++;
                if (s.charAt(at) == '}') {
                    at++;
                    return m;
                }
                while (true) {
                    String k = (String) next();
                    expect(':');
                    if (m.put(k, next()) != null) throw new IllegalArgumentException("duplicate field " + k);
                    if (s.charAt(at) == '}') {
                        at++;
                        return m;
                    }
                    expect(',');
                }
            }
            if (c == '[') {
                List<Object> l = new ArrayList<>();
                at++;
                if (s.charAt(at) == ']') {
                    at++;
                    return l;
                }
                while (true) {
                    l.add(next());
                    if (s.charAt(at) == ']') {
                        at++;
                        return l;
                    }
                    expect(',');
                }
            }
            if (c == '"') {
                StringBuilder b = new StringBuilder();
                for (at++; s.charAt(at) != '"'; at++) {
                    char d = s.charAt(at);
                    if (d == '\\') {
                        char e = s.charAt(++at);
                        switch (e) {
                            case 'n' -> b.append('\n');
                            case 't' -> b.append('\t');
                            case 'r' -> b.append('\r');
                            case 'u' -> {
                                b.append((char) Integer.parseInt(s.substring(at + 1, at + 5), 16));
                                at += 4;
                            }
                            default -> b.append(e);
                        }
                    } else {
                        b.append(d);
                    }
                }
                at++;
                return b.toString();
            }
            for (String word : List.of("true", "false", "null")) {
                if (s.startsWith(word, at)) {
                    at += word.length();
                    return word.equals("null") ? null : Boolean.valueOf(word);
                }
            }
            int start = at;
            if (s.charAt(at) == '-') at++;
            while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
            if (start == at) throw new IllegalArgumentException("unexpected '" + c + "' at " + at + ": " + s);
            return Long.parseLong(s.substring(start, at));
        }

        private void expect(char c) {
            if (s.charAt(at) != c) throw new IllegalArgumentException("expected '" + c + "' at " + at + ": " + s);
            at++;
        }
    }

    private static Result ctl(String... command) {
        return ctlAt(endpoints, command);
    }

    private static Result ctlAt(String endpointList, String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpointList;
        System.arraycopy(command, 0, args, 2, command.length);
        return run(args, "", false);
    }

    private static Result run(String[] args, String stdin, boolean interactive) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(utf8(stdin)), o, e, interactive);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Polls {@code raftkvctl leader} until a node says it leads. */
    private static void awaitLeader() {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(LEADER_WAIT_MS);
        Result last = null;
        while (System.nanoTime() < deadline) {
            last = run(new String[] {"--endpoints", endpoints, "--timeout", "1", "leader"}, "", false);
            if (last.code() == 0) return;
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        fail("no leader within " + LEADER_WAIT_MS + " ms: " + last);
    }

    private static List<String> words(String line) {
        return List.of(line.strip().split("\\s+"));
    }

    /** Ports free right now on 127.0.0.1, all different (each socket stays open until all are found). */
    private static int[] freePorts(int count) throws IOException {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) sockets.add(new ServerSocket(0, 1, loopback));
            return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
        } finally {
            for (ServerSocket s : sockets) s.close();
        }
    }
}
