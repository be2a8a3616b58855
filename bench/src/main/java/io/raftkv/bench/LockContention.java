package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lock.LockResponse;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import io.raftkv.client.HeldLock;
import io.raftkv.client.LeaseSession;
import io.raftkv.client.Mutex;
import io.raftkv.client.RaftKvClient;
import org.HdrHistogram.Histogram;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Lock acquisitions, {@code bench/lock.sh} (issue 12): {@code --clients} clients, each with a client object and a
 * session (a lease kept alive) of its own, each on a thread of its own, lock a name, run a tiny critical section, unlock,
 * and again, as fast as the lock goes round; against raftkv ({@link Mutex} on a {@link LeaseSession}) or etcd (jetcd's
 * Lock client, {@code lock(name, leaseId)} / {@code unlock(key)}, etcd's server-side concurrency.Mutex, with a lease per
 * client kept alive by jetcd's {@code keepAlive}). Cases ({@code --cases}):
 *
 * <ul>
 *   <li><b>contended</b>: every client locks the same name: acquisitions per second of one lock, which is the time to
 *       hand it from one holder to the next.</li>
 *   <li><b>uncontended</b>: each client locks a name of its own: a lock and an unlock with no one waiting (the cost of
 *       the calls alone), for every client at once.</li>
 * </ul>
 *
 * <p>Each case runs {@code --warmup-seconds}, not counted, then {@code --seconds} measured: an acquisition is counted
 * when it was held inside the window. <b>Acquire latency</b> is from the lock call to its return (held); <b>release</b>
 * from the unlock call to its return; the lock's <b>free time</b> (contended) from the moment the previous holder began
 * to unlock (or this lock call, if later) to held: how long the lock stood free while someone wanted it. Fairness: the
 * fewest and most acquisitions of one client in the window.
 *
 * <p>The critical section checks mutual exclusion in this JVM, over the whole run (warm-up included): a holder that
 * finds another inside (an atomic count of holders inside, per name) is an <b>overlap</b>; a counter incremented
 * without synchronisation must end equal to an atomic count of acquisitions (a lost update is an overlap the first
 * check missed); the revision at which each holder found the lock held must grow from holder to holder (raftkv:
 * {@link HeldLock#revision()}; etcd: the LockResponse's header revision); and a raftkv unlock must find its key still
 * there ({@link HeldLock#unlock()} true). Any of those, or a session lost, and the run exits 1.
 *
 * <p>After the cases, the sessions still open and kept alive, the nodes' CPU is measured for {@code --idle-seconds}:
 * heartbeats, ticks and keepalives alone, so that the cases' node CPU per acquisition can be given beyond it.
 * CPU: {@link ProcessCpu} over each measured window, for the processes {@code --pids} names (the nodes).
 */
public final class LockContention {

    private static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    /** raftkv's client deadline per call; etcd's lease grant and unlock wait this long. */
    private static final long DEADLINE_SECONDS = 10;
    /** A failed lock or unlock is tried again this much later (no busy loop on a refusing cluster). */
    private static final long RETRY_MS = 50;
    /** After the window, the clients finish the acquisition they are in; those still inside after this are reported stuck. */
    private static final long DRAIN_SECONDS_MAX = 30;
    static final String NAME_PREFIX = "lockbench/";
    static final List<String> CASES = List.of("contended", "uncontended");

    record Options(String target, List<String> endpoints, int clients, double seconds, double warmupSeconds, List<String> cases, long ttlSeconds,
                   double idleSeconds, List<Long> pids, int clockTicks, Path json) {

        static Options parse(String[] args) {
            Map<String, String> v = new HashMap<>();
            List<String> flags = List.of("--target", "--endpoints", "--clients", "--seconds", "--warmup-seconds", "--cases", "--ttl", "--idle-seconds", "--pids",
                    "--clock-ticks", "--json");
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--help") || args[i].equals("-h")) throw new LoadGenerator.UsageException(null);
                if (!flags.contains(args[i])) throw new LoadGenerator.UsageException("unknown flag " + args[i]);
                if (i + 1 >= args.length) throw new LoadGenerator.UsageException(args[i] + " needs a value");
                v.put(args[i], args[++i]);
            }
            String target = v.getOrDefault("--target", "raftkv");
            if (!target.equals("raftkv") && !target.equals("etcd")) throw new LoadGenerator.UsageException("--target is raftkv or etcd");
            if (!v.containsKey("--endpoints")) throw new LoadGenerator.UsageException("--endpoints is required");
            try {
                int clients = Integer.parseInt(v.getOrDefault("--clients", "16"));
                double seconds = Double.parseDouble(v.getOrDefault("--seconds", "20"));
                double warmup = Double.parseDouble(v.getOrDefault("--warmup-seconds", "5"));
                long ttl = Long.parseLong(v.getOrDefault("--ttl", "60"));
                double idle = Double.parseDouble(v.getOrDefault("--idle-seconds", "5"));
                int clockTicks = Integer.parseInt(v.getOrDefault("--clock-ticks", "100"));
                List<Long> pids = list(v.getOrDefault("--pids", "")).stream().map(Long::parseLong).toList();
                List<String> cases = list(v.getOrDefault("--cases", String.join(",", CASES)));
                if (clients < 1 || seconds <= 0 || warmup < 0 || ttl < 5 || idle < 0 || clockTicks < 1) {
                    throw new LoadGenerator.UsageException("--clients, --seconds and --clock-ticks must be positive, --ttl at least 5 s");
                }
                if (cases.isEmpty() || !CASES.containsAll(cases)) throw new LoadGenerator.UsageException("--cases is a list of " + String.join(", ", CASES));
                Path json = v.containsKey("--json") ? Path.of(v.get("--json")) : null;
                return new Options(target, list(v.get("--endpoints")), clients, seconds, warmup, cases, ttl, idle, pids, clockTicks, json);
            } catch (NumberFormatException e) {
                throw new LoadGenerator.UsageException("a number was expected: " + e.getMessage());
            }
        }

        private static List<String> list(String s) {
            return Arrays.stream(s.split(",")).map(String::strip).filter(x -> !x.isEmpty()).toList();
        }
    }

    static String usage() {
        return "usage: LockContention --endpoints HOST:PORT,... [--target raftkv|etcd] [--clients N] [--seconds S] [--warmup-seconds S]\n"
                + "         [--cases contended,uncontended] [--ttl S] [--idle-seconds S] [--pids PID,...] [--clock-ticks HZ] [--json FILE]";
    }

    // ------------------------------------------------------------------ the two client libraries

    /** One client's locks: a client object and a lease of its own. Used by one thread. */
    interface Locker extends AutoCloseable {
        Held lock(String name) throws Exception;

        /** Why the lease was lost (expired, or the library gave it up), or null while it is kept. */
        String lost();

        @Override
        void close();
    }

    /** A lock held. */
    interface Held {
        /** A revision at which the lock was found held: larger for each later holder of the same lock. */
        long revision();

        /** Releases; true when the lock was still held, false when it was gone already, null when the call cannot tell. */
        Boolean unlock() throws Exception;
    }

    /** raftkv: a {@link RaftKvClient} on every endpoint (it finds the leader), a {@link LeaseSession}, a {@link Mutex} per name. */
    static final class RaftKvLocker implements Locker {
        private final RaftKvClient client;
        private final LeaseSession session;
        private final Map<String, Mutex> mutexes = new HashMap<>();

        RaftKvLocker(List<String> endpoints, long ttlSeconds) {
            client = new RaftKvClient(RaftKvClient.parseEndpoints(String.join(",", endpoints)), Duration.ofSeconds(DEADLINE_SECONDS));
            try {
                session = LeaseSession.open(client, ttlSeconds);
            } catch (RuntimeException e) {
                client.close();
                throw e;
            }
        }

        @Override
        public Held lock(String name) throws InterruptedException {
            HeldLock h = mutexes.computeIfAbsent(name, n -> new Mutex(session, n)).lock();
            return new Held() {
                @Override
                public long revision() {
                    return h.revision();
                }

                @Override
                public Boolean unlock() {
                    return h.unlock();
                }
            };
        }

        @Override
        public String lost() {
            if (!session.done().isCompletedExceptionally()) return null;
            try {
                session.done().join();
                return null;
            } catch (CompletionException e) {
                return String.valueOf(e.getCause());
            }
        }

        @Override
        public void close() {
            try {
                session.close();
            } catch (RuntimeException e) {
                // the lease ends a TTL later
            }
            client.close();
        }
    }

    /**
     * etcd: a jetcd {@link Client} on every endpoint (jetcd spreads its calls over them), a lease granted and kept alive
     * by jetcd's {@code keepAlive}, and jetcd's Lock client: etcd's v3lock service runs concurrency.Mutex in the member
     * that gets the call (the same queue by create revision as raftkv's Mutex), and unlock deletes the key.
     */
    static final class EtcdLocker implements Locker {
        private final Client client;
        private final long leaseId;
        private final CloseableClient keepAlive;
        private final AtomicReference<String> lost = new AtomicReference<>();

        EtcdLocker(List<String> endpoints, long ttlSeconds) throws Exception {
            client = Client.builder().endpoints(endpoints.stream().map(e -> e.startsWith("http") ? e : "http://" + e).toArray(String[]::new)).build();
            try {
                leaseId = client.getLeaseClient().grant(ttlSeconds).get(DEADLINE_SECONDS, TimeUnit.SECONDS).getID();
                keepAlive = client.getLeaseClient().keepAlive(leaseId, new StreamObserver<>() {
                    @Override
                    public void onNext(io.etcd.jetcd.lease.LeaseKeepAliveResponse r) {
                    }

                    @Override
                    public void onError(Throwable t) {
                        // jetcd reports a stream error to every lease and then restarts the stream: a lease is lost only when
                        // etcd says it does not exist (or jetcd's deadline for it passes: onCompleted).
                        if (String.valueOf(t).contains("not found")) lost.compareAndSet(null, String.valueOf(t));
                    }

                    @Override
                    public void onCompleted() {
                        lost.compareAndSet(null, "jetcd: no keepalive answered within the TTL (the client takes the lease as expired)");
                    }
                });
            } catch (Exception e) {
                client.close();
                throw e;
            }
        }

        @Override
        public Held lock(String name) throws Exception {
            LockResponse r = client.getLockClient().lock(ByteSequence.from(name, StandardCharsets.UTF_8), leaseId).get();
            return new Held() {
                @Override
                public long revision() {
                    return r.getHeader().getRevision();
                }

                @Override
                public Boolean unlock() throws Exception {
                    client.getLockClient().unlock(r.getKey()).get(DEADLINE_SECONDS, TimeUnit.SECONDS);
                    return null; // etcd's Unlock deletes the key, whatever is there
                }
            };
        }

        @Override
        public String lost() {
            return lost.get();
        }

        @Override
        public void close() {
            keepAlive.close();
            try {
                client.getLeaseClient().revoke(leaseId).get(DEADLINE_SECONDS, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the lease ends a TTL later
            }
            client.close();
        }
    }

    // ------------------------------------------------------------------ one case

    /** A lock's name and what its critical section shares. */
    static final class Name {
        final String name;
        /** Holders inside the critical section now. */
        final AtomicInteger inside = new AtomicInteger();
        /** Acquisitions of the whole run, counted atomically in the critical section. */
        final AtomicLong acquisitions = new AtomicLong();
        /** The same count without synchronisation: read and written only inside the critical section (inside's increment and decrement order them). */
        long plainCount;
        /** The previous holder's revision. */
        long lastRevision;
        /** When the previous holder began to unlock, System.nanoTime(); 0 before the first. */
        long releasedAtNanos;

        Name(String name) {
            this.name = name;
        }
    }

    /** One client's thread: lock, the critical section, unlock, until stopped. Its fields are read after join(). */
    final class Worker implements Runnable {
        final Locker locker;
        final Name name;
        final Histogram acquire = new Histogram(LATENCY_MICROS_MAX, 3);
        final Histogram release = new Histogram(LATENCY_MICROS_MAX, 3);
        final Histogram free = new Histogram(LATENCY_MICROS_MAX, 3);
        long measured;
        long overlaps;
        long revisionsNotAbove;
        long notHeldAtUnlock;
        long lockErrors;
        long unlockErrors;
        String firstError;
        volatile boolean finished;

        Worker(Locker locker, Name name) {
            this.locker = locker;
            this.name = name;
        }

        @Override
        public void run() {
            try {
                while (!stop) {
                    long t0 = System.nanoTime();
                    Held h;
                    try {
                        h = locker.lock(name.name);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        lockErrors++;
                        error(e);
                        pause();
                        continue;
                    }
                    long t1 = System.nanoTime();
                    boolean counted = measuring;
                    // The critical section.
                    if (name.inside.getAndIncrement() != 0) overlaps++;
                    long revision = h.revision();
                    if (revision <= name.lastRevision) revisionsNotAbove++;
                    name.lastRevision = revision;
                    long releasedAt = name.releasedAtNanos;
                    name.plainCount++;
                    name.acquisitions.incrementAndGet();
                    long t2 = System.nanoTime();
                    name.releasedAtNanos = t2;
                    name.inside.decrementAndGet();
                    Boolean held;
                    try {
                        held = h.unlock();
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        unlockErrors++;
                        error(e);
                        held = null;
                        pause();
                    }
                    long t3 = System.nanoTime();
                    if (Boolean.FALSE.equals(held)) notHeldAtUnlock++;
                    if (counted) {
                        measured++;
                        acquire.recordValue(Math.min(LATENCY_MICROS_MAX, (t1 - t0) / 1000));
                        release.recordValue(Math.min(LATENCY_MICROS_MAX, (t3 - t2) / 1000));
                        if (releasedAt != 0) free.recordValue(Math.min(LATENCY_MICROS_MAX, Math.max(0, t1 - Math.max(releasedAt, t0)) / 1000));
                    }
                }
            } finally {
                finished = true;
            }
        }

        private void error(Exception e) {
            Throwable cause = (e instanceof ExecutionException || e instanceof CompletionException) && e.getCause() != null ? e.getCause() : e;
            if (firstError == null) firstError = String.valueOf(cause);
        }

        private void pause() {
            try {
                TimeUnit.MILLISECONDS.sleep(RETRY_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    record Case(String kind, int names, double seconds, long acquisitions, long minPerClient, long maxPerClient, Histogram acquire, Histogram release, Histogram free,
                long overlaps, long revisionsNotAbove, long countMismatches, long notHeldAtUnlock, long lockErrors, long unlockErrors, String firstError,
                long sessionsLost, String firstLost, long stuck, ProcessCpu.Window cpu) {

        long violations() {
            return overlaps + revisionsNotAbove + countMismatches + notHeldAtUnlock;
        }

        boolean clean() {
            return violations() == 0 && sessionsLost == 0 && stuck == 0;
        }

        double perSecond() {
            return acquisitions / seconds;
        }

        String json(ProcessCpu.Window idle) {
            return String.format(Locale.ROOT, "{\"case\": \"%s\", \"names\": %d, \"seconds\": %.2f, \"acquisitions\": %d, \"acquisitions_per_s\": %.1f, "
                            + "\"per_client_min\": %d, \"per_client_max\": %d, "
                            + "\"acquire_p50_ms\": %.3f, \"acquire_p99_ms\": %.3f, \"acquire_p999_ms\": %.3f, \"acquire_max_ms\": %.3f, "
                            + "\"release_p50_ms\": %.3f, \"release_p99_ms\": %.3f, \"release_max_ms\": %.3f, "
                            + "\"acquire_mean_ms\": %.3f, \"free_mean_ms\": %.3f, \"free_p50_ms\": %.3f, \"free_p99_ms\": %.3f, \"free_max_ms\": %.3f, "
                            + "\"overlaps\": %d, \"revisions_not_above\": %d, \"count_mismatches\": %d, \"not_held_at_unlock\": %d, \"violations\": %d, "
                            + "\"lock_errors\": %d, \"unlock_errors\": %d, \"first_error\": %s, \"sessions_lost\": %d, \"stuck\": %d, %s, "
                            + "\"node_cpu_us_per_acquisition_above_idle\": %.2f}",
                    kind, names, seconds, acquisitions, perSecond(), minPerClient, maxPerClient,
                    ms(acquire, 50), ms(acquire, 99), ms(acquire, 99.9), acquire.getMaxValue() / 1000.0, ms(release, 50), ms(release, 99), release.getMaxValue() / 1000.0,
                    acquire.getMean() / 1000.0, free.getMean() / 1000.0, ms(free, 50), ms(free, 99), free.getMaxValue() / 1000.0,
                    overlaps, revisionsNotAbove, countMismatches, notHeldAtUnlock, violations(), lockErrors, unlockErrors, quote(firstError), sessionsLost, stuck,
                    cpu.json("acquisition", acquisitions), cpu.microsPer(cpu.nodes() - idle.nodes(), acquisitions));
        }
    }

    static double ms(Histogram h, double p) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(p) / 1000.0;
    }

    private static String quote(String s) {
        return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "'").replace("\n", " ") + "\"";
    }

    // ------------------------------------------------------------------ the run

    private final Options o;
    private final List<Locker> lockers;
    private volatile boolean stop;
    private volatile boolean measuring;

    LockContention(Options o, List<Locker> lockers) {
        this.o = o;
        this.lockers = lockers;
    }

    Case run(String kind) throws InterruptedException {
        boolean contended = kind.equals("contended");
        List<Name> names = new ArrayList<>();
        if (contended) names.add(new Name(NAME_PREFIX + "one"));
        else for (int c = 0; c < o.clients(); c++) names.add(new Name(NAME_PREFIX + "own-" + c));
        stop = false;
        measuring = false;
        List<Worker> workers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < o.clients(); c++) {
            Worker w = new Worker(lockers.get(c), names.get(contended ? 0 : c));
            workers.add(w);
            Thread t = new Thread(w, kind + "-" + c);
            t.setDaemon(true);
            threads.add(t);
        }
        threads.forEach(Thread::start);
        sleepSeconds(o.warmupSeconds());
        ProcessCpu.Snapshot cpuStart = ProcessCpu.Snapshot.take(o.pids());
        long start = System.nanoTime();
        measuring = true;
        sleepSeconds(o.seconds());
        measuring = false;
        long end = System.nanoTime();
        ProcessCpu.Snapshot cpuEnd = ProcessCpu.Snapshot.take(o.pids());
        stop = true;
        long drainUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(DRAIN_SECONDS_MAX);
        for (Thread t : threads) t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(drainUntil - System.nanoTime())));
        long stuck = workers.stream().filter(w -> !w.finished).count();

        Histogram acquire = new Histogram(LATENCY_MICROS_MAX, 3);
        Histogram release = new Histogram(LATENCY_MICROS_MAX, 3);
        Histogram free = new Histogram(LATENCY_MICROS_MAX, 3);
        long total = 0, min = Long.MAX_VALUE, max = 0, overlaps = 0, revisions = 0, notHeld = 0, lockErrors = 0, unlockErrors = 0;
        String firstError = null;
        for (Worker w : workers) {
            acquire.add(w.acquire);
            release.add(w.release);
            if (contended) free.add(w.free);
            total += w.measured;
            min = Math.min(min, w.measured);
            max = Math.max(max, w.measured);
            overlaps += w.overlaps;
            revisions += w.revisionsNotAbove;
            notHeld += w.notHeldAtUnlock;
            lockErrors += w.lockErrors;
            unlockErrors += w.unlockErrors;
            if (firstError == null) firstError = w.firstError;
        }
        long mismatches = 0;
        if (stuck == 0) { // a stuck worker may be inside its critical section
            for (Name n : names) if (n.plainCount != n.acquisitions.get()) mismatches++;
        }
        long lost = 0;
        String firstLost = null;
        for (Locker l : lockers) {
            String why = l.lost();
            if (why != null) {
                lost++;
                if (firstLost == null) firstLost = why;
            }
        }
        return new Case(kind, names.size(), (end - start) / 1e9, total, min, max, acquire, release, free, overlaps, revisions, mismatches, notHeld, lockErrors, unlockErrors,
                firstError, lost, firstLost, stuck, ProcessCpu.Window.between(cpuStart, cpuEnd, o.clockTicks()));
    }

    private static void sleepSeconds(double s) throws InterruptedException {
        long until = System.nanoTime() + (long) (s * 1e9);
        long wait;
        while ((wait = until - System.nanoTime()) > 0) TimeUnit.NANOSECONDS.sleep(wait);
    }

    static List<Locker> open(Options o) throws Exception {
        List<Locker> lockers = new ArrayList<>();
        try {
            for (int c = 0; c < o.clients(); c++) {
                lockers.add(o.target().equals("etcd") ? new EtcdLocker(o.endpoints(), o.ttlSeconds()) : new RaftKvLocker(o.endpoints(), o.ttlSeconds()));
            }
            return lockers;
        } catch (Exception e) {
            lockers.forEach(Locker::close);
            throw e;
        }
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (LoadGenerator.UsageException e) {
            if (e.getMessage() != null) System.err.println("lock-contention: " + e.getMessage());
            System.err.println(usage());
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        PrintStream out = System.out;
        boolean clean = true;
        List<String> parts = new ArrayList<>();
        List<Case> cases = new ArrayList<>();
        String library = o.target().equals("etcd") ? "jetcd Lock.lock(name, lease) / unlock(key), a lease per client kept alive by jetcd"
                : "Mutex.lock() / HeldLock.unlock() on a LeaseSession per client";
        out.printf(Locale.ROOT, "%s: %d clients, each its own client object and lease of %d s; %s%n", o.target(), o.clients(), o.ttlSeconds(), library);
        List<Locker> lockers = open(o);
        ProcessCpu.Window idle;
        try {
            LockContention run = new LockContention(o, lockers);
            for (String kind : o.cases()) {
                out.printf(Locale.ROOT, "%s (%s): warm-up %.0f s, then %.0f s measured%n", kind,
                        kind.equals("contended") ? "every client locks " + NAME_PREFIX + "one" : "each client locks a name of its own", o.warmupSeconds(), o.seconds());
                Case c = run.run(kind);
                cases.add(c);
                out.printf(Locale.ROOT, "  acquisitions: %d in %.1f s = %.0f/s; per client min %d, max %d%n", c.acquisitions(), c.seconds(), c.perSecond(),
                        c.minPerClient(), c.maxPerClient());
                out.printf(Locale.ROOT, "  acquire (lock call → held): mean %.2f ms, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms; release (unlock call → answered): p50 %.2f ms, "
                                + "p99 %.2f ms, max %.2f ms%n", c.acquire().getMean() / 1000.0, ms(c.acquire(), 50), ms(c.acquire(), 99), ms(c.acquire(), 99.9), c.acquire().getMaxValue() / 1000.0,
                        ms(c.release(), 50), ms(c.release(), 99), c.release().getMaxValue() / 1000.0);
                if (c.kind().equals("contended")) {
                    out.printf(Locale.ROOT, "  lock free while wanted (previous holder's unlock call → next held): mean %.2f ms, p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                            c.free().getMean() / 1000.0, ms(c.free(), 50),
                            ms(c.free(), 99), c.free().getMaxValue() / 1000.0);
                }
                out.printf(Locale.ROOT, "  mutual exclusion (whole case): overlaps %d, revisions not above the previous holder's %d, unsynchronised count lost %d, "
                                + "unlock found the lock gone %d; lock errors %d, unlock errors %d%s; sessions lost %d%s; stuck after the window %d%n",
                        c.overlaps(), c.revisionsNotAbove(), c.countMismatches(), c.notHeldAtUnlock(), c.lockErrors(), c.unlockErrors(),
                        c.firstError() == null ? "" : " (first: " + c.firstError() + ")", c.sessionsLost(), c.firstLost() == null ? "" : " (" + c.firstLost() + ")", c.stuck());
                out.println("  " + c.cpu().text(o.pids(), "acquisition", c.acquisitions()));
                clean &= c.clean();
                if (c.stuck() > 0) break;
            }
            // The nodes' own cost with the sessions open and nothing locked: warm, keepalives and heartbeats alone.
            ProcessCpu.Snapshot idleStart = ProcessCpu.Snapshot.take(o.pids());
            sleepSeconds(o.idleSeconds());
            idle = ProcessCpu.Window.between(idleStart, ProcessCpu.Snapshot.take(o.pids()), o.clockTicks());
            out.printf(Locale.ROOT, "idle (%.1f s, sessions open, nothing locked): nodes %.1f %% of one core (%s)%n", idle.seconds(), idle.nodes(), idle.nodesEach());
            for (Case c : cases) {
                out.printf(Locale.ROOT, "  %s: nodes' CPU per acquisition beyond idle %.1f µs%n", c.kind(), c.cpu().microsPer(c.cpu().nodes() - idle.nodes(), c.acquisitions()));
            }
        } finally {
            lockers.forEach(Locker::close);
        }
        parts.add(String.format(Locale.ROOT, "\"target\": \"%s\", \"clients\": %d, \"ttl_s\": %d, \"idle_node_cpu_percent\": [%s], \"idle_node_cpu_percent_total\": %.1f",
                o.target(), o.clients(), o.ttlSeconds(), idle.nodesEach(), idle.nodes()));
        parts.add("\"cases\": [" + String.join(", ", cases.stream().map(c -> c.json(idle)).toList()) + "]");
        if (o.json() != null) Files.writeString(o.json(), "{" + String.join(", ", parts) + "}\n");
        out.println(clean ? "mutual exclusion held: no overlap, no lost update, revisions always growing, no session lost"
                : "MUTUAL EXCLUSION OR A SESSION BROKEN, OR A CLIENT STUCK (see above)");
        System.exit(clean ? 0 : 1);
    }
}
