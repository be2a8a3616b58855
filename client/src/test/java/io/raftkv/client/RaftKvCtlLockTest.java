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
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * raftkvctl's lock and elect against a 3-node cluster in this JVM, run in threads (an interrupt stands for Ctrl-C), and
 * as processes of their own for what only a process shows: SIGINT and SIGTERM releasing the lock, a COMMAND on
 * raftkvctl's own standard streams.
 */
class RaftKvCtlLockTest {

    private static final int NODES = 3;
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static final List<Node> nodes = new ArrayList<>();
    private static String endpoints;

    @BeforeAll
    static void startCluster() throws Exception {
        int[] ports = freePorts(NODES);
        StringBuilder conf = new StringBuilder();
        List<String> addresses = new ArrayList<>();
        for (int id = 1; id <= NODES; id++) {
            conf.append(id).append(" 127.0.0.1 ").append(ports[id - 1]).append('\n');
            addresses.add("127.0.0.1:" + ports[id - 1]);
        }
        endpoints = String.join(",", addresses);
        ClusterConfig config = ClusterConfig.parse(conf.toString(), "test");
        NodeOptions fast = NodeOptions.defaults().withTickMs(20);
        for (int id = 1; id <= NODES; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), fast));
        LocalCluster.await(WAIT, "a leader", () -> ctl("leader").code() == 0 ? true : null);
    }

    @AfterAll
    static void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
        nodes.clear();
    }

    private record Result(int code, String out, String err) { }

    /** A raftkvctl run in a thread of this JVM: what it printed so far, its exit code once done. */
    private static final class Running {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final Thread thread;
        volatile int code = -1;

        Running(String... command) {
            thread = new Thread(() -> {
                try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
                    code = RaftKvCtl.run(args(command), new ByteArrayInputStream(new byte[0]), o, e, false);
                }
            }, "raftkvctl " + String.join(" ", command));
            thread.start();
        }

        String out() {
            return out.toString(StandardCharsets.UTF_8);
        }

        String awaitOut(String pattern) {
            return LocalCluster.await(WAIT, thread.getName() + " to print " + pattern + " (printed '" + out() + "', error '" + err + "')",
                    () -> out().matches(pattern) ? out() : null);
        }

        /** Ctrl-C: returns the exit code. */
        int interrupt() throws InterruptedException {
            thread.interrupt();
            return awaitExit();
        }

        int awaitExit() throws InterruptedException {
            thread.join(WAIT.toMillis());
            assertTrue(!thread.isAlive(), thread.getName() + " did not end");
            return code;
        }
    }

    private static String[] args(String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpoints;
        System.arraycopy(command, 0, args, 2, command.length);
        return args;
    }

    private static Result ctl(String... command) {
        return run(args(command), "");
    }

    private static Result run(String[] args, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e, false);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The keys under {@code prefix}, in create order (the lock's queue), as get --keys-only prints them. */
    private static List<String> queue(String prefix) {
        Result r = ctl("get", prefix, "--prefix", "--keys-only", "--sort-by", "CREATE");
        assertEquals(0, r.code(), r.err());
        List<String> keys = new ArrayList<>();
        for (String line : r.out().split("\n")) if (!line.isEmpty()) keys.add(line);
        return keys;
    }

    private static final String LEASE_HEX = "[0-9a-f]{16}";

    @Test
    void lockPrintsItsKeyAndHoldsUntilCtrlCWhileTheNextWaits() throws Exception {
        Running first = new Running("lock", "held");
        String printed = first.awaitOut("held/" + LEASE_HEX + "\n\n");
        String key = printed.strip();
        Running second = new Running("lock", "held", "echo", "second has it");
        LocalCluster.await(WAIT, "the second to queue", () -> queue("held/").size() == 2 ? true : null);
        assertEquals(key, queue("held/").get(0), "the first holds");
        assertEquals("", second.out(), "the second waits");

        assertEquals(0, first.interrupt(), "Ctrl-C releases and exits 0, as etcdctl: " + first.err);
        second.awaitOut("second has it\n");
        assertEquals(0, second.awaitExit(), second.err.toString(StandardCharsets.UTF_8));
        assertEquals(List.of(), queue("held/"), "both released");
    }

    @Test
    void aCommandRunsHoldingTheLockWithEtcdctlsEnvironmentAndItsExitCodeIsRaftkvctls() {
        Result r = ctl("lock", "envl", "--ttl", "5", "sh", "-c", "echo \"$ETCD_LOCK_KEY $ETCD_LOCK_REV\"; echo oops >&2; exit 3");
        assertEquals(3, r.code(), r.err());
        assertTrue(r.out().matches("envl/" + LEASE_HEX + " \\d+\n"), r.out());
        assertEquals("oops\n", r.err());
        assertEquals(List.of(), queue("envl/"), "released when the command exited");

        // The command's flags are its own (sh -c), and a command's success is raftkvctl's.
        assertEquals(new Result(0, "5\n", ""), ctl("lock", "envl", "sh", "-c", "echo $((2 + 3))"));
        Result missing = ctl("lock", "envl", "/no/such/command");
        assertEquals(1, missing.code());
        assertTrue(missing.err().startsWith("error: cannot run /no/such/command"), missing.err());
        assertEquals(List.of(), queue("envl/"));
    }

    @Test
    void electCampaignsUntilCtrlCAndAnObserverPrintsEachLeader() throws Exception {
        Running observer = new Running("elect", "el");
        Running a = new Running("elect", "el", "alpha");
        String aPrinted = a.awaitOut("el/" + LEASE_HEX + "\nalpha\n");
        observer.awaitOut(java.util.regex.Pattern.quote(aPrinted));
        Running b = new Running("elect", "el", "beta", "--ttl", "5");
        LocalCluster.await(WAIT, "b to stand", () -> queue("el/").size() == 2 ? true : null);
        assertEquals("", b.out(), "b waits while a leads");

        assertEquals(0, a.interrupt(), "Ctrl-C resigns and exits 0");
        String bPrinted = b.awaitOut("el/" + LEASE_HEX + "\nbeta\n");
        observer.awaitOut(java.util.regex.Pattern.quote(aPrinted + bPrinted));
        assertEquals(0, b.interrupt());
        assertEquals(0, observer.interrupt());
        assertEquals(List.of(), queue("el/"));
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, ctl("lock").code());
        assertEquals(2, ctl("lock", "x", "--ttl", "0").code());
        assertEquals(2, ctl("elect").code());
        assertEquals(2, ctl("elect", "a", "b", "c").code());
        assertEquals(2, ctl("elect", "-l", "a", "b").code(), "-l observes: no proposal");
        assertEquals(2, ctl("elect", "a", "--ttl", "5").code(), "an observer has no session");
        assertEquals(2, ctl("lock", "x", "-w", "table").code());
        assertEquals(2, run(args(), "lock x\n").code(), "the shell refuses a command that holds until Ctrl-C");
        assertEquals(2, run(args(), "elect x y\n").code());
    }

    // ------------------------------------------------------------------ raftkvctl as a process of its own

    private static Process raftkvctl(String... command) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> argv = new ArrayList<>();
        // A process inherits an ignored SIGINT, and a JVM started so never sees Ctrl-C (it installs no handler for a signal
        // ignored at its start): that is what a build started in the background by a non-interactive shell (`mvn ... &`)
        // passes on. raftkvctl would then hold its lock through the SIGINT test, as any program would; give it SIGINT back.
        if (sigintIgnored()) argv.addAll(List.of("env", "--default-signal=INT"));
        argv.addAll(List.of(java, "-cp", LocalCluster.classpathOf(RaftKvCtl.class, ClusterConfig.class, picocli.CommandLine.class), RaftKvCtl.class.getName()));
        argv.addAll(List.of(args(command)));
        return new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.PIPE).start();
    }

    /** Whether this JVM was started with SIGINT ignored (Linux: the SigIgn mask in /proc/self/status). */
    private static boolean sigintIgnored() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.exists(status)) return false;
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 1)) != 0; // bit 1: signal 2
        }
        return false;
    }

    /** The process's standard output so far, read in the background. */
    private static ByteArrayOutputStream drain(InputStream from) {
        ByteArrayOutputStream to = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            try (from) {
                byte[] buffer = new byte[4096];
                for (int n; (n = from.read(buffer)) > 0; ) {
                    synchronized (to) {
                        to.write(buffer, 0, n);
                    }
                }
            } catch (IOException e) {
                // The process is gone.
            }
        });
        t.setDaemon(true);
        t.start();
        return to;
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    private static void signal(Process p, String signal) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -" + signal);
    }

    @Test
    void sigintReleasesTheLockAtOnceAndExitsZero() throws Exception {
        // A TTL far longer than the test waits: the key must go with the unlock, not with the lease.
        Process p = raftkvctl("lock", "sig", "--ttl", "120");
        try {
            ByteArrayOutputStream out = drain(p.getInputStream());
            ByteArrayOutputStream err = drain(p.getErrorStream());
            LocalCluster.await(WAIT, "the lock's key to be printed (stderr: " + text(err) + ")", () -> text(out).matches("sig/" + LEASE_HEX + "\n\n") ? true : null);
            assertEquals(1, queue("sig/").size());
            signal(p, "INT");
            assertTrue(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), text(err));
            assertEquals(List.of(), queue("sig/"), "released before the process ended");
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void sigtermStopsTheCommandThenReleasesTheLock() throws Exception {
        Process p = raftkvctl("lock", "term", "--ttl", "120", "sh", "-c", "echo started; exec sleep 60");
        try {
            ByteArrayOutputStream out = drain(p.getInputStream());
            ByteArrayOutputStream err = drain(p.getErrorStream());
            LocalCluster.await(WAIT, "the command to start (stderr: " + text(err) + ")", () -> text(out).equals("started\n") ? true : null);
            signal(p, "TERM");
            assertTrue(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
            assertEquals(143, p.exitValue(), "the command's own code: killed by SIGTERM (" + text(err) + ")");
            assertEquals(List.of(), queue("term/"), "released once the command was gone");
        } finally {
            p.destroyForcibly();
        }
    }

    /** Ports free right now on 127.0.0.1, all different. */
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
