package io.raftkv.bench;

import io.etcd.jetcd.Client;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseKeepAliveRequest;
import io.etcd.jetcd.api.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.LeaseOption;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.raftkv.client.LeaseKeepAlive;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.RaftKvException;
import io.raftkv.protocol.ErrorCode;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;

/**
 * Lease keepalives, {@code bench/lease.sh} (issue 12): {@code --clients} clients each grant their share of
 * {@code --leases} leases of {@code --ttl} seconds, then keep them all alive, against raftkv
 * ({@link RaftKvClient}) or etcd (jetcd). Two cases, one after the other, on the same leases:
 *
 * <ul>
 *   <li><b>sustained</b>: every lease kept alive by its client library at its natural rate, the way an application
 *       does it: raftkv's {@link RaftKvClient#keepAlive} (a keepalive now, then one a third of the TTL after each
 *       answer), jetcd's {@link Lease#keepAlive} (one stream per client; a timer every 500 ms sends a keepalive for
 *       each lease whose TTL/3 has passed since its last answer). The leases' keep-alives are started evenly over the
 *       first TTL/3, so that they are renewed at a steady rate (leases × 3 / TTL a second) rather than in one burst;
 *       then {@code --warmup-seconds} more, not counted, then {@code --seconds} measured. A sweeper reads every
 *       lease's renewal count every {@value #SWEEP_MS} ms: keepalives answered in the window, the gap between two
 *       renewals of one lease (TTL/3 plus the keepalive's latency, to the sweep's resolution), the longest any lease
 *       went without one (it must stay under the TTL), and leases the library gave up as lost. Then every lease's
 *       time-to-live is asked: each must still exist.</li>
 *   <li><b>flat out</b> ({@code --flat}): the keep-alives stopped, each client renews its leases in turn as fast as
 *       the cluster answers, {@code --in-flight} keepalives outstanding per client (a new one as soon as one is
 *       answered). Variants: {@code once} is each library's single keepalive call, raftkv's
 *       {@link RaftKvClient#keepAliveOnceAsync} (a request frame on the client's connection to the leader) and jetcd's
 *       {@link Lease#keepAliveOnce} (which opens a gRPC LeaseKeepAlive stream per call, as etcd's own Go client's
 *       KeepAliveOnce and etcd's {@code benchmark lease-keepalive} do); {@code stream} (etcd only) is one LeaseKeepAlive
 *       stream per client on a grpc-java channel of its own, to {@code --stream-endpoints} (client c's to the
 *       (c mod n)th; default the endpoints), the requests pipelined on it (jetcd's own stream cannot be driven faster
 *       than its timer). {@code --warmup-seconds} not counted, then
 *       {@code --seconds} measured; after the last variant every lease's time-to-live is asked again.</li>
 * </ul>
 *
 * <p>After the sustained case, its keep-alives closed, the nodes' CPU is measured for {@code --idle-seconds} (at most
 * TTL/4, so that no lease expires meanwhile; warmed up,
 * holding the leases, none renewed: heartbeats and ticks alone), so that the sustained case's cost per keepalive can be
 * given beyond it.
 *
 * <p>CPU: user + system time of the processes {@code --pids} names (the nodes, in endpoint order), each one's busiest
 * thread, and this JVM's, from {@code /proc}, over each measured window; and the machine's split from
 * {@code /proc/stat}.
 */
public final class LeaseKeepalives {

    static final long SWEEP_MS = 100;
    private static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    private static final long DEADLINE_SECONDS = 10;
    /** Time-to-live checks outstanding per client. */
    private static final int CHECK_IN_FLIGHT = 64;
    /** A failed keepalive in the flat case is sent again this much later (no busy loop on a refusing cluster). */
    private static final long RETRY_MS = 10;

    record Options(String target, List<String> endpoints, int leases, int clients, long ttlSeconds, double seconds, double warmupSeconds,
                   boolean sustained, List<String> flat, int inFlight, int grantInFlight, List<String> streamEndpoints, double idleSeconds, List<Long> pids, int clockTicks,
                   Path json) {

        static Options parse(String[] args) {
            String target = "raftkv";
            String endpoints = null;
            int leases = 10_000;
            int clients = 10;
            long ttl = 30;
            double seconds = 20;
            double warmup = 5;
            boolean sustained = true;
            String flat = null;
            String streamEndpoints = null;
            double idle = 5;
            int inFlight = 64;
            int grantInFlight = 64;
            List<Long> pids = List.of();
            int clockTicks = 100;
            Path json = null;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--help") || flag.equals("-h")) throw new LoadGenerator.UsageException(null);
                if (i + 1 >= args.length) throw new LoadGenerator.UsageException(flag + " needs a value");
                String v = args[++i];
                try {
                    switch (flag) {
                        case "--target" -> target = v;
                        case "--endpoints" -> endpoints = v;
                        case "--leases" -> leases = Integer.parseInt(v);
                        case "--clients" -> clients = Integer.parseInt(v);
                        case "--ttl" -> ttl = Long.parseLong(v);
                        case "--seconds" -> seconds = Double.parseDouble(v);
                        case "--warmup-seconds" -> warmup = Double.parseDouble(v);
                        case "--sustained" -> sustained = Boolean.parseBoolean(v);
                        case "--flat" -> flat = v;
                        case "--stream-endpoints" -> streamEndpoints = v;
                        case "--idle-seconds" -> idle = Double.parseDouble(v);
                        case "--in-flight" -> inFlight = Integer.parseInt(v);
                        case "--grant-in-flight" -> grantInFlight = Integer.parseInt(v);
                        case "--pids" -> pids = Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).map(Long::parseLong).toList();
                        case "--clock-ticks" -> clockTicks = Integer.parseInt(v);
                        case "--json" -> json = Path.of(v);
                        default -> throw new LoadGenerator.UsageException("unknown flag " + flag);
                    }
                } catch (NumberFormatException e) {
                    throw new LoadGenerator.UsageException(flag + " needs a number, got '" + v + "'");
                }
            }
            if (!target.equals("raftkv") && !target.equals("etcd")) throw new LoadGenerator.UsageException("--target is raftkv or etcd");
            if (endpoints == null) throw new LoadGenerator.UsageException("--endpoints is required");
            if (leases < 1 || clients < 1 || clients > leases || ttl < 3 || seconds <= 0 || warmup < 0 || idle < 0 || inFlight < 1 || grantInFlight < 1 || clockTicks < 1) {
                throw new LoadGenerator.UsageException("--leases, --clients (at most --leases), --seconds, --in-flight, --grant-in-flight and --clock-ticks must be "
                        + "positive, --ttl at least 3");
            }
            List<String> variants = flat == null ? (target.equals("etcd") ? List.of("once", "stream") : List.of("once"))
                    : Arrays.stream(flat.split(",")).map(String::strip).filter(s -> !s.isEmpty() && !s.equals("none")).toList();
            for (String variant : variants) {
                if (!variant.equals("once") && !(variant.equals("stream") && target.equals("etcd"))) {
                    throw new LoadGenerator.UsageException("--flat is a list of once" + (target.equals("etcd") ? ", stream" : "") + " (or none)");
                }
            }
            List<String> list = Arrays.stream(endpoints.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            List<String> streamList = streamEndpoints == null ? list
                    : Arrays.stream(streamEndpoints.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            return new Options(target, list, leases, clients, ttl, seconds, warmup, sustained, variants, inFlight, grantInFlight, streamList, idle, pids, clockTicks,
                    json);
        }
    }

    static String usage() {
        return "usage: LeaseKeepalives --endpoints HOST:PORT,... [--target raftkv|etcd] [--leases N] [--clients N] [--ttl S] [--seconds S]\n"
                + "         [--warmup-seconds S] [--sustained true|false] [--flat once[,stream]|none] [--in-flight N] [--grant-in-flight N]\n"
                + "         [--stream-endpoints HOST:PORT,...] [--idle-seconds S] [--pids PID,...] [--clock-ticks HZ] [--json FILE]";
    }

    // ------------------------------------------------------------------ the two client libraries

    /** A lease kept alive by its client library. */
    interface Kept extends AutoCloseable {
        /** Keepalives answered so far. */
        long renewals();

        /** Why the library gave the lease up (expired, or the client thinks so), or null while it keeps it. */
        String lost();

        @Override
        void close();
    }

    /** One system's lease calls, by client. */
    interface Api extends AutoCloseable {
        CompletableFuture<Long> grant(int client, long ttlSeconds);

        Kept keepAlive(int client, long leaseId);

        /** One keepalive of the flat-out variant; completes with the TTL, or fails ({@link NotFound} when the lease is gone). */
        CompletableFuture<Long> keepAliveOnce(String variant, int client, long leaseId);

        /** Remaining seconds, or -1 when the lease does not exist. */
        CompletableFuture<Long> timeToLive(int client, long leaseId);

        @Override
        void close();
    }

    /** A keepalive answered that the lease does not exist. */
    static final class NotFound extends RuntimeException {
        NotFound(String message) {
            super(message, null, false, false);
        }
    }

    static final class RaftKvApi implements Api {
        private final List<RaftKvClient> clients = new ArrayList<>();

        RaftKvApi(List<String> endpoints, int n) {
            for (int i = 0; i < n; i++) {
                clients.add(new RaftKvClient(RaftKvClient.parseEndpoints(String.join(",", endpoints)), Duration.ofSeconds(DEADLINE_SECONDS)));
            }
        }

        @Override
        public CompletableFuture<Long> grant(int client, long ttlSeconds) {
            return clients.get(client).grantAsync(ttlSeconds).thenApply(r -> r.leaseId());
        }

        @Override
        public Kept keepAlive(int client, long leaseId) {
            LeaseKeepAlive k = clients.get(client).keepAlive(leaseId);
            return new Kept() {
                @Override
                public long renewals() {
                    return k.renewals();
                }

                @Override
                public String lost() {
                    if (!k.done().isCompletedExceptionally()) return null;
                    try {
                        k.done().join();
                        return null;
                    } catch (CompletionException e) {
                        return String.valueOf(e.getCause());
                    }
                }

                @Override
                public void close() {
                    k.close();
                }
            };
        }

        @Override
        public CompletableFuture<Long> keepAliveOnce(String variant, int client, long leaseId) {
            return clients.get(client).keepAliveOnceAsync(leaseId).handle((r, e) -> {
                if (e == null) return r.ttlSeconds();
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof RaftKvException x && x.errorCode() == ErrorCode.LEASE_NOT_FOUND) throw new NotFound(x.getMessage());
                throw new CompletionException(cause);
            });
        }

        @Override
        public CompletableFuture<Long> timeToLive(int client, long leaseId) {
            return clients.get(client).timeToLiveAsync(leaseId, false).handle((r, e) -> {
                if (e == null) return r.ttlSeconds();
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof RaftKvException x && x.errorCode() == ErrorCode.LEASE_NOT_FOUND) return -1L;
                throw new CompletionException(cause);
            });
        }

        @Override
        public void close() {
            clients.forEach(RaftKvClient::close);
        }
    }

    static final class EtcdApi implements Api {
        private final List<String> streamEndpoints;
        private final List<Client> clients = new ArrayList<>();
        /** The stream variant's, made at its first use: one channel and one LeaseKeepAlive stream per client. */
        private final Map<Integer, KeepAliveStream> streams = new HashMap<>();

        /** {@code streamEndpoints}: where the stream variant's streams go, client c's to the (c mod size)th. */
        EtcdApi(List<String> endpoints, List<String> streamEndpoints, int n) {
            this.streamEndpoints = streamEndpoints;
            String[] urls = endpoints.stream().map(e -> e.startsWith("http") ? e : "http://" + e).toArray(String[]::new);
            for (int i = 0; i < n; i++) clients.add(Client.builder().endpoints(urls).build());
        }

        @Override
        public CompletableFuture<Long> grant(int client, long ttlSeconds) {
            return clients.get(client).getLeaseClient().grant(ttlSeconds).thenApply(r -> r.getID());
        }

        @Override
        public Kept keepAlive(int client, long leaseId) {
            AtomicLong renewals = new AtomicLong();
            AtomicReference<String> lost = new AtomicReference<>();
            io.etcd.jetcd.support.CloseableClient c = clients.get(client).getLeaseClient().keepAlive(leaseId, new StreamObserver<>() {
                @Override
                public void onNext(io.etcd.jetcd.lease.LeaseKeepAliveResponse r) {
                    renewals.incrementAndGet();
                }

                @Override
                public void onError(Throwable t) {
                    // jetcd reports a stream error to every lease and then restarts the stream: a lease is lost only when etcd
                    // says it does not exist (or the client's deadline for it passes: onCompleted).
                    if (String.valueOf(t).contains("not found")) lost.compareAndSet(null, String.valueOf(t));
                }

                @Override
                public void onCompleted() {
                    lost.compareAndSet(null, "jetcd: no keepalive answered within the TTL (the client takes the lease as expired)");
                }
            });
            return new Kept() {
                @Override
                public long renewals() {
                    return renewals.get();
                }

                @Override
                public String lost() {
                    return lost.get();
                }

                @Override
                public void close() {
                    c.close();
                }
            };
        }

        @Override
        public CompletableFuture<Long> keepAliveOnce(String variant, int client, long leaseId) {
            if (variant.equals("stream")) {
                KeepAliveStream s;
                synchronized (streams) {
                    s = streams.computeIfAbsent(client, c -> new KeepAliveStream(streamEndpoints.get(c % streamEndpoints.size())));
                }
                return s.keepAlive(leaseId);
            }
            return clients.get(client).getLeaseClient().keepAliveOnce(leaseId).handle((r, e) -> {
                if (e == null) return r.getTTL();
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (String.valueOf(cause).contains("not found")) throw new NotFound(String.valueOf(cause));
                throw new CompletionException(cause);
            });
        }

        @Override
        public CompletableFuture<Long> timeToLive(int client, long leaseId) {
            return clients.get(client).getLeaseClient().timeToLive(leaseId, LeaseOption.DEFAULT).thenApply(r -> r.getTTL() < 0 ? -1L : r.getTTL());
        }

        @Override
        public void close() {
            synchronized (streams) {
                streams.values().forEach(KeepAliveStream::close);
            }
            clients.forEach(Client::close);
        }
    }

    /**
     * One etcd LeaseKeepAlive stream on a grpc-java channel of its own, requests pipelined. etcd answers a stream's
     * requests one at a time, in order, so each answer completes the oldest request outstanding.
     */
    static final class KeepAliveStream {
        private final ManagedChannel channel;
        private final StreamObserver<LeaseKeepAliveRequest> requests;
        private final ArrayDeque<Pending> outstanding = new ArrayDeque<>();

        private record Pending(long leaseId, CompletableFuture<Long> answer) {
        }

        KeepAliveStream(String endpoint) {
            String hostPort = endpoint.replaceFirst("^https?://", "");
            int colon = hostPort.lastIndexOf(':');
            channel = NettyChannelBuilder.forAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)))
                    .usePlaintext().directExecutor().build();
            requests = LeaseGrpc.newStub(channel).leaseKeepAlive(new StreamObserver<>() {
                @Override
                public void onNext(LeaseKeepAliveResponse r) {
                    Pending p;
                    synchronized (outstanding) {
                        p = outstanding.pollFirst();
                    }
                    if (p == null) return;
                    if (r.getID() != p.leaseId()) p.answer().completeExceptionally(new IllegalStateException("answer for lease " + r.getID() + ", asked " + p.leaseId()));
                    else if (r.getTTL() <= 0) p.answer().completeExceptionally(new NotFound("etcd: lease " + Long.toHexString(r.getID()) + " not found"));
                    else p.answer().complete(r.getTTL());
                }

                @Override
                public void onError(Throwable t) {
                    failAll(t);
                }

                @Override
                public void onCompleted() {
                    failAll(new IllegalStateException("etcd ended the LeaseKeepAlive stream"));
                }
            });
        }

        CompletableFuture<Long> keepAlive(long leaseId) {
            CompletableFuture<Long> f = new CompletableFuture<>();
            synchronized (outstanding) {
                outstanding.addLast(new Pending(leaseId, f));
                requests.onNext(LeaseKeepAliveRequest.newBuilder().setID(leaseId).build());
            }
            return f;
        }

        private void failAll(Throwable t) {
            List<Pending> all;
            synchronized (outstanding) {
                all = new ArrayList<>(outstanding);
                outstanding.clear();
            }
            all.forEach(p -> p.answer().completeExceptionally(t));
        }

        void close() {
            try {
                requests.onCompleted();
            } catch (RuntimeException ignored) {
                // already failed
            }
            channel.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ measuring

    static double ms(Histogram h, double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p) / 1000.0;
    }

    /** The result of asking every lease's time-to-live. */
    record Check(long leases, long found, long notFound, long errors, long minRemainingSeconds, String firstError, double seconds) {
        String json() {
            return String.format(Locale.ROOT, "{\"leases\": %d, \"found\": %d, \"not_found\": %d, \"errors\": %d, \"min_remaining_s\": %d, \"seconds\": %.2f}",
                    leases, found, notFound, errors, minRemainingSeconds, seconds);
        }

        String text() {
            return String.format(Locale.ROOT, "time-to-live of every lease: %d found, %d not found, %d errors%s; least remaining %d s (asked in %.1f s)",
                    found, notFound, errors, firstError == null ? "" : " (first: " + firstError + ")", minRemainingSeconds, seconds);
        }
    }

    record Sustained(double seconds, long renewals, double required, long leasesLost, String firstLost, Histogram gaps, double longestWithoutMs,
                     ProcessCpu.Window cpu, Check check) {
        /** The nodes' CPU per keepalive beyond what they use idle (heartbeats, ticks), in µs. */
        double nodeMicrosAboveIdle(ProcessCpu.Window idle) {
            return cpu.microsPer(cpu.nodes() - idle.nodes(), renewals);
        }

        String json(ProcessCpu.Window idle) {
            return String.format(Locale.ROOT, "{\"seconds\": %.2f, \"keepalives\": %d, \"keepalives_per_s\": %.1f, \"required_per_s\": %.1f, \"leases_lost\": %d, "
                            + "\"gap_p50_ms\": %.1f, \"gap_p99_ms\": %.1f, \"gap_max_ms\": %.1f, \"longest_without_ms\": %.1f, %s, "
                            + "\"node_cpu_us_per_keepalive_above_idle\": %.2f, \"check\": %s}",
                    seconds, renewals, renewals / seconds, required, leasesLost, ms(gaps, 50), ms(gaps, 99), gaps.getMaxValue() / 1000.0, longestWithoutMs,
                    cpu.json("keepalive", renewals), nodeMicrosAboveIdle(idle), check.json());
        }
    }

    record Flat(String variant, int inFlightPerClient, double seconds, long keepalives, long errors, long notFound, String firstError, Histogram latency,
                ProcessCpu.Window cpu) {
        String json() {
            return String.format(Locale.ROOT, "{\"variant\": \"%s\", \"in_flight_per_client\": %d, \"seconds\": %.2f, \"keepalives\": %d, \"keepalives_per_s\": %.1f, "
                            + "\"errors\": %d, \"not_found\": %d, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f, %s}",
                    variant, inFlightPerClient, seconds, keepalives, keepalives / seconds, errors, notFound, ms(latency, 50), ms(latency, 99), ms(latency, 99.9),
                    latency.getMaxValue() / 1000.0, cpu.json("keepalive", keepalives));
        }
    }

    // ------------------------------------------------------------------ the run

    private final Options o;
    private final Api api;
    private final PrintStream log;
    /** Each client's leases. */
    private final long[][] leases;

    LeaseKeepalives(Options o, Api api, PrintStream log) {
        this.o = o;
        this.api = api;
        this.log = log;
        this.leases = new long[o.clients()][];
        for (int c = 0; c < o.clients(); c++) leases[c] = new long[o.leases() / o.clients() + (c < o.leases() % o.clients() ? 1 : 0)];
    }

    /** Every client grants its leases, {@code --grant-in-flight} at a time; returns grants a second. */
    double grantAll() throws Exception {
        long t0 = System.nanoTime();
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (int c = 0; c < o.clients(); c++) {
            int client = c;
            Semaphore window = new Semaphore(o.grantInFlight());
            CompletableFuture<Void> done = new CompletableFuture<>();
            all.add(done);
            Thread t = new Thread(() -> {
                try {
                    List<CompletableFuture<Long>> mine = new ArrayList<>();
                    for (int i = 0; i < leases[client].length; i++) {
                        window.acquire();
                        int index = i;
                        mine.add(api.grant(client, o.ttlSeconds()).whenComplete((id, e) -> {
                            if (e == null) leases[client][index] = id;
                            window.release();
                        }));
                    }
                    CompletableFuture.allOf(mine.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                    done.complete(null);
                } catch (Exception | Error e) {
                    done.completeExceptionally(e);
                }
            }, "grant-" + c);
            t.start();
        }
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - t0) / 1e9;
        return o.leases() / seconds;
    }

    /** Every lease's time-to-live, {@value #CHECK_IN_FLIGHT} at a time per client. */
    Check check() throws Exception {
        long t0 = System.nanoTime();
        LongAdder found = new LongAdder();
        LongAdder notFound = new LongAdder();
        LongAdder errors = new LongAdder();
        AtomicLong minRemaining = new AtomicLong(Long.MAX_VALUE);
        AtomicReference<String> firstError = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients(); c++) {
            int client = c;
            Thread t = new Thread(() -> {
                Semaphore window = new Semaphore(CHECK_IN_FLIGHT);
                List<CompletableFuture<?>> mine = new ArrayList<>();
                try {
                    for (long id : leases[client]) {
                        window.acquire();
                        mine.add(api.timeToLive(client, id).whenComplete((ttl, e) -> {
                            if (e != null) {
                                errors.increment();
                                firstError.compareAndSet(null, String.valueOf(e));
                            } else if (ttl < 0) {
                                notFound.increment();
                            } else {
                                found.increment();
                                minRemaining.accumulateAndGet(ttl, Math::min);
                            }
                            window.release();
                        }));
                    }
                    CompletableFuture.allOf(mine.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                } catch (InterruptedException | ExecutionException | java.util.concurrent.TimeoutException e) {
                    firstError.compareAndSet(null, String.valueOf(e));
                }
            }, "check-" + c);
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) t.join();
        long min = minRemaining.get() == Long.MAX_VALUE ? -1 : minRemaining.get();
        return new Check(o.leases(), found.sum(), notFound.sum(), errors.sum(), min, firstError.get(), (System.nanoTime() - t0) / 1e9);
    }

    Sustained sustained() throws Exception {
        long periodNanos = o.ttlSeconds() * 1_000_000_000L / 3;
        int n = o.leases();
        Kept[] kept = new Kept[n];
        long[] lastCount = new long[n];
        long[] lastChange = new long[n];
        // Started evenly over one renewal period, the clients' leases interleaved: lease i of client c at slot i * clients + c.
        long t0 = System.nanoTime();
        for (int slot = 0; slot < n; slot++) {
            int c = slot % o.clients();
            int i = slot / o.clients();
            if (i >= leases[c].length) continue; // uneven shares: that client has no lease i
            long at = t0 + periodNanos * slot / n;
            long wait;
            while ((wait = at - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
            int k = index(c, i);
            lastChange[k] = System.nanoTime();
            kept[k] = api.keepAlive(c, leases[c][i]);
        }
        log.printf(Locale.ROOT, "  keep-alives started over %.1f s%n", (System.nanoTime() - t0) / 1e9);
        Histogram gaps = new Histogram(LATENCY_MICROS_MAX, 3);
        long measureStart = System.nanoTime() + (long) (o.warmupSeconds() * 1e9);
        long measureEnd = measureStart + (long) (o.seconds() * 1e9);
        long renewalsAtStart = -1;
        long renewalsAtEnd = 0;
        double longestWithoutMs = 0;
        ProcessCpu.Snapshot cpuStart = null;
        ProcessCpu.Snapshot cpuEnd = null;
        long nextSweep = System.nanoTime();
        while (true) {
            long now = System.nanoTime();
            boolean measuring = now - measureStart >= 0 && now - measureEnd < 0;
            long total = 0;
            for (int k = 0; k < n; k++) {
                long r = kept[k].renewals();
                total += r;
                if (r != lastCount[k]) {
                    if (measuring && lastCount[k] > 0) gaps.recordValue(Math.min(LATENCY_MICROS_MAX, (now - lastChange[k]) / 1000));
                    lastCount[k] = r;
                    lastChange[k] = now;
                } else if (measuring) {
                    longestWithoutMs = Math.max(longestWithoutMs, (now - lastChange[k]) / 1e6);
                }
            }
            if (renewalsAtStart < 0 && now - measureStart >= 0) {
                renewalsAtStart = total;
                cpuStart = ProcessCpu.Snapshot.take(o.pids());
                log.printf(Locale.ROOT, "  measuring %.0f s%n", o.seconds());
            }
            if (now - measureEnd >= 0) {
                renewalsAtEnd = total;
                cpuEnd = ProcessCpu.Snapshot.take(o.pids());
                break;
            }
            nextSweep += SWEEP_MS * 1_000_000;
            long wait;
            while ((wait = nextSweep - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
        }
        ProcessCpu.Window cpu = ProcessCpu.Window.between(cpuStart, cpuEnd, o.clockTicks());
        long lost = 0;
        String firstLost = null;
        for (Kept k : kept) {
            String why = k.lost();
            if (why != null) {
                lost++;
                if (firstLost == null) firstLost = why;
            }
        }
        // Asked while the keep-alives still run: every lease must exist.
        Check check = check();
        for (Kept k : kept) k.close();
        return new Sustained(cpu.seconds(), renewalsAtEnd - renewalsAtStart, n * 3.0 / o.ttlSeconds(), lost, firstLost, gaps, longestWithoutMs, cpu, check);
    }

    private int index(int client, int i) {
        int k = 0;
        for (int c = 0; c < client; c++) k += leases[c].length;
        return k + i;
    }

    Flat flat(String variant, ScheduledExecutorService retries) throws Exception {
        Recorder latency = new Recorder(LATENCY_MICROS_MAX, 3);
        LongAdder answered = new LongAdder();
        LongAdder errors = new LongAdder();
        LongAdder notFound = new LongAdder();
        AtomicLong outstanding = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        final class Slot {
            final int client;
            final AtomicLong next;

            Slot(int client, AtomicLong next) {
                this.client = client;
                this.next = next;
            }

            void issue() {
                if (stop.get()) return;
                long[] mine = leases[client];
                long id = mine[(int) Math.floorMod(next.getAndIncrement(), (long) mine.length)];
                long t0 = System.nanoTime();
                outstanding.incrementAndGet();
                api.keepAliveOnce(variant, client, id).whenComplete((ttl, e) -> {
                    outstanding.decrementAndGet();
                    if (e == null) {
                        latency.recordValue(Math.min(LATENCY_MICROS_MAX, (System.nanoTime() - t0) / 1000));
                        answered.increment();
                        issue();
                        return;
                    }
                    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                    if (cause instanceof NotFound) notFound.increment();
                    else errors.increment();
                    firstError.compareAndSet(null, String.valueOf(cause));
                    if (!stop.get()) retries.schedule(this::issue, RETRY_MS, TimeUnit.MILLISECONDS);
                });
            }
        }
        for (int c = 0; c < o.clients(); c++) {
            AtomicLong next = new AtomicLong();
            for (int s = 0; s < o.inFlight(); s++) new Slot(c, next).issue();
        }
        sleepSeconds(o.warmupSeconds());
        latency.getIntervalHistogram(); // the warm-up's, dropped
        long answeredBefore = answered.sum();
        long errorsBefore = errors.sum();
        long notFoundBefore = notFound.sum();
        ProcessCpu.Snapshot cpuStart = ProcessCpu.Snapshot.take(o.pids());
        sleepSeconds(o.seconds());
        ProcessCpu.Snapshot cpuEnd = ProcessCpu.Snapshot.take(o.pids());
        long keepalives = answered.sum() - answeredBefore;
        Histogram measured = latency.getIntervalHistogram();
        long errs = errors.sum() - errorsBefore;
        long nf = notFound.sum() - notFoundBefore;
        stop.set(true);
        long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS + 2);
        while (outstanding.get() > 0 && System.nanoTime() - drainUntil < 0) Thread.sleep(10);
        ProcessCpu.Window cpu = ProcessCpu.Window.between(cpuStart, cpuEnd, o.clockTicks());
        return new Flat(variant, o.inFlight(), cpu.seconds(), keepalives, errs, nf, firstError.get(), measured, cpu);
    }

    private static void sleepSeconds(double s) throws InterruptedException {
        long until = System.nanoTime() + (long) (s * 1e9);
        long wait;
        while ((wait = until - System.nanoTime()) > 0) TimeUnit.NANOSECONDS.sleep(wait);
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (LoadGenerator.UsageException e) {
            if (e.getMessage() != null) System.err.println("lease-keepalives: " + e.getMessage());
            System.err.println(usage());
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        PrintStream out = System.out;
        boolean clean = true;
        List<String> parts = new ArrayList<>();
        ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "retries");
            t.setDaemon(true);
            return t;
        });
        try (Api api = o.target().equals("etcd") ? new EtcdApi(o.endpoints(), o.streamEndpoints(), o.clients()) : new RaftKvApi(o.endpoints(), o.clients())) {
            LeaseKeepalives run = new LeaseKeepalives(o, api, out);
            out.printf(Locale.ROOT, "%s: %d leases of %d s on %d clients%n", o.target(), o.leases(), o.ttlSeconds(), o.clients());
            double grantsPerS = run.grantAll();
            out.printf(Locale.ROOT, "  granted in %.1f s (%.0f grants/s, %d in flight per client)%n", o.leases() / grantsPerS, grantsPerS, o.grantInFlight());
            Sustained s = null;
            if (o.sustained()) {
                out.printf(Locale.ROOT, "sustained: every lease kept alive by the client library (%s), warm-up %.0f s after the start%n",
                        o.target().equals("etcd") ? "jetcd Lease.keepAlive" : "RaftKvClient.keepAlive", o.warmupSeconds());
                s = run.sustained();
            }
            // The nodes' own cost with nothing to do: warmed up (a JVM's JIT is busy for a while after it starts), holding
            // the leases, none renewed (the sustained case's keep-alives closed); heartbeats and ticks alone.
            // At most a quarter of the TTL, so that no lease can expire before the flat-out case renews it.
            double idleSeconds = Math.min(o.idleSeconds(), o.ttlSeconds() / 4.0);
            ProcessCpu.Snapshot idleStart = ProcessCpu.Snapshot.take(o.pids());
            sleepSeconds(idleSeconds);
            ProcessCpu.Window idle = ProcessCpu.Window.between(idleStart, ProcessCpu.Snapshot.take(o.pids()), o.clockTicks());
            String idleEach = Arrays.stream(idle.percent(), 0, idle.percent().length - 1).mapToObj(c -> String.format(Locale.ROOT, "%.1f", c))
                    .collect(Collectors.joining(", "));
            parts.add(String.format(Locale.ROOT, "\"target\": \"%s\", \"leases\": %d, \"clients\": %d, \"ttl_s\": %d, \"grants_per_s\": %.0f, "
                            + "\"idle_node_cpu_percent\": [%s], \"idle_node_cpu_percent_total\": %.1f, \"idle_machine_cpu\": \"%s\"",
                    o.target(), o.leases(), o.clients(), o.ttlSeconds(), grantsPerS, idleEach, idle.nodes(), idle.machine()));
            if (s != null) {
                out.printf(Locale.ROOT, "  keepalives answered: %d in %.1f s = %.0f/s (required: leases x 3 / TTL = %.0f/s); leases the library lost: %d%s%n",
                        s.renewals(), s.seconds(), s.renewals() / s.seconds(), s.required(), s.leasesLost(), s.firstLost() == null ? "" : " (first: " + s.firstLost() + ")");
                out.printf(Locale.ROOT, "  gap between two renewals of a lease (TTL/3 = %d ms + latency; sweeps every %d ms): p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
                                + "longest any lease went without one: %.0f ms of the TTL's %d%n", o.ttlSeconds() * 1000 / 3, SWEEP_MS, ms(s.gaps(), 50), ms(s.gaps(), 99),
                        s.gaps().getMaxValue() / 1000.0, s.longestWithoutMs(), o.ttlSeconds() * 1000);
                out.println("  " + s.cpu().text(o.pids(), "keepalive", s.renewals()));
                out.println("  " + s.check().text());
            }
            out.printf(Locale.ROOT, "idle (%.1f s, leases held, none renewed): nodes %.1f %% of one core (%s)%n", idleSeconds, idle.nodes(), idleEach);
            if (s != null) {
                out.printf(Locale.ROOT, "  the sustained case's nodes' CPU per keepalive beyond that: %.1f µs%n", s.nodeMicrosAboveIdle(idle));
                parts.add("\"sustained\": " + s.json(idle));
                clean &= s.leasesLost() == 0 && s.check().found() == o.leases();
            }
            List<String> flats = new ArrayList<>();
            for (String variant : o.flat()) {
                out.printf(Locale.ROOT, "flat out (%s): %d keepalives in flight per client, warm-up %.0f s%n", describe(o.target(), variant), o.inFlight(), o.warmupSeconds());
                Flat f = run.flat(variant, retries);
                out.printf(Locale.ROOT, "  keepalives answered: %d in %.1f s = %.0f/s; errors %d, not found %d%s%n", f.keepalives(), f.seconds(),
                        f.keepalives() / f.seconds(), f.errors(), f.notFound(), f.firstError() == null ? "" : " (first: " + f.firstError() + ")");
                out.printf(Locale.ROOT, "  latency: p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms%n", ms(f.latency(), 50), ms(f.latency(), 99), ms(f.latency(), 99.9),
                        f.latency().getMaxValue() / 1000.0);
                out.println("  " + f.cpu().text(o.pids(), "keepalive", f.keepalives()));
                flats.add(f.json());
                clean &= f.notFound() == 0;
            }
            parts.add("\"flat\": [" + String.join(", ", flats) + "]");
            if (!o.flat().isEmpty()) {
                Check c = run.check();
                out.println("after flat out: " + c.text());
                parts.add("\"check_after_flat\": " + c.json());
                clean &= c.found() == o.leases();
            }
        }
        if (o.json() != null) Files.writeString(o.json(), "{" + String.join(", ", parts) + "}\n");
        out.println(clean ? "every lease still exists, none was lost" : "LEASES LOST (see above)");
        System.exit(clean ? 0 : 1);
    }

    private static String describe(String target, String variant) {
        if (target.equals("raftkv")) return "RaftKvClient.keepAliveOnceAsync";
        return variant.equals("stream") ? "one LeaseKeepAlive stream per client, grpc-java, pipelined" : "jetcd Lease.keepAliveOnce, a stream per call";
    }

}
