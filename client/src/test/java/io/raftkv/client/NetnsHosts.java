package io.raftkv.client;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Separate hosts on one Linux machine, for tests: a bridge and one network namespace per host, each with its own
 * loopback and one veth ({@code eth0} inside) into the bridge, addressed {@code 10.B.C.i/24} on a /24 that no address
 * or route of the machine overlaps. The bridge itself has {@code 10.B.C.254} in the root namespace: the test JVM
 * (its clients) reaches the hosts directly, as a machine on the same LAN would. (The alternative, clients in a
 * namespace of their own, would need a second JVM: the test's threads cannot change namespace.)
 *
 * <p>Partitions are made by routing, the way a broken switch or a firewall rule looks to the hosts: {@link #cut}
 * adds a {@code blackhole} route for the other host's /32 inside each of the two namespaces, so nothing the one sends
 * reaches the other (TCP sees its segments go nowhere; a new connect fails with EINVAL); {@link #heal} deletes them.
 * No iptables: routes are enough, and the namespace's own table is all they touch. {@link #silence} is the silent drop
 * of a dead switch port: the host's veth end on the bridge goes down, and what either side sends is dropped without a
 * word (no route error, no ICMP, no reset; this kernel has neither netem nor tc filters to do it per pair). ARP entries between the hosts and the bridge are static, so the cut drops IP packets only, as a firewall does: with ARP cut too, the kernel asked again only every second, and a healed node waited up to a second more.
 *
 * <p>{@link #start} runs a command on a host with {@code ip netns exec NS}, which enters the namespace and then
 * {@code exec}s the command: the pid the {@link Process} holds is the command's own (checked: {@code /proc/PID/exe} is
 * the command after the exec, and {@code /proc/PID/ns/net} is the host's namespace), so SIGKILL and SIGTERM through the
 * process handle reach it directly.
 *
 * <p>Every name starts with {@code rkv<pid><letter>} (pid of this JVM, a letter per instance): {@link #close} kills the
 * processes it started (by pid) and deletes its namespaces, veth pairs and bridge, and a new instance first deletes
 * what a crashed earlier run left (names of that form whose JVM is gone). Only root can do any of this: see
 * {@link #unavailableReason()}.
 */
final class NetnsHosts implements AutoCloseable {

    /** The address of host {@code i} is 10.B.C.i; the bridge (the test JVM's side) is 10.B.C.254. */
    static final int HOSTS_MAX = 253;
    private static final int BRIDGE_HOST = 254;
    private static final String NAME_PREFIX = "rkv";
    /** rkv, a pid, a letter per instance; then "br", "h<i>" (a veth's bridge end) or "-<i>" (a namespace). */
    private static final Pattern OURS = Pattern.compile(NAME_PREFIX + "(\\d+)([a-z])(br|h\\d+|-\\d+)");
    private static final Duration COMMAND_DEADLINE = Duration.ofSeconds(20);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** Prefixes of the instances of this JVM still open: a name of this JVM's pid with another prefix is stale. */
    private static final Set<String> OPEN = ConcurrentHashMap.newKeySet();
    private static volatile Optional<String> probe;

    private final String prefix;
    private final String subnet; // "10.B.C."
    private final String bridge;
    private final Set<Integer> hosts = Collections.synchronizedSet(new java.util.TreeSet<>());
    /** Routes added by partitions: namespace -> destinations, so that heal() deletes exactly those. */
    private final Map<String, Set<String>> cuts = new TreeMap<>();
    /** Hosts whose veth end on the bridge is down ({@link #silence}). */
    private final Set<Integer> silenced = new java.util.TreeSet<>();
    private final List<Process> processes = Collections.synchronizedList(new ArrayList<>());
    /** Each host's MAC address (its eth0), for the static ARP entries. */
    private final Map<Integer, String> macs = new TreeMap<>();

    /** Creates the bridge and hosts 1..{@code count}; more may be added later ({@link #addHost}). */
    NetnsHosts(int count) throws IOException {
        int n = INSTANCES.getAndIncrement();
        this.prefix = NAME_PREFIX + ProcessHandle.current().pid() + (char) ('a' + n % 25);
        if (prefix.length() + 4 > 15) throw new IllegalStateException("interface names would pass 15 characters: " + prefix);
        removeStale();
        OPEN.add(prefix);
        this.bridge = prefix + "br";
        try {
            this.subnet = freeSubnet();
            ip("link", "add", bridge, "type", "bridge");
            // Set by hand, a bridge's MAC stays: else it follows its ports' lowest, and the static ARP entries go stale.
            ip("link", "set", bridge, "address", mac(bridge));
            ip("addr", "add", subnet + BRIDGE_HOST + "/24", "dev", bridge);
            ip("link", "set", bridge, "up");
            for (int i = 1; i <= count; i++) addHost();
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Null when hosts can be made here; otherwise why not (not Linux, not root, no {@code ip}, or the kernel refused). */
    static String unavailableReason() {
        Optional<String> p = probe;
        if (p == null) {
            p = Optional.ofNullable(probeNow());
            probe = p;
        }
        return p.orElse(null);
    }

    static boolean available() {
        return unavailableReason() == null;
    }

    private static String probeNow() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return "network namespaces are Linux's; this is " + System.getProperty("os.name");
        }
        try {
            Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (!Integer.valueOf(0).equals(uid)) return "making network namespaces, a bridge and routes needs root; this test runs as uid " + uid;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "cannot tell whether this runs as root: " + e.getMessage();
        }
        try {
            String version = run(List.of("ip", "-V"), false);
            if (!version.contains("iproute2")) return "'ip' is not iproute2's: " + version.strip();
        } catch (IOException e) {
            return "iproute2's 'ip' command is not installed (" + e.getMessage() + ")";
        }
        // A throwaway namespace with a veth into a throwaway bridge: what the tests need, made and deleted.
        String p = NAME_PREFIX + ProcessHandle.current().pid() + "z";
        try {
            removeStale();
            try {
                ip("netns", "add", p + "-1");
                ip("link", "add", p + "br", "type", "bridge");
                ip("link", "add", p + "h1", "type", "veth", "peer", "name", "eth0", "netns", p + "-1");
                ip("link", "set", p + "h1", "master", p + "br");
                ip("-n", p + "-1", "route", "add", "blackhole", "10.255.255.1/32");
            } finally {
                run(List.of("ip", "link", "del", p + "h1"), true);
                run(List.of("ip", "link", "del", p + "br"), true);
                run(List.of("ip", "netns", "del", p + "-1"), true);
            }
            return null;
        } catch (IOException e) {
            return "the kernel refused a network namespace, veth pair, bridge or route (a container without "
                    + "CAP_NET_ADMIN or CAP_SYS_ADMIN?): " + e.getMessage();
        }
    }

    // ------------------------------------------------------------------ hosts

    /** Adds a host (namespace, veth into the bridge, address, loopback up) and returns its index. */
    synchronized int addHost() throws IOException {
        int i = 1;
        while (hosts.contains(i)) i++;
        if (i > HOSTS_MAX) throw new IllegalStateException("at most " + HOSTS_MAX + " hosts on a /24");
        String ns = namespace(i);
        hosts.add(i); // before it is complete, so that close() deletes a half-made host too
        ip("netns", "add", ns);
        ip("-n", ns, "link", "set", "lo", "up");
        ip("link", "add", veth(i), "type", "veth", "peer", "name", "eth0", "netns", ns);
        ip("link", "set", veth(i), "master", bridge);
        ip("link", "set", veth(i), "up");
        ip("-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0");
        ip("-n", ns, "link", "set", "eth0", "up");
        staticArp(i);
        return i;
    }

    /**
     * Static ARP entries between host {@code i} and every other host, and the bridge (the test JVM), both ways. A silent
     * cut takes a host's port down, which stops ARP too, and the kernel asks again for an address it could not resolve
     * only every second: a delay that a firewall dropping IP packets (what the cut stands for) does not add, and that
     * made a healed node wait up to a second more for its first packet. With the addresses known, only IP is dropped.
     */
    private void staticArp(int i) throws IOException {
        String mac = mac("-n", namespace(i), "eth0");
        String bridgeMac = mac(bridge);
        for (int j : hosts()) {
            if (j == i || !macs.containsKey(j)) continue;
            ip("-n", namespace(i), "neigh", "replace", address(j), "lladdr", macs.get(j), "nud", "permanent", "dev", "eth0");
            ip("-n", namespace(j), "neigh", "replace", address(i), "lladdr", mac, "nud", "permanent", "dev", "eth0");
        }
        ip("-n", namespace(i), "neigh", "replace", bridgeAddress(), "lladdr", bridgeMac, "nud", "permanent", "dev", "eth0");
        ip("neigh", "replace", address(i), "lladdr", mac, "nud", "permanent", "dev", bridge);
        macs.put(i, mac);
    }

    /** The MAC address of a link: {@code ip [-n NS] -br link show DEV}'s third column. */
    private static String mac(String... nsAndDevice) throws IOException {
        List<String> args = new ArrayList<>(List.of(nsAndDevice));
        args.add(args.size() - 1, "-br");
        args.add(args.size() - 1, "link");
        args.add(args.size() - 1, "show");
        String[] columns = ip(args.toArray(new String[0])).strip().split("\\s+");
        if (columns.length < 3 || !columns[2].matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}")) throw new IOException("no MAC address in: " + String.join(" ", columns));
        return columns[2];
    }

    List<Integer> hosts() {
        synchronized (hosts) {
            return List.copyOf(hosts);
        }
    }

    String namespace(int host) {
        return prefix + "-" + host;
    }

    private String veth(int host) {
        return prefix + "h" + host;
    }

    /** "10.B.C.i" */
    String address(int host) {
        return subnet + host;
    }

    InetSocketAddress endpoint(int host, int port) {
        return new InetSocketAddress(address(host), port);
    }

    /** The test JVM's address on the bridge. */
    String bridgeAddress() {
        return subnet + BRIDGE_HOST;
    }

    String subnet() {
        return subnet + "0/24";
    }

    // ------------------------------------------------------------------ partitions

    /** Hosts {@code a} and {@code b} no longer reach each other, both ways: a blackhole route in each namespace. */
    synchronized void cut(int a, int b) throws IOException {
        block(a, address(b));
        block(b, address(a));
    }

    /** Host {@code h} reaches none of the other hosts (the test JVM still reaches it). */
    synchronized void isolate(int h) throws IOException {
        for (int other : hosts()) if (other != h) cut(h, other);
    }

    /** Host {@code h} no longer answers the test JVM (its clients' connections hang, new ones fail). */
    synchronized void cutFromClients(int h) throws IOException {
        block(h, bridgeAddress());
    }

    private void block(int host, String destination) throws IOException {
        Set<String> routes = cuts.computeIfAbsent(namespace(host), k -> new LinkedHashSet<>());
        if (routes.add(destination)) ip("-n", namespace(host), "route", "add", "blackhole", destination + "/32");
    }

    /**
     * Host {@code h} is cut off from everyone, the test JVM too, and hears nothing of it: its port on the bridge goes down,
     * and every packet to or from it is dropped silently, as a firewall or a dead switch does.
     */
    synchronized void silence(int h) throws IOException {
        if (silenced.add(h)) ip("link", "set", veth(h), "down");
    }

    /** Deletes every route a partition added, and brings silenced ports up. */
    synchronized void heal() throws IOException {
        IOException first = null;
        for (int h : silenced) {
            try {
                ip("link", "set", veth(h), "up");
            } catch (IOException failed) {
                first = failed;
            }
        }
        silenced.clear();
        for (Map.Entry<String, Set<String>> e : cuts.entrySet()) {
            for (String destination : e.getValue()) {
                try {
                    ip("-n", e.getKey(), "route", "del", "blackhole", destination + "/32");
                } catch (IOException failed) {
                    if (first == null) first = failed;
                }
            }
        }
        cuts.clear();
        if (first != null) throw first;
    }

    /** The blackhole routes in place, for a report: "ns: dest dest", and the silenced hosts. */
    synchronized String partitions() {
        return cuts + (silenced.isEmpty() ? "" : ", silenced hosts " + silenced);
    }

    // ------------------------------------------------------------------ processes

    /**
     * Runs {@code command} on host {@code host} ({@code ip netns exec NS command...}), output appended to {@code log}.
     * Returns once the process is the command itself in the host's namespace (or has already exited).
     */
    Process start(int host, List<String> command, Path log) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", namespace(host)));
        full.addAll(command);
        ProcessBuilder pb = new ProcessBuilder(full);
        pb.redirectErrorStream(true);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process p = pb.start();
        processes.add(p);
        String executable = Path.of(command.get(0)).getFileName().toString();
        checkExecedInNamespace(p, executable, host);
        return p;
    }

    /**
     * {@code ip netns exec} enters the namespace and execs the command, keeping its pid: once {@code /proc/PID/exe}
     * is the command, the pid the test holds is the command's, and its network namespace must be the host's.
     */
    private void checkExecedInNamespace(Process p, String executable, int host) throws IOException {
        Path exe = Path.of("/proc", String.valueOf(p.pid()), "exe");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                if (Files.readSymbolicLink(exe).getFileName().toString().equals(executable)) break;
            } catch (IOException gone) {
                if (!p.isAlive()) return; // it exited already (e.g. refused to start): the caller reads its log
            }
            if (!p.isAlive()) return;
            if (System.nanoTime() > end) throw new IOException("pid " + p.pid() + " is still not " + executable + " after 10 s: ip netns exec did not exec?");
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
        try {
            String ns = Files.readSymbolicLink(Path.of("/proc", String.valueOf(p.pid()), "ns", "net")).toString(); // "net:[4026532...]"
            Object inode = Files.getAttribute(Path.of("/var/run/netns", namespace(host)), "unix:ino");
            if (!ns.equals("net:[" + inode + "]")) {
                p.destroyForcibly();
                throw new IOException("pid " + p.pid() + " runs in " + ns + ", not in " + namespace(host) + " (inode " + inode + ")");
            }
        } catch (IOException e) {
            if (p.isAlive()) throw e;
        }
    }

    // ------------------------------------------------------------------ clean-up

    /** Kills (SIGKILL, by pid) every process it started and every process left in its namespaces; deletes all it made. */
    @Override
    public synchronized void close() {
        List<String> problems = new ArrayList<>();
        synchronized (processes) {
            for (Process p : processes) {
                if (p.isAlive()) p.destroyForcibly();
            }
            for (Process p : processes) {
                try {
                    if (!p.waitFor(30, TimeUnit.SECONDS)) problems.add("pid " + p.pid() + " did not die");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        for (int h : hosts()) {
            killProcessesIn(namespace(h));
            deleteQuietly(problems, "link", "del", veth(h));
            deleteQuietly(problems, "netns", "del", namespace(h));
        }
        hosts.clear();
        cuts.clear();
        deleteQuietly(problems, "link", "del", bridge);
        OPEN.remove(prefix);
        if (!problems.isEmpty()) System.err.println("NetnsHosts " + prefix + " clean-up: " + problems);
    }

    private static void deleteQuietly(List<String> problems, String... args) {
        try {
            String out = run(concat(args), true);
            if (!out.isBlank() && !out.contains("Cannot find device") && !out.contains("No such file")) problems.add(String.join(" ", args) + ": " + out.strip());
        } catch (IOException e) {
            problems.add(String.join(" ", args) + ": " + e.getMessage());
        }
    }

    private static void killProcessesIn(String ns) {
        try {
            for (String pid : run(List.of("ip", "netns", "pids", ns), true).split("\\s+")) {
                if (!pid.matches("\\d+")) continue;
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(h -> {
                    h.destroyForcibly();
                    h.onExit().completeOnTimeout(h, 30, TimeUnit.SECONDS).join();
                });
            }
        } catch (IOException ignored) {
            // No such namespace.
        }
    }

    /**
     * Deletes namespaces, veths and bridges named by an earlier run whose JVM is gone (or by an instance of this JVM
     * that is closed), killing by pid any process still running in such a namespace.
     */
    static synchronized void removeStale() throws IOException {
        for (String line : run(List.of("ip", "netns", "list"), false).split("\n")) {
            String name = line.strip().split("\\s+")[0];
            if (isStale(name)) {
                killProcessesIn(name);
                run(List.of("ip", "netns", "del", name), true);
            }
        }
        List<String> links = new ArrayList<>();
        for (String line : run(List.of("ip", "-o", "link", "show"), false).split("\n")) {
            String[] parts = line.split(":\\s+", 3);
            if (parts.length < 2) continue;
            String name = parts[1].split("@")[0];
            if (isStale(name)) links.add(name);
        }
        // veths first (deleting one end deletes the pair), then bridges
        links.sort((x, y) -> Boolean.compare(x.endsWith("br"), y.endsWith("br")));
        for (String name : links) run(List.of("ip", "link", "del", name), true);
    }

    private static boolean isStale(String name) {
        Matcher m = OURS.matcher(name);
        if (!m.matches()) return false;
        long pid = Long.parseLong(m.group(1));
        String prefix = NAME_PREFIX + m.group(1) + m.group(2);
        if (pid == ProcessHandle.current().pid()) return !OPEN.contains(prefix) && !m.group(2).equals("z");
        Optional<ProcessHandle> owner = ProcessHandle.of(pid);
        // A live process of that pid that is not a JVM took the pid of a dead run.
        return owner.isEmpty() || !owner.get().isAlive() || !owner.get().info().command().map(c -> c.endsWith("java")).orElse(true);
    }

    /** A 10.B.C.0/24 that no address or route of the root namespace overlaps; B and C derived from the pid. */
    private static String freeSubnet() throws IOException {
        List<int[]> taken = new ArrayList<>(); // {network, prefix length}
        String text = run(List.of("ip", "-4", "-o", "addr", "show"), false) + "\n" + run(List.of("ip", "-4", "route", "show", "table", "all"), false);
        Matcher m = Pattern.compile("(\\d+\\.\\d+\\.\\d+\\.\\d+)(?:/(\\d+))?").matcher(text);
        while (m.find()) {
            int length = m.group(2) == null ? 32 : Integer.parseInt(m.group(2));
            taken.add(new int[] {ipv4(m.group(1)), length});
        }
        long pid = ProcessHandle.current().pid();
        for (int attempt = 0; attempt < 10_000; attempt++) {
            long x = pid * 7919 + attempt * 104_729L;
            int b = 100 + (int) (x % 150); // 10.100.0.0 - 10.249.255.0
            int c = (int) ((x / 150) % 256);
            int network = ipv4("10." + b + "." + c + ".0");
            boolean free = true;
            for (int[] t : taken) {
                int length = Math.min(24, t[1]);
                int mask = length == 0 ? 0 : -1 << (32 - length);
                if ((t[0] & mask) == (network & mask)) {
                    free = false;
                    break;
                }
            }
            if (free) return "10." + b + "." + c + ".";
        }
        throw new IOException("no free 10.x.y.0/24 among the ones tried");
    }

    private static int ipv4(String dotted) {
        String[] p = dotted.split("\\.");
        return Integer.parseInt(p[0]) << 24 | Integer.parseInt(p[1]) << 16 | Integer.parseInt(p[2]) << 8 | Integer.parseInt(p[3]);
    }

    // ------------------------------------------------------------------ commands

    private static List<String> concat(String... args) {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        return c;
    }

    private static String ip(String... args) throws IOException {
        return run(concat(args), false);
    }

    /** Runs a command to its end; its output (stdout and stderr). {@code tolerant}: a failure returns the output instead of throwing. */
    private static String run(List<String> command, boolean tolerant) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = p.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e.getMessage() + ")";
            }
        });
        try {
            if (!p.waitFor(COMMAND_DEADLINE.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish in " + COMMAND_DEADLINE.toSeconds() + " s");
            }
            String out = output.get(5, TimeUnit.SECONDS);
            if (p.exitValue() != 0 && !tolerant) throw new IOException(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + out.strip());
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted: " + String.join(" ", command), e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IOException(String.join(" ", command) + ": output not read", e);
        }
    }
}
