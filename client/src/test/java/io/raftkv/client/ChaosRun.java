package io.raftkv.client;

import io.raftkv.linearizability.CheckResult;
import io.raftkv.linearizability.LinearizabilityChecker;
import io.raftkv.linearizability.Operation;
import io.raftkv.protocol.ClientResponse;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One chaos run against real node processes, in the manner of Jepsen: every peer link passes through a
 * {@link FaultProxy}; ten clients put, delete and read (linearizable and serializable) ten keys, and six more
 * increment three shared counters with compare-and-swap transactions ({@link CasCounterWorkload}), and three take
 * one lock over and over and write their fencing tokens to a fenced register ({@link ChaosLockHolders}); a nemesis
 * driven by the seed kills, pauses, partitions and slows nodes; then everything heals, every node is killed
 * with SIGKILL and restarted, every key is read, and the run checks the history and the counters.
 */
final class ChaosRun {

    record Report(long seed, int nodes, int operations, int unknown, int serializableReads, Map<String, Integer> faults,
                  CasCounterCheck.Result cas, long casAttempts, long casCompareFailures, int snapshotsInstalled, String watches, String locks,
                  double seconds) {
        @Override
        public String toString() {
            return "chaos seed " + seed + ", " + nodes + " nodes: " + operations + " operations checked (" + unknown
                    + " with unknown outcome), " + serializableReads + " serializable reads; CAS counters: " + casAttempts + " transactions ("
                    + casCompareFailures + " failed their compare), " + cas.summary() + "; faults " + faults
                    + "; " + snapshotsInstalled + " snapshots installed by followers; " + watches + "; " + locks
                    + String.format(", violations 0, %.0f s", seconds);
        }
    }

    /** A serializable read: node, key, value (null = absent) and when it was asked and answered. */
    private record LocalRead(int node, String key, String value, long invoke, long complete) { }

    private static final int CLIENTS = 10;
    private static final int KEYS = 10;
    private static final int CAS_CLIENTS = 6;
    private static final int COUNTERS = 3;
    private static final int LOCK_HOLDERS = 3;
    private static final Duration CLIENT_DEADLINE = Duration.ofSeconds(2);
    private static final int SNAPSHOT_ENTRIES = 100;
    private static final int SNAPSHOT_CATCH_UP_ENTRIES = 10;

    private final long seed;
    private final int size;
    private final long seconds;
    private final Path dir;
    private final Random random;
    private final List<Operation> history = Collections.synchronizedList(new ArrayList<>());
    private final List<LocalRead> localReads = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Integer> faults = new TreeMap<>();
    private final List<String> timeline = Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean clientsRunning = new AtomicBoolean(true);
    private final AtomicLong values = new AtomicLong();
    private LocalCluster cluster;
    private CasCounterWorkload cas;
    private ChaosWatchers watchers;
    private ChaosLockHolders locks;
    private FaultProxy[][] proxies;
    private final long startNanos = System.nanoTime();

    /** JVM options for every node, e.g. a deliberate bug to show that the checks find it. */
    final List<String> nodeJvmOptions = new ArrayList<>();
    /** The class whose main runs each node (a test may choose one with a deliberate bug). */
    Class<?> nodeMain = io.raftkv.server.NodeMain.class;
    /** Clients of the register workload (put, delete, get on ten keys); 0 runs the CAS counters alone. */
    int registerClients = CLIENTS;
    /** Clients of the CAS-counter workload; 0 runs the registers alone. */
    int casClients = CAS_CLIENTS;
    /** Clients that take the lock and write fenced tokens; 0 runs none. */
    int lockHolders = LOCK_HOLDERS;
    /** Deliberate bugs in the lock holders (holder h has lockBugs[(h - 1) % size]), for the test that shows the lock check finds them. */
    List<ChaosLockHolders.Bug> lockBugs = List.of(ChaosLockHolders.Bug.NONE);
    /** One lock section in this many has its holder paused past its TTL (ChaosLockHolders). */
    int lockPausedOneIn = ChaosLockHolders.PAUSED_ONE_IN;
    /** Deliberate bugs in the CAS clients (client i has casBugs[(i - 1) % size]), for the test that shows the counter check finds them. */
    List<CasCounterWorkload.Bug> casBugs = List.of(CasCounterWorkload.Bug.NONE);
    /** The CAS clients' transaction deadline (by default the clients' deadline). */
    Duration casTxnDeadline = CLIENT_DEADLINE;

    ChaosRun(long seed, int size, long seconds, Path dir) {
        this.seed = seed;
        this.size = size;
        this.seconds = seconds;
        this.dir = dir;
        this.random = new Random(seed);
    }

    static String rerunCommand(long seed, long seconds) {
        return "mvn -B -pl client -am test -Dtest=ChaosTest -Dsurefire.failIfNoSpecifiedTests=false -Draftkv.chaos.seed=" + seed
                + " -Draftkv.chaos.seconds=" + seconds;
    }

    Report run() throws Exception {
        cluster = new LocalCluster(dir, size);
        proxies = new FaultProxy[size + 1][size + 1];
        Path[] configs = new Path[size + 1];
        for (int from = 1; from <= size; from++) {
            StringBuilder conf = new StringBuilder("cluster chaos-" + seed + "\n");
            for (int to = 1; to <= size; to++) {
                int port = cluster.address(to).getPort();
                if (to != from) {
                    proxies[from][to] = new FaultProxy(from + "->" + to, cluster.address(to), seed * 100 + from * 10 + to);
                    port = proxies[from][to].port();
                }
                conf.append(to).append(" 127.0.0.1 ").append(port).append('\n');
            }
            configs[from] = dir.resolve("nodes-" + from + ".conf");
            Files.writeString(configs[from], conf);
        }
        cluster.configOf = id -> configs[id];
        // Small snapshot thresholds: a node cut off or killed for a while comes back through a snapshot.
        cluster.jvmOptions.addAll(List.of("-Draftkv.snapshotEntries=" + SNAPSHOT_ENTRIES, "-Draftkv.snapshotCatchUpEntries=" + SNAPSHOT_CATCH_UP_ENTRIES,
                "-Draftkv.snapshotLogPercentMin=0"));
        cluster.jvmOptions.addAll(nodeJvmOptions);
        cluster.nodeMain = nodeMain;
        cas = new CasCounterWorkload(COUNTERS, cluster.endpoints(), CLIENT_DEADLINE);
        cas.bugs = casBugs;
        cas.txnDeadline = casTxnDeadline;
        List<Thread> clients = new ArrayList<>();
        try (RaftKvClient control = cluster.client()) {
            cluster.startAll();
            cluster.awaitLeader(control, Duration.ofSeconds(30));
            watchers = new ChaosWatchers(cluster, size);
            for (int c = 1; c <= registerClients; c++) clients.add(startClient(c));
            for (int c = 1; c <= casClients; c++) clients.add(cas.start(c, seed * 1000 + 500 + c, clientsRunning));
            locks = new ChaosLockHolders(cluster.endpoints(), seed);
            locks.bugs = lockBugs;
            locks.pausedOneIn = lockPausedOneIn;
            if (lockHolders > 0) {
                locks.start(control, lockHolders, clientsRunning);
                clients.addAll(locks.threads());
            }
            nemesis(control);
            note("heal everything, restart every node");
            healAll();
            cluster.awaitLeader(control, Duration.ofSeconds(30));
            clientsRunning.set(false);
            for (Thread t : clients) t.join(30_000);
            note("kill -9 every node, then restart");
            for (int id = 1; id <= size; id++) cluster.kill(id);
            for (int id = 1; id <= size; id++) cluster.start(id);
            cluster.awaitLeader(control, Duration.ofSeconds(30));
            finalReads(control);
            CasCounterWorkload.Stored counters = LocalCluster.await(Duration.ofSeconds(30), "a final read of the CAS counters", () -> {
                try {
                    return CasCounterWorkload.readAll(control);
                } catch (RaftKvException e) {
                    return null;
                }
            });
            // Every check runs, so a failure names all that broke.
            List<String> failures = new ArrayList<>();
            verify(failures, () -> checkConvergence(control));
            verify(failures, this::checkLinearizable);
            verify(failures, this::checkSerializableReads);
            CasCounterCheck.Result casResult = cas.check(counters);
            if (!casResult.ok()) failures.add(casResult.describe());
            LockHolderCheck.Result lockResult = lockHolders > 0 ? locks.check(control) : null;
            if (lockResult != null) failures.addAll(lockResult.problems());
            long finalRevision = LocalCluster.await(Duration.ofSeconds(30), "the final revision", () -> {
                try {
                    return control.range(io.raftkv.protocol.RangeRequest.key("k0".getBytes(StandardCharsets.UTF_8))).header().revision();
                } catch (RaftKvException e) {
                    return null;
                }
            });
            verify(failures, () -> watchers.awaitRevision(finalRevision, Duration.ofSeconds(60)));
            failures.addAll(watchers.check(acknowledgedPutValues()));
            if (!failures.isEmpty()) throw new AssertionError(String.join("\n  ", failures));
            int unknown = (int) history.stream().filter(Operation::unknown).count();
            int installs = 0;
            for (int id = 1; id <= size; id++) installs += (int) cluster.log(id).lines().filter(l -> l.contains("installed snapshot")).count();
            return new Report(seed, size, history.size(), unknown, localReads.size(), faults, casResult, cas.attempts(), cas.compareFailures(),
                    installs, watchers.summary(), lockResult != null ? lockResult.summary() : "no lock holders", (System.nanoTime() - startNanos) / 1e9);
        } catch (Throwable t) {
            Path file = writeHistory();
            throw new AssertionError("chaos run failed: " + t.getMessage() + "\n  seed " + seed + ", " + size + " nodes, "
                    + seconds + " s; history and timeline in " + file + "\n  rerun: " + rerunCommand(seed, seconds), t);
        } finally {
            clientsRunning.set(false);
            if (watchers != null) watchers.close();
            cluster.close();
            for (FaultProxy[] row : proxies) for (FaultProxy p : row) if (p != null) p.close();
        }
    }

    // ------------------------------------------------------------------ clients

    private Thread startClient(int id) {
        Random r = new Random(seed * 1000 + id);
        Thread t = new Thread(() -> {
            try (RaftKvClient client = new RaftKvClient(cluster.endpoints(), CLIENT_DEADLINE)) {
                List<RaftKvClient> local = new ArrayList<>();
                for (int n = 1; n <= size; n++) local.add(new RaftKvClient(List.of(cluster.address(n)), CLIENT_DEADLINE));
                while (clientsRunning.get()) {
                    String key = "k" + r.nextInt(KEYS);
                    int dice = r.nextInt(100);
                    if (dice < 35) put(client, id, key, "v" + values.incrementAndGet());
                    else if (dice < 45) delete(client, id, key);
                    else if (dice < 62) get(client, id, key);
                    else if (dice < 80) get(local.get(r.nextInt(size)), id, key); // a follower asks the leader for the read index
                    else localGet(r.nextInt(size) + 1, key, local);
                }
                local.forEach(RaftKvClient::close);
            }
        }, "chaos-client-" + id);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void put(RaftKvClient client, int id, String key, String value) {
        long invoke = System.nanoTime();
        try {
            client.put(key, value);
            history.add(Operation.put(id, key, value, invoke, System.nanoTime()));
        } catch (RaftKvException e) {
            if (e.kind() == RaftKvException.Kind.OUTCOME_UNKNOWN) history.add(Operation.putUnknown(id, key, value, invoke));
        }
    }

    private void delete(RaftKvClient client, int id, String key) {
        long invoke = System.nanoTime();
        try {
            client.delete(key);
            history.add(Operation.delete(id, key, invoke, System.nanoTime()));
        } catch (RaftKvException e) {
            if (e.kind() == RaftKvException.Kind.OUTCOME_UNKNOWN) history.add(Operation.deleteUnknown(id, key, invoke));
        }
    }

    private void get(RaftKvClient client, int id, String key) {
        long invoke = System.nanoTime();
        try {
            String value = client.get(key.getBytes(StandardCharsets.UTF_8), false).map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
            history.add(Operation.get(id, key, value, invoke, System.nanoTime()));
        } catch (RaftKvException e) {
            // A read that failed tells nothing.
        }
    }

    private void localGet(int node, String key, List<RaftKvClient> local) {
        long invoke = System.nanoTime();
        try {
            Optional<byte[]> v = local.get(node - 1).get(key.getBytes(StandardCharsets.UTF_8), true);
            localReads.add(new LocalRead(node, key, v.map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null), invoke, System.nanoTime()));
        } catch (RaftKvException e) {
            // Unavailable node: nothing to check.
        }
    }

    // ------------------------------------------------------------------ nemesis

    private void nemesis(RaftKvClient control) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            hold(500 + random.nextInt(1500));
            int leader = leaderOrRandom(control);
            int victim = random.nextBoolean() ? leader : 1 + random.nextInt(size);
            long holdMs = 1000 + random.nextInt(3000);
            switch (random.nextInt(9)) {
                case 0 -> {
                    count("kill -9");
                    note("kill -9 node " + victim);
                    cluster.kill(victim);
                    hold(holdMs);
                    note("restart node " + victim);
                    cluster.start(victim);
                }
                case 1 -> {
                    count("pause (SIGSTOP)");
                    note("SIGSTOP node " + victim);
                    cluster.signal(victim, "STOP");
                    hold(holdMs);
                    note("SIGCONT node " + victim);
                    cluster.signal(victim, "CONT");
                }
                case 2 -> {
                    count("isolate leader");
                    note("isolate node " + leader);
                    for (int other = 1; other <= size; other++) if (other != leader) cut(leader, other, true);
                    holdThenHealLinks(holdMs);
                }
                case 3 -> {
                    List<Integer> ids = shuffledIds();
                    int minority = 1 + random.nextInt((size - 1) / 2);
                    count("majority/minority split");
                    note("split " + ids.subList(0, minority) + " from " + ids.subList(minority, size));
                    for (int a : ids.subList(0, minority)) for (int b : ids.subList(minority, size)) cut(a, b, true);
                    holdThenHealLinks(holdMs);
                }
                case 4 -> {
                    List<Integer> ids = shuffledIds();
                    List<Integer> rest = ids.subList(1, size);
                    int half = rest.size() / 2;
                    count("bridge");
                    note("bridge node " + ids.get(0) + " between " + rest.subList(0, half) + " and " + rest.subList(half, rest.size()));
                    for (int a : rest.subList(0, half)) for (int b : rest.subList(half, rest.size())) cut(a, b, true);
                    holdThenHealLinks(holdMs);
                }
                case 5 -> {
                    count("one-way loss");
                    boolean outbound = random.nextBoolean();
                    note("node " + leader + (outbound ? " cannot send to" : " cannot hear from") + " the others");
                    for (int other = 1; other <= size; other++) {
                        if (other == leader) continue;
                        if (outbound) proxies[leader][other].blackhole = true; else proxies[other][leader].blackhole = true;
                    }
                    holdThenHealLinks(holdMs);
                }
                case 6 -> {
                    long delay = 50 + random.nextInt(400);
                    count("slow links");
                    note("links of node " + victim + " delayed " + delay + " ms");
                    for (int other = 1; other <= size; other++) {
                        if (other == victim) continue;
                        proxies[victim][other].delayMs = delay;
                        proxies[other][victim].delayMs = delay;
                    }
                    holdThenHealLinks(holdMs);
                }
                case 7 -> {
                    double loss = 0.1 + random.nextDouble() * 0.3;
                    count("packet loss");
                    note(String.format("every link loses %.0f%% of frames", loss * 100));
                    forEachProxy(p -> p.lossRate = loss);
                    holdThenHealLinks(holdMs);
                }
                default -> {
                    count("kill -9 leader and pause another");
                    int other = leader % size + 1;
                    note("kill -9 leader " + leader + ", SIGSTOP node " + other);
                    cluster.kill(leader);
                    cluster.signal(other, "STOP");
                    hold(holdMs);
                    note("SIGCONT node " + other + ", restart node " + leader);
                    cluster.signal(other, "CONT");
                    cluster.start(leader);
                }
            }
        }
    }

    private void cut(int a, int b, boolean bothWays) {
        proxies[a][b].blackhole = true;
        if (bothWays) proxies[b][a].blackhole = true;
    }

    private void holdThenHealLinks(long ms) {
        hold(ms);
        note("heal links");
        forEachProxy(FaultProxy::heal);
    }

    private void forEachProxy(java.util.function.Consumer<FaultProxy> action) {
        for (FaultProxy[] row : proxies) for (FaultProxy p : row) if (p != null) action.accept(p);
    }

    private void healAll() throws Exception {
        forEachProxy(FaultProxy::heal);
        for (int id = 1; id <= size; id++) {
            if (cluster.alive(id)) cluster.signal(id, "CONT");
            else cluster.start(id);
        }
    }

    private int leaderOrRandom(RaftKvClient control) {
        int leader = 0;
        long term = -1;
        for (int id = 1; id <= size; id++) {
            Optional<ClientResponse.StatusResult> s = cluster.alive(id) ? quickStatus(control, id) : Optional.empty();
            if (s.isPresent() && s.get().role().equals("LEADER") && s.get().term() > term) {
                leader = id;
                term = s.get().term();
            }
        }
        return leader != 0 ? leader : 1 + random.nextInt(size);
    }

    private Optional<ClientResponse.StatusResult> quickStatus(RaftKvClient control, int id) {
        try {
            return Optional.of(control.statusAsync(cluster.address(id)).get(300, TimeUnit.MILLISECONDS));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    private List<Integer> shuffledIds() {
        List<Integer> ids = new ArrayList<>();
        for (int id = 1; id <= size; id++) ids.add(id);
        Collections.shuffle(ids, random);
        return ids;
    }

    /** The nemesis holds a fault for a scheduled time: this is the schedule, not a wait for the cluster. */
    private static void hold(long ms) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        while (System.nanoTime() < end) LockSupport.parkNanos(end - System.nanoTime());
    }

    private void count(String kind) {
        faults.merge(kind, 1, Integer::sum);
    }

    private void note(String event) {
        timeline.add(String.format("%8.3fs  %s", (System.nanoTime() - startNanos) / 1e9, event));
    }

    // ------------------------------------------------------------------ checks

    /** The values of the puts the cluster acknowledged: each must be among the watchers' events. */
    private List<String> acknowledgedPutValues() {
        List<String> values = new ArrayList<>();
        synchronized (history) {
            for (Operation op : history) if (op.kind() == Operation.Kind.PUT && op.completeTime() != Operation.UNKNOWN) values.add(op.input());
        }
        return values;
    }

    private static void verify(List<String> failures, Runnable check) {
        try {
            check.run();
        } catch (AssertionError e) {
            failures.add(e.getMessage());
        }
    }

    private void finalReads(RaftKvClient control) {
        for (int k = 0; k < KEYS; k++) {
            String key = "k" + k;
            long invoke = System.nanoTime();
            String value = LocalCluster.await(Duration.ofSeconds(30), "a final read of " + key, () -> {
                try {
                    return Optional.ofNullable(control.get(key));
                } catch (RaftKvException e) {
                    return null;
                }
            }).orElse(null);
            history.add(Operation.get(0, key, value, invoke, System.nanoTime()));
        }
    }

    private void checkConvergence(RaftKvClient control) {
        LocalCluster.await(Duration.ofSeconds(30), "every node to apply the same log and hold the same map (STATUS keyHash)", () -> {
            List<ClientResponse.StatusResult> all = new ArrayList<>();
            for (int id = 1; id <= size; id++) {
                Optional<ClientResponse.StatusResult> s = cluster.status(control, id);
                if (s.isEmpty()) return null;
                all.add(s.get());
            }
            boolean same = all.stream().allMatch(s -> s.applied() == all.get(0).applied() && s.keyHash() == all.get(0).keyHash());
            return same ? true : null;
        });
    }

    private void checkLinearizable() {
        CheckResult result = LinearizabilityChecker.check(history);
        if (!result.ok()) throw new AssertionError("history is not linearizable (" + result.verdict() + "): " + result.explanation());
    }

    /**
     * A serializable read returns a value that some write put there (and never one written only after the
     * read completed), and one node's answers for a key never go back: a later read on the same node does not
     * return a value whose write finished before the write of a value it returned earlier even began.
     */
    private void checkSerializableReads() {
        Map<String, Operation> writeOf = new HashMap<>();
        synchronized (history) {
            for (Operation op : history) if (op.kind() == Operation.Kind.PUT) writeOf.put(op.input(), op);
        }
        Map<String, LocalRead> lastSeen = new HashMap<>();
        List<LocalRead> reads;
        synchronized (localReads) {
            reads = new ArrayList<>(localReads);
        }
        reads.sort((a, b) -> Long.compare(a.invoke(), b.invoke()));
        for (LocalRead r : reads) {
            if (r.value() == null) continue;
            Operation w = writeOf.get(r.value());
            if (w == null) {
                // A put that failed definitely was not recorded: a value it carried must never be read.
                throw new AssertionError("node " + r.node() + " returned " + r.key() + "=" + r.value() + ", a value no recorded write put there");
            }
            if (w.invokeTime() > r.complete()) throw new AssertionError("node " + r.node() + " returned " + r.value() + " before it was written");
            String slot = r.node() + "/" + r.key();
            LocalRead before = lastSeen.get(slot);
            if (before != null && before.complete() < r.invoke()) {
                Operation earlier = writeOf.get(before.value());
                if (w.completeTime() < earlier.invokeTime()) {
                    throw new AssertionError("node " + r.node() + " went back on " + r.key() + ": returned " + before.value() + ", later " + r.value()
                            + ", which was overwritten before " + before.value() + " was even written");
                }
            }
            lastSeen.put(slot, r);
        }
    }

    private Path writeHistory() {
        try {
            Path out = Path.of("target", "chaos-" + seed + "-history.txt").toAbsolutePath();
            Files.createDirectories(out.getParent());
            List<String> lines = new ArrayList<>();
            lines.add("# chaos seed " + seed + ", " + size + " nodes, " + seconds + " s");
            lines.add("# timeline");
            synchronized (timeline) {
                lines.addAll(timeline);
            }
            lines.add("# linearizable operations (times in ns, System.nanoTime)");
            synchronized (history) {
                history.forEach(op -> lines.add(op.toString()));
            }
            lines.add("# serializable reads");
            synchronized (localReads) {
                localReads.forEach(r -> lines.add(r.toString()));
            }
            lines.add("# CAS-counter increments, then each CAS client's answers in its order (header revision)");
            if (cas != null) lines.addAll(cas.dump());
            lines.add("# lock sections (nanoTime), each with its fenced writes and how its unlock ended");
            if (locks != null) lines.addAll(locks.dump());
            Files.write(out, lines);
            for (int id = 1; id <= size; id++) Files.writeString(Path.of("target", "chaos-" + seed + "-node" + id + ".log"), cluster.log(id));
            return out;
        } catch (IOException e) {
            return Path.of("(could not write the history: " + e.getMessage() + ")");
        }
    }
}
