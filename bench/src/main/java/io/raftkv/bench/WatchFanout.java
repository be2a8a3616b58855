package io.raftkv.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Watch fan-out, {@code bench/watch.sh}: one writer puts at a fixed rate on keys under one prefix while
 * {@code --watchers} watches of that prefix, spread over the cluster's nodes, receive every event. Both sides run in
 * this JVM, so the writer puts {@link System#nanoTime()} in each value and a watcher's latency is "put issued → event
 * handed to the listener" on one clock. Against raftkv ({@link io.raftkv.client.RaftKvClient}) or etcd (jetcd).
 *
 * <p>A run: open the watches; put a sync marker every 200 ms until every watch has seen one (so every watch is
 * established before the counted puts); {@code --warmup-seconds} of puts at the rate (delivered and checked, latency
 * not recorded); {@code --seconds} measured; wait for the puts in flight; then wait (up to {@code --drain-seconds}) until
 * every watch has every acknowledged put and no event came for a second. Each value is {@code [sequence u64][nanoTime u64]} padded to
 * {@code --value-size}; each watch keeps a bit per sequence, so it can count what it missed (acknowledged puts it never
 * saw), what it saw twice, and events that came with a revision not above the previous one (out of order).
 *
 * <p>The writer is paced, not a closed loop: put {@code n} is issued at {@code start + n / rate} (late ones at once),
 * without waiting for the previous answer, up to {@value #PUTS_IN_FLIGHT_MAX} in flight. CPU: user + system time of the
 * processes {@code --pids} names (the nodes) and of this JVM, from {@code /proc/PID/stat}, over the measured seconds.
 */
public final class WatchFanout {

    private static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    /** Puts without an answer yet, at most: past it the writer waits (and counts the wait), rather than queue without bound. */
    static final int PUTS_IN_FLIGHT_MAX = 10_000;
    private static final long SYNC_INTERVAL_MS = 200;
    private static final long SYNC_TIMEOUT_MS = 120_000;
    private static final int VALUE_HEADER_BYTES = 16;
    /** Distinct keys the writer cycles over, under the prefix. */
    static final int KEYS = 1_000;

    record Options(String target, List<String> endpoints, int watchers, int clients, boolean pinned, int rate, double seconds,
                   double warmupSeconds, double drainSeconds, String prefix, int keySize, int valueSize, List<Long> pids, int clockTicks,
                   Path json, Path hgrmDir) {

        static Options parse(String[] args) {
            String target = "raftkv";
            String endpoints = null;
            int watchers = 1_000;
            int clients = 30;
            boolean pinned = true;
            int rate = 1_000;
            double seconds = 20;
            double warmup = 5;
            double drain = 30;
            String prefix = "watchbench/";
            int keySize = 16;
            int valueSize = 32;
            List<Long> pids = List.of();
            int clockTicks = 100;
            Path json = null;
            Path hgrmDir = null;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--help") || flag.equals("-h")) throw new LoadGenerator.UsageException(null);
                if (i + 1 >= args.length) throw new LoadGenerator.UsageException(flag + " needs a value");
                String v = args[++i];
                try {
                    switch (flag) {
                        case "--target" -> target = v;
                        case "--endpoints" -> endpoints = v;
                        case "--watchers" -> watchers = Integer.parseInt(v);
                        case "--clients" -> clients = Integer.parseInt(v);
                        case "--placement" -> {
                            if (!v.equals("pinned") && !v.equals("random")) throw new LoadGenerator.UsageException("--placement is pinned or random");
                            pinned = v.equals("pinned");
                        }
                        case "--rate" -> rate = Integer.parseInt(v);
                        case "--seconds" -> seconds = Double.parseDouble(v);
                        case "--warmup-seconds" -> warmup = Double.parseDouble(v);
                        case "--drain-seconds" -> drain = Double.parseDouble(v);
                        case "--prefix" -> prefix = v;
                        case "--key-size" -> keySize = Integer.parseInt(v);
                        case "--value-size" -> valueSize = Integer.parseInt(v);
                        case "--pids" -> pids = Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
                        case "--clock-ticks" -> clockTicks = Integer.parseInt(v);
                        case "--json" -> json = Path.of(v);
                        case "--hgrm-dir" -> hgrmDir = Path.of(v);
                        default -> throw new LoadGenerator.UsageException("unknown flag " + flag);
                    }
                } catch (NumberFormatException e) {
                    throw new LoadGenerator.UsageException(flag + " needs a number, got '" + v + "'");
                }
            }
            if (!target.equals("raftkv") && !target.equals("etcd")) throw new LoadGenerator.UsageException("--target is raftkv or etcd");
            if (endpoints == null) throw new LoadGenerator.UsageException("--endpoints is required");
            if (watchers < 1 || clients < 1 || rate < 1 || seconds <= 0 || warmup < 0 || drain < 0 || clockTicks < 1) {
                throw new LoadGenerator.UsageException("--watchers, --clients, --rate, --seconds and --clock-ticks must be positive");
            }
            if (!pinned && target.equals("etcd")) throw new LoadGenerator.UsageException("--placement random is for raftkv (jetcd balances over its endpoints)");
            if (valueSize < VALUE_HEADER_BYTES) throw new LoadGenerator.UsageException("--value-size must be at least " + VALUE_HEADER_BYTES);
            if (prefix.length() + String.valueOf(KEYS - 1).length() > keySize) {
                throw new LoadGenerator.UsageException("--key-size " + keySize + " cannot hold --prefix '" + prefix + "' and " + String.valueOf(KEYS - 1).length() + " digits");
            }
            List<String> list = Arrays.stream(endpoints.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            return new Options(target, list, watchers, Math.min(clients, watchers), pinned, rate, seconds, warmup, drain, prefix, keySize, valueSize,
                    pids, clockTicks, json, hgrmDir);
        }
    }

    static String usage() {
        return "usage: WatchFanout --endpoints HOST:PORT,... [--target raftkv|etcd] [--watchers N] [--clients N] [--placement pinned|random]\n"
                + "         [--rate PUTS_PER_S] [--seconds S] [--warmup-seconds S] [--drain-seconds S] [--prefix P] [--key-size B]\n"
                + "         [--value-size B] [--pids PID,...] [--clock-ticks HZ] [--json FILE] [--hgrm-dir DIR]";
    }

    /** One watch's tally; written by the thread its client library calls listeners on, read at the end. */
    private static final class Tally implements FanoutWatchers.Sink {
        private final Run run;
        private final Recorder latency;
        private final Recorder spread;
        private final BitSet seen = new BitSet();
        private long lastRevision;
        private long duplicates;
        private long outOfOrder;
        private volatile boolean synced;
        private volatile String failure;

        Tally(Run run, Recorder latency, Recorder spread) {
            this.run = run;
            this.latency = latency;
            this.spread = spread;
        }

        @Override
        public void event(long revision, byte[] value) {
            long now = System.nanoTime();
            ByteBuffer v = ByteBuffer.wrap(value);
            long seq = v.getLong(0);
            long issued = v.getLong(8);
            synchronized (this) {
                if (revision <= lastRevision) outOfOrder++;
                lastRevision = Math.max(lastRevision, revision);
                if (seq < 0) {
                    synced = true;
                    return;
                }
                if (seen.get((int) seq)) {
                    duplicates++;
                    return;
                }
                seen.set((int) seq);
            }
            run.eventsDelivered.incrementAndGet();
            long measureStart = run.measureStartNanos;
            if (measureStart != 0 && issued - measureStart >= 0) {
                latency.recordValue(Math.min(LATENCY_MICROS_MAX, Math.max(0, (now - issued) / 1000)));
                run.eventsMeasured.incrementAndGet();
                // The fan-out's own spread: how long after the first watch to get this put's event this one got it.
                if (seq < run.firstDelivered.length()) {
                    long first = run.firstDelivered.compareAndExchange((int) seq, 0, now);
                    spread.recordValue(first == 0 ? 0 : Math.min(LATENCY_MICROS_MAX, Math.max(0, (now - first) / 1000)));
                }
            }
        }

        @Override
        public void failed(String reason) {
            if (failure == null) failure = reason;
        }

        /** Acknowledged puts this watch has not seen. */
        synchronized int missing(BitSet acked) {
            BitSet m = (BitSet) acked.clone();
            m.andNot(seen);
            return m.cardinality();
        }

        /** Events of puts that were not acknowledged (failed, yet applied). */
        synchronized int extra(BitSet acked) {
            BitSet m = (BitSet) seen.clone();
            m.andNot(acked);
            return m.cardinality();
        }
    }

    /** The state of one run. */
    private static final class Run {
        final Options o;
        final KvTarget writer;
        final FanoutWatchers watchers;
        final List<Tally> tallies = new ArrayList<>();
        final Recorder[] latencyByClient;
        final Recorder putLatency = new Recorder(LATENCY_MICROS_MAX, 3);
        /** One per client, as {@link #latencyByClient}: a client library calls a client's listeners from few threads. */
        final Recorder[] spreadByClient;
        /** When the first watch got each put's event (0: none yet), by sequence. */
        final AtomicLongArray firstDelivered;
        final Semaphore inFlight = new Semaphore(PUTS_IN_FLIGHT_MAX);
        final BitSet acked = new BitSet();
        final BitSet failed = new BitSet();
        final AtomicLong eventsDelivered = new AtomicLong();
        final AtomicLong eventsMeasured = new AtomicLong();
        final AtomicLong putsMeasured = new AtomicLong();
        volatile long measureStartNanos;
        volatile String firstPutError;
        long issued;
        long writerWaits;
        long lateMicrosMax;

        Run(Options o, KvTarget writer, FanoutWatchers watchers) {
            this.o = o;
            this.writer = writer;
            this.watchers = watchers;
            this.firstDelivered = new AtomicLongArray((int) Math.min(Integer.MAX_VALUE - 8, totalPuts(o)));
            this.latencyByClient = new Recorder[o.clients()];
            this.spreadByClient = new Recorder[o.clients()];
            for (int i = 0; i < latencyByClient.length; i++) {
                latencyByClient[i] = new Recorder(LATENCY_MICROS_MAX, 3);
                spreadByClient[i] = new Recorder(LATENCY_MICROS_MAX, 3);
            }
        }

        static long totalPuts(Options o) {
            return (long) (o.warmupSeconds() * o.rate()) + (long) (o.seconds() * o.rate());
        }

        byte[] key(long seq) {
            byte[] key = LoadGenerator.key((int) (seq % KEYS), o.keySize());
            byte[] prefix = o.prefix().getBytes(StandardCharsets.UTF_8);
            System.arraycopy(prefix, 0, key, 0, prefix.length);
            return key;
        }

        byte[] value(long seq, long nanos) {
            return ByteBuffer.allocate(o.valueSize()).putLong(0, seq).putLong(8, nanos).array();
        }

        /** Issues put {@code seq} now; its answer is recorded in {@link #acked} or {@link #failed}. */
        void put(long seq, boolean measured) throws InterruptedException {
            if (!inFlight.tryAcquire()) {
                writerWaits++;
                inFlight.acquire();
            }
            long t0 = System.nanoTime();
            writer.put(key(seq), value(seq, t0)).whenComplete((ok, error) -> {
                long t1 = System.nanoTime();
                synchronized (acked) {
                    if (error == null) acked.set((int) seq);
                    else failed.set((int) seq);
                }
                if (error != null && firstPutError == null) firstPutError = String.valueOf(error);
                if (error == null && measured) {
                    putLatency.recordValue(Math.min(LATENCY_MICROS_MAX, (t1 - t0) / 1000));
                    putsMeasured.incrementAndGet();
                }
                inFlight.release();
            });
        }

        Result run(PrintStream progress) throws Exception {
            // The writer's connections are open before counting those the watch clients open.
            byte[] syncKey = (o.prefix() + "sync").getBytes(StandardCharsets.UTF_8);
            writer.put(syncKey, value(-1, System.nanoTime())).get(10, TimeUnit.SECONDS);
            Thread.sleep(500); // jetcd's round-robin connects to every endpoint, not only the one that answered
            Map<Integer, Integer> connectionsBefore = connectionsByPort();
            byte[] prefix = o.prefix().getBytes(StandardCharsets.UTF_8);
            for (int i = 0; i < o.watchers(); i++) {
                Tally t = new Tally(this, latencyByClient[i % o.clients()], spreadByClient[i % o.clients()]);
                tallies.add(t);
                watchers.open(i, prefix, t);
            }
            // Every watch established: each has seen a sync marker (sequence -1), put until all have.
            long syncStart = System.nanoTime();
            while (true) {
                writer.put(syncKey, value(-1, System.nanoTime())).get(10, TimeUnit.SECONDS);
                Thread.sleep(SYNC_INTERVAL_MS);
                long synced = tallies.stream().filter(t -> t.synced).count();
                if (synced == tallies.size()) break;
                String failure = tallies.stream().map(t -> t.failure).filter(f -> f != null).findFirst().orElse(null);
                if (failure != null) throw new IllegalStateException("a watch failed before it was established: " + failure);
                if (System.nanoTime() - syncStart > TimeUnit.MILLISECONDS.toNanos(SYNC_TIMEOUT_MS)) {
                    throw new IllegalStateException("only " + synced + " of " + tallies.size() + " watches established after " + SYNC_TIMEOUT_MS / 1000 + " s");
                }
            }
            progress.printf(Locale.ROOT, "%s: %d watches on %d clients established in %.1f s%n", o.target(), o.watchers(), o.clients(),
                    (System.nanoTime() - syncStart) / 1e9);
            Map<Integer, Integer> connectionsAfter = connectionsByPort();
            String placement = placement(connectionsBefore, connectionsAfter);
            progress.println(o.target() + ": " + placement);

            long periodNanos = 1_000_000_000L / o.rate();
            long warmupPuts = (long) (o.warmupSeconds() * o.rate());
            long totalPuts = totalPuts(o);
            long[] cpuBefore = null;
            long[] machineBefore = null;
            long cpuWallBefore = 0;
            long start = System.nanoTime();
            long lastReport = start;
            long lastEvents = 0;
            for (long seq = 0; seq < totalPuts; seq++) {
                long due = start + seq * periodNanos;
                long now;
                while ((now = System.nanoTime()) < due) LockSupport.parkNanos(due - now);
                boolean measured = seq >= warmupPuts;
                if (seq == warmupPuts) {
                    cpuBefore = cpuTicks(o.pids());
                    machineBefore = machineTicks();
                    cpuWallBefore = System.nanoTime();
                    measureStartNanos = cpuWallBefore;
                }
                if (measured) lateMicrosMax = Math.max(lateMicrosMax, (now - due) / 1000);
                put(seq, measured);
                issued = seq + 1;
                if (now - lastReport >= 1_000_000_000L) {
                    long events = eventsDelivered.get();
                    progress.printf(Locale.ROOT, "\r%s: %5.1f s  %,d puts  %,d events/s  %d puts in flight   ", o.target(), (now - start) / 1e9, issued,
                            (long) ((events - lastEvents) / ((now - lastReport) / 1e9)), PUTS_IN_FLIGHT_MAX - inFlight.availablePermits());
                    lastEvents = events;
                    lastReport = now;
                }
            }
            long writeEnd = System.nanoTime();
            if (cpuBefore == null) {
                cpuBefore = cpuTicks(o.pids());
                machineBefore = machineTicks();
                cpuWallBefore = writeEnd;
            }
            long[] cpuAfter = cpuTicks(o.pids());
            long[] machineAfter = machineTicks();
            String machine = machineShare(machineBefore, machineAfter);
            double cpuSeconds = (System.nanoTime() - cpuWallBefore) / 1e9;
            progress.println();
            if (!inFlight.tryAcquire(PUTS_IN_FLIGHT_MAX, 60, TimeUnit.SECONDS)) throw new IllegalStateException("puts still unanswered 60 s after the last");
            inFlight.release(PUTS_IN_FLIGHT_MAX);

            // Drain: until every watch has every acknowledged put, or the time is up.
            BitSet ackedNow;
            synchronized (acked) {
                ackedNow = (BitSet) acked.clone();
            }
            long drainStart = System.nanoTime();
            long missing;
            while (true) {
                missing = 0;
                for (Tally t : tallies) missing += t.missing(ackedNow);
                if (missing == 0 || System.nanoTime() - drainStart > (long) (o.drainSeconds() * 1e9)) break;
                Thread.sleep(100);
            }
            // Events of puts that failed (timed out) may still come, and would miss the histograms: wait for a quiet second.
            long quietSince = System.nanoTime();
            long seenEvents = eventsDelivered.get();
            while (System.nanoTime() - quietSince < 1_000_000_000L && System.nanoTime() - drainStart <= (long) (o.drainSeconds() * 1e9)) {
                Thread.sleep(100);
                long now = eventsDelivered.get();
                if (now != seenEvents) {
                    seenEvents = now;
                    quietSince = System.nanoTime();
                }
            }
            double drainSeconds = (System.nanoTime() - drainStart) / 1e9;
            long duplicates = 0;
            long outOfOrder = 0;
            long extra = 0;
            long failedWatches = 0;
            String firstFailure = null;
            for (Tally t : tallies) {
                synchronized (t) {
                    duplicates += t.duplicates;
                    outOfOrder += t.outOfOrder;
                }
                extra += t.extra(ackedNow);
                if (t.failure != null) {
                    failedWatches++;
                    if (firstFailure == null) firstFailure = t.failure;
                }
            }
            Histogram events = new Histogram(LATENCY_MICROS_MAX, 3);
            // Pinned, client c watches through node c % nodes: the latency of each node's watchers apart.
            List<Histogram> byNode = new ArrayList<>();
            for (int n = 0; n < (o.pinned() ? o.endpoints().size() : 0); n++) byNode.add(new Histogram(LATENCY_MICROS_MAX, 3));
            for (int c = 0; c < latencyByClient.length; c++) {
                Histogram h = latencyByClient[c].getIntervalHistogram();
                events.add(h);
                if (o.pinned()) byNode.get(c % o.endpoints().size()).add(h);
            }
            Histogram puts = putLatency.getIntervalHistogram();
            Histogram spreadHistogram = new Histogram(LATENCY_MICROS_MAX, 3);
            for (Recorder r : spreadByClient) spreadHistogram.add(r.getIntervalHistogram());
            double[] cpu = new double[cpuAfter.length];
            for (int i = 0; i < cpu.length; i++) cpu[i] = (cpuAfter[i] - cpuBefore[i]) / (double) o.clockTicks() / cpuSeconds * 100;
            return new Result(o, issued, ackedNow.cardinality(), failed.cardinality(), firstPutError, writerWaits, lateMicrosMax / 1000.0,
                    (long) ackedNow.cardinality() * o.watchers(), eventsDelivered.get(), missing, duplicates, outOfOrder, extra, failedWatches,
                    firstFailure, drainSeconds, eventsMeasured.get(), putsMeasured.get(), events, byNode, spreadHistogram, puts, cpu, cpuSeconds, machine, placement,
                    (writeEnd - cpuWallBefore) / 1e9);
        }

        /**
         * Where the watches went: this JVM's new TCP connections per node port (opened by the watch clients), and for
         * etcd the watchers each member reports in its metrics.
         */
        String placement(Map<Integer, Integer> before, Map<Integer, Integer> after) {
            StringBuilder s = new StringBuilder("watch connections opened per node port:");
            for (String e : o.endpoints()) {
                int port = Integer.parseInt(e.substring(e.lastIndexOf(':') + 1));
                s.append(' ').append(port).append('=').append(after.getOrDefault(port, 0) - before.getOrDefault(port, 0));
            }
            if (o.target().equals("etcd")) {
                s.append("; etcd_debugging_mvcc_watcher_total per member:");
                for (String e : o.endpoints()) s.append(' ').append(etcdWatchers(e));
            }
            return s.toString();
        }
    }

    /** The watchers an etcd member reports in its metrics, or "?" when it does not say. */
    static String etcdWatchers(String endpoint) {
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            String url = (endpoint.startsWith("http") ? endpoint : "http://" + endpoint) + "/metrics";
            String body = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
            return body.lines().filter(l -> l.startsWith("etcd_debugging_mvcc_watcher_total ")).map(l -> l.substring(l.indexOf(' ') + 1).strip())
                    .findFirst().orElse("?");
        } catch (IOException | InterruptedException | RuntimeException e) {
            return "?";
        }
    }

    /** This process's established TCP connections by remote port, from /proc/self/fd and /proc/net/tcp{,6}. */
    static Map<Integer, Integer> connectionsByPort() {
        Map<Integer, Integer> byPort = new TreeMap<>();
        try {
            java.util.Set<String> inodes = new java.util.HashSet<>();
            try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
                for (Path fd : fds) {
                    try {
                        String link = Files.readSymbolicLink(fd).toString();
                        if (link.startsWith("socket:[")) inodes.add(link.substring(8, link.length() - 1));
                    } catch (IOException gone) {
                        // closed meanwhile
                    }
                }
            }
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                Path p = Path.of(table);
                if (!Files.exists(p)) continue;
                List<String> lines = Files.readAllLines(p);
                for (String line : lines.subList(1, lines.size())) {
                    String[] f = line.strip().split("\\s+");
                    if (f.length < 10 || !f[3].equals("01") || !inodes.contains(f[9])) continue;
                    int port = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
                    byPort.merge(port, 1, Integer::sum);
                }
            }
        } catch (IOException e) {
            // no /proc: placement is reported as unknown (0)
        }
        return byPort;
    }

    private static final String[] MACHINE_FIELDS = {"user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"};

    /** The machine's CPU time by kind (the first line of /proc/stat, in clock ticks), or null. */
    static long[] machineTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long[] t = new long[MACHINE_FIELDS.length];
            for (int i = 0; i < t.length; i++) t[i] = Long.parseLong(f[i + 1]);
            return t;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** How the whole machine's CPU time went between two readings: "user 40 %, system 20 %, ..." of all cores. */
    static String machineShare(long[] before, long[] after) {
        if (before == null || after == null) return "unknown";
        long total = 0;
        for (int i = 0; i < before.length; i++) total += after[i] - before[i];
        if (total <= 0) return "unknown";
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < before.length; i++) {
            if (MACHINE_FIELDS[i].equals("nice") || MACHINE_FIELDS[i].equals("irq")) continue; // ~0 here; in the total all the same
            parts.add(String.format(Locale.ROOT, "%s %.0f %%", MACHINE_FIELDS[i], 100.0 * (after[i] - before[i]) / total));
        }
        return String.join(", ", parts);
    }

    /** utime + stime in clock ticks of each pid, then of this JVM (last); -1 for a process gone or unreadable. */
    static long[] cpuTicks(List<Long> pids) {
        long[] ticks = new long[pids.size() + 1];
        for (int i = 0; i <= pids.size(); i++) {
            String pid = i < pids.size() ? pids.get(i).toString() : "self";
            try {
                String stat = Files.readString(Path.of("/proc", pid, "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                ticks[i] = Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of proc(5)
            } catch (IOException | RuntimeException e) {
                ticks[i] = -1;
            }
        }
        return ticks;
    }

    /**
     * What one run measured; {@code eventsByNode}: the latency of the watchers of each endpoint (pinned placement only);
     * {@code spread}: for each event, how long after the first watcher to get that put's event this watcher got it;
     * {@code cpuPercent}: per pid then this JVM, % of one core over {@code cpuSeconds}.
     */
    record Result(Options o, long putsIssued, long putsAcked, long putsFailed, String firstPutError, long writerWaits, double writerLateMsMax,
                  long eventsExpected, long eventsDelivered, long missing, long duplicates, long outOfOrder, long extra, long failedWatches,
                  String firstWatchFailure, double drainSeconds, long eventsMeasured, long putsMeasured, Histogram events, List<Histogram> eventsByNode, Histogram spread, Histogram puts,
                  double[] cpuPercent, double cpuSeconds, String machineCpu, String placement, double measuredSeconds) {

        /** Every acknowledged put's event reached every watch, once, in order, and no watch failed (put errors are apart). */
        boolean clean() {
            return missing == 0 && duplicates == 0 && outOfOrder == 0 && failedWatches == 0;
        }

        double nodeCpuPercent() {
            double sum = 0;
            for (int i = 0; i < cpuPercent.length - 1; i++) sum += cpuPercent[i];
            return sum;
        }

        String json() {
            String nodes = Arrays.stream(cpuPercent, 0, cpuPercent.length - 1).mapToObj(c -> String.format(Locale.ROOT, "%.1f", c)).collect(Collectors.joining(", "));
            return String.format(Locale.ROOT, "{\"target\": \"%s\", \"watchers\": %d, \"clients\": %d, \"placement_mode\": \"%s\", \"rate\": %d, "
                            + "\"seconds\": %.3f, \"warmup_seconds\": %.1f, \"value_size\": %d, \"puts_issued\": %d, \"puts_acked\": %d, \"puts_failed\": %d, "
                            + "\"puts_per_s\": %.1f, \"writer_waits\": %d, \"writer_late_ms_max\": %.3f, "
                            + "\"events_expected\": %d, \"events_delivered\": %d, \"missing\": %d, \"duplicates\": %d, \"out_of_order\": %d, \"extra\": %d, "
                            + "\"failed_watches\": %d, \"drain_seconds\": %.2f, \"events_measured\": %d, \"events_per_s\": %.0f, "
                            + "\"event_p50_ms\": %.3f, \"event_p99_ms\": %.3f, \"event_p999_ms\": %.3f, \"event_max_ms\": %.3f, "
                            + "\"event_by_node\": [%s], \"spread_p50_ms\": %.3f, \"spread_p99_ms\": %.3f, \"spread_max_ms\": %.3f, "
                            + "\"put_p50_ms\": %.3f, \"put_p99_ms\": %.3f, \"put_p999_ms\": %.3f, \"put_max_ms\": %.3f, "
                            + "\"node_cpu_percent\": [%s], \"node_cpu_percent_total\": %.1f, \"bench_cpu_percent\": %.1f, \"machine_cpu\": \"%s\", "
                            + "\"placement\": \"%s\"}",
                    o.target(), o.watchers(), o.clients(), o.pinned() ? "pinned" : "random", o.rate(), measuredSeconds, o.warmupSeconds(), o.valueSize(),
                    putsIssued, putsAcked, putsFailed, putsMeasured / measuredSeconds, writerWaits, writerLateMsMax, eventsExpected, eventsDelivered, missing,
                    duplicates, outOfOrder, extra, failedWatches, drainSeconds, eventsMeasured, eventsMeasured / measuredSeconds,
                    ms(events, 50), ms(events, 99), ms(events, 99.9), events.getMaxValue() / 1000.0, byNodeJson(), ms(spread, 50), ms(spread, 99),
                    spread.getMaxValue() / 1000.0, ms(puts, 50), ms(puts, 99), ms(puts, 99.9),
                    puts.getMaxValue() / 1000.0, nodes, nodeCpuPercent(), cpuPercent[cpuPercent.length - 1], machineCpu, placement.replace("\"", "'"));
        }

        private String byNodeJson() {
            List<String> parts = new ArrayList<>();
            for (int n = 0; n < eventsByNode.size(); n++) {
                Histogram h = eventsByNode.get(n);
                parts.add(String.format(Locale.ROOT, "{\"endpoint\": \"%s\", \"count\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}",
                        o.endpoints().get(n), h.getTotalCount(), ms(h, 50), ms(h, 99), h.getMaxValue() / 1000.0));
            }
            return String.join(", ", parts);
        }

        static double ms(Histogram h, double p) {
            return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p) / 1000.0;
        }

        void print(PrintStream out) {
            out.printf(Locale.ROOT, "%s: %d watchers on %d clients (%s), %d puts/s of %d B for %.1f s after %.1f s of warm-up%n", o.target(), o.watchers(),
                    o.clients(), o.pinned() ? "each client pinned to one node" : "each client given every node", o.rate(), o.valueSize(), measuredSeconds,
                    o.warmupSeconds());
            out.println("  " + placement);
            out.printf(Locale.ROOT, "  puts: %d issued, %d acknowledged, %d failed%s; writer waited for a free slot %d times, started a put up to %.1f ms late%n",
                    putsIssued, putsAcked, putsFailed, firstPutError == null ? "" : " (first: " + firstPutError + ")", writerWaits, writerLateMsMax);
            out.printf(Locale.ROOT, "  events: %,d expected (acknowledged puts x watchers), %,d delivered; missing %d, duplicate %d, out of order %d, "
                    + "of unacknowledged puts %d; watches failed %d%s; all in %.2f s after the last answer%n", eventsExpected, eventsDelivered, missing,
                    duplicates, outOfOrder, extra, failedWatches, firstWatchFailure == null ? "" : " (first: " + firstWatchFailure + ")", drainSeconds);
            out.printf(Locale.ROOT, "  %-32s %10s %9s %9s %9s %9s%n", "latency (measured)", "count", "p50 ms", "p99 ms", "p99.9 ms", "max ms");
            out.printf(Locale.ROOT, "  %-32s %10d %9.2f %9.2f %9.2f %9.2f%n", "put issued -> event delivered", events.getTotalCount(), ms(events, 50),
                    ms(events, 99), ms(events, 99.9), events.getMaxValue() / 1000.0);
            for (int n = 0; n < eventsByNode.size(); n++) {
                Histogram h = eventsByNode.get(n);
                out.printf(Locale.ROOT, "  %-32s %10d %9.2f %9.2f %9.2f %9.2f%n", "  of the watchers on " + o.endpoints().get(n), h.getTotalCount(), ms(h, 50),
                        ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1000.0);
            }
            out.printf(Locale.ROOT, "  %-32s %10d %9.2f %9.2f %9.2f %9.2f%n", "first watcher -> this watcher", spread.getTotalCount(), ms(spread, 50),
                    ms(spread, 99), ms(spread, 99.9), spread.getMaxValue() / 1000.0);
            out.printf(Locale.ROOT, "  %-32s %10d %9.2f %9.2f %9.2f %9.2f%n", "put issued -> put answered", puts.getTotalCount(), ms(puts, 50),
                    ms(puts, 99), ms(puts, 99.9), puts.getMaxValue() / 1000.0);
            StringBuilder cpu = new StringBuilder();
            for (int i = 0; i < cpuPercent.length - 1; i++) cpu.append(String.format(Locale.ROOT, " pid %d %.0f %%,", o.pids().get(i), cpuPercent[i]));
            out.printf(Locale.ROOT, "  CPU over %.1f s (%% of one core):%s nodes %.0f %%, this JVM %.0f %%%n", cpuSeconds, cpu, nodeCpuPercent(),
                    cpuPercent[cpuPercent.length - 1]);
            out.println("  the whole machine meanwhile (all cores): " + machineCpu);
            out.println("  delivery: " + (clean() ? "every event to every watcher, once, in order" : "NOT CLEAN (see the counts above)")
                    + (putsFailed == 0 ? "" : "; " + putsFailed + " puts failed (their events count as of unacknowledged puts)"));
        }
    }

    private WatchFanout() {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (LoadGenerator.UsageException e) {
            if (e.getMessage() != null) System.err.println("watch-fanout: " + e.getMessage());
            System.err.println(usage());
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        String endpoints = String.join(",", o.endpoints());
        Result r;
        try (KvTarget writer = o.target().equals("etcd") ? new EtcdTarget(endpoints, 1) : new RaftKvTarget(endpoints, 1);
             FanoutWatchers watchers = FanoutWatchers.create(o.target(), o.endpoints(), o.clients(), o.pinned())) {
            r = new Run(o, writer, watchers).run(System.err);
            r.print(System.out);
            if (o.json() != null) Files.writeString(o.json(), r.json() + "\n");
            if (o.hgrmDir() != null) {
                Files.createDirectories(o.hgrmDir());
                try (PrintStream out = new PrintStream(Files.newOutputStream(o.hgrmDir().resolve(o.target() + "-watch-events.hgrm")), false, StandardCharsets.UTF_8)) {
                    r.events().outputPercentileDistribution(out, 1000.0);
                }
                try (PrintStream out = new PrintStream(Files.newOutputStream(o.hgrmDir().resolve(o.target() + "-watch-puts.hgrm")), false, StandardCharsets.UTF_8)) {
                    r.puts().outputPercentileDistribution(out, 1000.0);
                }
            }
        }
        System.exit(r.clean() ? 0 : 1);
    }
}
