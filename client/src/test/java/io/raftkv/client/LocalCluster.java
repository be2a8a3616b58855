package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.NodeMain;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Real node processes (one JVM each) on loopback ports, for integration tests. Nodes are killed by their
 * process handle: {@link #kill(int)} is SIGKILL, {@link #stop(int)} SIGTERM. {@link #close()} kills whatever
 * is left; the data directory belongs to the test (a JUnit temp dir).
 */
final class LocalCluster implements AutoCloseable {

    static final long TICK_MS = 50;
    static final int ELECTION_TICKS = 10;

    private final Path dir;
    private final Path config;
    private final List<Integer> ports = new ArrayList<>();
    private final Process[] processes;
    /** Nodes listed in nodes.conf; ids after it are spares, for nodes that join later. */
    private final int size;
    /** The members the test has made: where {@link #awaitLeader} looks. nodes.conf's to begin with. */
    final List<Integer> members = new ArrayList<>();
    /**
     * The JVM options of every node a test starts. The client tests start node JVMs by the dozen, most of which live a few
     * seconds and take little load: C2 compiling in three of them at once took a sixth of the machine's 2 cores for
     * code that ran too briefly to repay it (WalDamageTest, ClusterProcessTest and TlsClusterTest: 60 s → 49 s).
     */
    static final List<String> NODE_JVM_OPTIONS = List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
    /** Extra JVM options for nodes started from now on, e.g. "-Draftkv.connectionsMax=100". */
    final List<String> jvmOptions = new ArrayList<>();
    /** The tick nodes started from now on run with; {@link #TICK_MS} (fast elections) unless a test wants the default's timing. */
    long tickMs = TICK_MS;
    /** The class whose main runs a node; tests of the harness itself start nodes with a deliberate bug. */
    Class<?> nodeMain = NodeMain.class;
    /** The config file node {@code id} is started with; by default the shared one. */
    java.util.function.IntFunction<Path> configOf;

    LocalCluster(Path dir, int size) throws IOException {
        this(dir, size, 0);
    }

    /** {@code spares}: ports kept for nodes {@code size + 1 ..} that {@link #join} the cluster later. */
    LocalCluster(Path dir, int size, int spares) throws IOException {
        this.dir = dir;
        this.size = size;
        this.processes = new Process[size + spares + 1];
        StringBuilder conf = new StringBuilder("# test cluster\n");
        for (int id = 1; id <= size + spares; id++) {
            int port = freePort();
            ports.add(port);
            if (id <= size) {
                conf.append(id).append(" 127.0.0.1 ").append(port).append('\n');
                members.add(id);
            }
        }
        this.config = dir.resolve("nodes.conf");
        Files.writeString(config, conf);
        this.configOf = id -> config;
    }

    Path config() {
        return config;
    }

    int size() {
        return size;
    }

    /** "127.0.0.1:port" of node {@code id}, as a configuration lists it. */
    String hostPort(int id) {
        return "127.0.0.1:" + ports.get(id - 1);
    }

    InetSocketAddress address(int id) {
        return new InetSocketAddress("127.0.0.1", ports.get(id - 1));
    }

    List<InetSocketAddress> endpoints() {
        List<InetSocketAddress> all = new ArrayList<>();
        for (int id = 1; id <= size(); id++) all.add(address(id));
        return all;
    }

    Path dataDir(int id) {
        return dir.resolve("node" + id);
    }

    LocalCluster startAll() throws IOException {
        for (int id = 1; id <= size(); id++) start(id);
        return this;
    }

    void start(int id) throws IOException {
        start(id, List.of("--config", configOf.apply(id).toString()));
    }

    /** Starts node {@code id} (a spare: added to the configuration first) with an empty data directory, joining through {@code via}. */
    void join(int id, int... via) throws IOException {
        StringBuilder members = new StringBuilder();
        for (int v : via) members.append(members.length() == 0 ? "" : ",").append(hostPort(v));
        start(id, List.of("--join", members.toString()));
    }

    private void start(int id, List<String> how) throws IOException {
        if (processes[id] != null && processes[id].isAlive()) throw new IllegalStateException("node " + id + " is running");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(NODE_JVM_OPTIONS);
        command.addAll(List.of("-Draftkv.tickMs=" + tickMs, "-Draftkv.electionTicks=" + ELECTION_TICKS));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classpathOf(nodeMain, NodeMain.class, ClusterConfig.class), nodeMain.getName(),
                "--id", String.valueOf(id), "--data-dir", dataDir(id).toString()));
        command.addAll(how);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("node" + id + ".log").toFile()));
        processes[id] = pb.start();
    }

    /** SIGKILL: the node loses everything it had not synced. */
    void kill(int id) throws InterruptedException {
        Process p = processes[id];
        if (p == null) return;
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("node " + id + " (pid " + p.pid() + ") did not die");
    }

    /** SIGTERM: the node stops cleanly. Returns its exit code. */
    int stop(int id) throws InterruptedException {
        Process p = processes[id];
        p.destroy();
        if (!p.waitFor(30, TimeUnit.SECONDS)) throw new IllegalStateException("node " + id + " (pid " + p.pid() + ") did not stop");
        return p.exitValue();
    }

    /** Sends a signal by process id, e.g. "STOP" or "CONT". */
    void signal(int id, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(processes[id].pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new IllegalStateException("kill -" + signal + " of node " + id + " failed" + whyGone(id));
        }
    }

    /** The process id of node {@code id}'s JVM. */
    long pid(int id) {
        return processes[id].pid();
    }

    /** For a failure report: how a node that should be running ended, and the end of its log. */
    String whyGone(int id) {
        Process p = processes[id];
        if (p == null || p.isAlive()) return "";
        String log;
        try {
            log = log(id);
        } catch (IOException e) {
            log = "(its log cannot be read: " + e.getMessage() + ")";
        }
        List<String> lines = log.lines().toList();
        return ": the process exited with code " + p.exitValue() + "; the last lines of its log:\n  "
                + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }

    /** Waits for a node that exits by itself (e.g. refuses to start); returns its exit code. */
    int awaitExit(int id, Duration deadline) throws InterruptedException {
        Process p = processes[id];
        if (!p.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) throw new AssertionError("node " + id + " is still running");
        return p.exitValue();
    }

    boolean alive(int id) {
        return processes[id] != null && processes[id].isAlive();
    }

    String log(int id) throws IOException {
        Path log = dir.resolve("node" + id + ".log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    RaftKvClient client() {
        return new RaftKvClient(endpoints(), Duration.ofSeconds(10));
    }

    /** The status of node {@code id}, or empty when it does not answer. */
    Optional<ClientResponse.StatusResult> status(RaftKvClient client, int id) {
        try {
            return Optional.of(client.statusAsync(address(id)).get(2, TimeUnit.SECONDS));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** Waits for a node that says it leads, and that a majority follows. Returns its id. */
    int awaitLeader(RaftKvClient client, Duration deadline) {
        return await(deadline, "a leader", () -> {
            int leader = 0;
            int followers = 0;
            long term = -1;
            for (int id : members) {
                Optional<ClientResponse.StatusResult> s = status(client, id);
                if (s.isEmpty()) continue;
                if (s.get().role().equals("LEADER") && s.get().term() > term) {
                    leader = id;
                    term = s.get().term();
                }
            }
            if (leader == 0) return null;
            for (int id : members) {
                Optional<ClientResponse.StatusResult> s = status(client, id);
                if (s.isPresent() && s.get().leaderId() == leader && s.get().term() == term) followers++;
            }
            return followers > members.size() / 2 ? leader : null;
        });
    }

    /** Waits until node {@code id}, asked alone, answers a serializable read of {@code key} with {@code value}. */
    void awaitLocalValue(int id, String key, String value, Duration deadline) {
        try (RaftKvClient one = new RaftKvClient(List.of(address(id)), Duration.ofSeconds(2))) {
            await(deadline, "node " + id + " to serve " + key + "=" + value, () -> {
                try {
                    return one.get(key.getBytes(java.nio.charset.StandardCharsets.UTF_8), true)
                            .map(v -> new String(v, java.nio.charset.StandardCharsets.UTF_8)).filter(value::equals).orElse(null);
                } catch (RaftKvException e) {
                    return null; // not up, or still catching up after its start
                }
            });
        }
    }

    /** Polls {@code probe} until it returns non-null, or fails after {@code deadline}. */
    static <T> T await(Duration deadline, String what, Supplier<T> probe) {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            T value = probe.get();
            if (value != null) return value;
            if (System.nanoTime() > end) throw new AssertionError("timed out after " + deadline.toMillis() + " ms waiting for " + what);
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }

    @Override
    public void close() throws InterruptedException, IOException {
        for (int id = 1; id < processes.length; id++) {
            if (processes[id] != null && processes[id].isAlive()) {
                try {
                    signal(id, "CONT"); // a paused process dies of SIGKILL too, but let it go cleanly from the kernel's view
                } catch (IllegalStateException | IOException ignored) {
                    // It exited meanwhile.
                }
                kill(id);
            }
        }
    }

    /** The class path that holds these classes (each a directory or jar of the build): a node needs no more. */
    static String classpathOf(Class<?>... classes) {
        java.util.LinkedHashSet<String> entries = new java.util.LinkedHashSet<>();
        for (Class<?> c : classes) {
            try {
                entries.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
            } catch (URISyntaxException e) {
                throw new IllegalStateException(e);
            }
        }
        return String.join(java.io.File.pathSeparator, entries);
    }

    /** Ports this JVM handed out already: a node's port is free only until its process binds it. */
    private static final java.util.Set<Integer> PORTS_HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int PORT_MIN = 10_000;

    /**
     * A free port for a node process, below the kernel's range of ephemeral ports. A node binds its port a JVM start
     * later; a port from the ephemeral range could meanwhile be handed to a socket of this JVM (a fault proxy's
     * bind to port 0, a client's connect), and the node would fail to start. One chaos run lost a node that way.
     */
    private static int freePort() throws IOException {
        int ephemeralMin = ephemeralPortMin();
        java.util.Random random = new java.util.Random();
        for (int attempt = 0; attempt < 1_000; attempt++) {
            int port = PORT_MIN + random.nextInt(ephemeralMin - PORT_MIN);
            if (!PORTS_HANDED_OUT.add(port)) continue;
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress("127.0.0.1", port));
                return port;
            } catch (IOException taken) {
                // In use: draw another.
            }
        }
        throw new IOException("no free port found below " + ephemeralMin);
    }

    private static int ephemeralPortMin() {
        try {
            String[] range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return Math.max(PORT_MIN + 1_000, Integer.parseInt(range[0]));
        } catch (IOException | RuntimeException e) {
            return 32_768; // Linux's default
        }
    }
}
