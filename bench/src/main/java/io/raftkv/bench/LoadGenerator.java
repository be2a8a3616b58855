package io.raftkv.bench;

import io.raftkv.protocol.RangeRequest;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The end-to-end load generator, {@code bin/raftkv-bench}: a closed loop of {@code --concurrency} operations
 * in flight against raftkv or etcd, latencies recorded in HdrHistogram. Prints a progress line while it
 * runs, then a table; writes the same as JSON and the percentile distribution as .hgrm.
 *
 * <p>Workloads, each one operation at a time per slot of the loop:
 * <ul>
 * <li>{@code put}, {@code get}, {@code get-serializable}: one key of the keyspace, chosen at random.</li>
 * <li>{@code range}: a linearizable range over 100 keys, those whose zero-padded decimal names share all but the
 *     last two digits (a prefix), chosen at random; the keys must exist ({@code --preload}). A range that returns
 *     another number of keys counts as an error.</li>
 * <li>{@code txn-cas}: increments one of {@code --counters} hot counters, chosen at random, by read-modify-write:
 *     read the counter (value and mod revision), then one transaction "if its mod revision is still the one read,
 *     put the value + 1, else read it". A failed compare is not an error: the operation tries again from what the
 *     transaction's else branch read (no second read), until it succeeds or has failed {@value #CAS_ATTEMPTS_MAX}
 *     times (then it is an error). <b>One operation is one increment that succeeded</b>, however many attempts it
 *     took; its latency runs from the read to the successful transaction's answer. Failed compares are counted
 *     apart ({@code conflicts}). At the end the counters must have grown by exactly the increments acknowledged.</li>
 * <li>{@code mix}: each operation drawn at random from {@code --mix} (default get 50 %, put 30 %, range 10 %,
 *     txn-cas 10 %), each counted as one operation as above; {@code --read-ratio R} is the older form, get R and
 *     put 1 - R.</li>
 * </ul>
 */
public final class LoadGenerator {

    private static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);
    /** Attempts of one increment before it counts as an error: a limit, so that a starved slot cannot spin forever. */
    static final int CAS_ATTEMPTS_MAX = 1_000;
    /** Keys one range reads: those sharing all but the last two decimal digits. */
    static final int RANGE_KEYS = 100;
    private static final List<String> WORKLOADS = List.of("put", "get", "get-serializable", "range", "txn-cas", "mix");

    /** One kind of operation. */
    enum Op { GET, GET_SERIALIZABLE, PUT, RANGE, TXN_CAS }

    /** A weighted choice between get, put, range and txn-cas; the weights need not add up to 1. */
    record Mix(double get, double put, double range, double txnCas) {

        static final Mix DEFAULT = new Mix(50, 30, 10, 10);

        Mix {
            if (get < 0 || put < 0 || range < 0 || txnCas < 0 || get + put + range + txnCas <= 0) {
                throw new UsageException("--mix weights must be non-negative and not all zero");
            }
        }

        /** {@code get=50,put=30,range=10,txn-cas=10}; a kind left out has weight 0. */
        static Mix parse(String spec) {
            double[] w = new double[4];
            for (String part : spec.split(",")) {
                String[] kv = part.strip().split("=", 2);
                if (kv.length != 2) throw new UsageException("--mix is a list like get=50,put=30,range=10,txn-cas=10, got '" + spec + "'");
                int i = switch (kv[0].strip()) {
                    case "get" -> 0;
                    case "put" -> 1;
                    case "range" -> 2;
                    case "txn-cas" -> 3;
                    default -> throw new UsageException("--mix knows get, put, range and txn-cas, not '" + kv[0] + "'");
                };
                try {
                    w[i] = Double.parseDouble(kv[1].strip());
                } catch (NumberFormatException e) {
                    throw new UsageException("--mix needs a number for " + kv[0] + ", got '" + kv[1] + "'");
                }
            }
            return new Mix(w[0], w[1], w[2], w[3]);
        }

        Op pick(double u) {
            double x = u * (get + put + range + txnCas);
            if (x < get) return Op.GET;
            if (x < get + put) return Op.PUT;
            if (x < get + put + range) return Op.RANGE;
            return Op.TXN_CAS;
        }

        boolean uses(Op op) {
            return switch (op) {
                case GET -> get > 0;
                case PUT -> put > 0;
                case RANGE -> range > 0;
                case TXN_CAS -> txnCas > 0;
                case GET_SERIALIZABLE -> false;
            };
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "get=%s,put=%s,range=%s,txn-cas=%s", num(get), num(put), num(range), num(txnCas));
        }

        private static String num(double d) {
            return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
        }
    }

    /** What one run does; see {@link #usage()} for the flags. */
    record Options(String name, String target, String endpoints, String workload, Mix mix, long ops, double durationSeconds,
                   int concurrency, int connections, int keySize, int valueSize, int keyspace, int counters, boolean preload,
                   long warmup, double warmupSeconds, Path json, Path hgrmDir) {

        static Options parse(String[] args) {
            String name = null;
            String target = "raftkv";
            String endpoints = null;
            String workload = "put";
            Double readRatio = null;
            Mix mix = null;
            long ops = 0;
            double duration = 0;
            int concurrency = 1;
            int connections = 1;
            int keySize = 16;
            int valueSize = 256;
            int keyspace = 100_000;
            int counters = 8;
            boolean preload = false;
            long warmup = 0;
            double warmupSeconds = 0;
            Path json = null;
            Path hgrmDir = null;
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--preload")) {
                    preload = true;
                    continue;
                }
                if (flag.equals("--help") || flag.equals("-h")) throw new UsageException(null);
                if (i + 1 >= args.length) throw new UsageException(flag + " needs a value");
                String v = args[++i];
                try {
                    switch (flag) {
                        case "--name" -> name = v;
                        case "--target" -> target = v;
                        case "--endpoints" -> endpoints = v;
                        case "--workload" -> workload = v;
                        case "--read-ratio" -> readRatio = Double.parseDouble(v);
                        case "--mix" -> mix = Mix.parse(v);
                        case "--ops" -> ops = Long.parseLong(v);
                        case "--duration" -> duration = Double.parseDouble(v);
                        case "--concurrency" -> concurrency = Integer.parseInt(v);
                        case "--connections" -> connections = Integer.parseInt(v);
                        case "--key-size" -> keySize = Integer.parseInt(v);
                        case "--value-size" -> valueSize = Integer.parseInt(v);
                        case "--keyspace" -> keyspace = Integer.parseInt(v);
                        case "--counters" -> counters = Integer.parseInt(v);
                        case "--warmup" -> warmup = Long.parseLong(v);
                        case "--warmup-seconds" -> warmupSeconds = Double.parseDouble(v);
                        case "--json" -> json = Path.of(v);
                        case "--hgrm-dir" -> hgrmDir = Path.of(v);
                        default -> throw new UsageException("unknown flag " + flag);
                    }
                } catch (NumberFormatException e) {
                    throw new UsageException(flag + " needs a number, got '" + v + "'");
                }
            }
            if (!target.equals("raftkv") && !target.equals("etcd")) throw new UsageException("--target is raftkv or etcd");
            if (endpoints == null) throw new UsageException("--endpoints is required");
            if (!WORKLOADS.contains(workload)) throw new UsageException("--workload is one of " + String.join(", ", WORKLOADS));
            if ((ops > 0) == (duration > 0)) throw new UsageException("give exactly one of --ops N and --duration S");
            if (concurrency < 1 || connections < 1 || keyspace < 1 || counters < 1 || valueSize < 0) {
                throw new UsageException("--concurrency, --connections, --keyspace and --counters must be positive");
            }
            if (warmup < 0 || warmupSeconds < 0) throw new UsageException("--warmup and --warmup-seconds cannot be negative");
            if (readRatio != null && (readRatio < 0 || readRatio > 1)) throw new UsageException("--read-ratio is between 0 and 1");
            if (readRatio != null && mix != null) throw new UsageException("give --mix or --read-ratio, not both");
            if ((readRatio != null || mix != null) && !workload.equals("mix")) throw new UsageException("--mix and --read-ratio go with --workload mix");
            if (readRatio != null) mix = new Mix(readRatio, 1 - readRatio, 0, 0);
            if (mix == null) mix = Mix.DEFAULT;
            if (String.valueOf(keyspace - 1).length() > keySize) throw new UsageException("--key-size " + keySize + " is too small for --keyspace " + keyspace);
            Options o = new Options(name == null ? target + "-" + workload + "-c" + concurrency : name, target, endpoints, workload, mix, ops,
                    duration, concurrency, connections, keySize, valueSize, keyspace, counters, preload, warmup, warmupSeconds, json, hgrmDir);
            if (o.uses(Op.RANGE) && keySize < 3) throw new UsageException("ranges need --key-size 3 or more (a prefix of all but two digits)");
            if (o.uses(Op.TXN_CAS) && COUNTER_PREFIX.length + String.valueOf(counters - 1).length() > keySize) {
                throw new UsageException("--key-size " + keySize + " is too small for --counters " + counters + " (counter keys are 'ctr' and digits)");
            }
            return o;
        }

        /** Whether this run issues operations of this kind. */
        boolean uses(Op op) {
            return switch (workload) {
                case "put" -> op == Op.PUT;
                case "get" -> op == Op.GET;
                case "get-serializable" -> op == Op.GET_SERIALIZABLE;
                case "range" -> op == Op.RANGE;
                case "txn-cas" -> op == Op.TXN_CAS;
                default -> mix.uses(op);
            };
        }

        Op pick(ThreadLocalRandom random) {
            return switch (workload) {
                case "put" -> Op.PUT;
                case "get" -> Op.GET;
                case "get-serializable" -> Op.GET_SERIALIZABLE;
                case "range" -> Op.RANGE;
                case "txn-cas" -> Op.TXN_CAS;
                default -> mix.pick(random.nextDouble());
            };
        }
    }

    /**
     * The outcome of one run. {@code increments}: the measured operations that were increments (txn-cas);
     * {@code conflicts}: their failed compares (each retried);
     * {@code counterCheck}: "ok" when the counters grew by exactly the increments acknowledged, else what went
     * wrong; empty when the run had no increments.
     */
    record Result(String name, String target, String workload, int concurrency, int connections, long ops, long errors, long increments, long conflicts,
                  String counterCheck, double seconds, Histogram latency) {
        double throughput() {
            return ops / seconds;
        }

        double percentileMs(double p) {
            return latency.getValueAtPercentile(p) / 1000.0;
        }

        String json() {
            return String.format(Locale.ROOT, "{\"name\": \"%s\", \"target\": \"%s\", \"workload\": \"%s\", \"concurrency\": %d, \"connections\": %d, "
                            + "\"ops\": %d, \"errors\": %d, \"increments\": %d, \"conflicts\": %d, \"counter_check\": \"%s\", \"seconds\": %.3f, \"throughput\": %.1f, "
                            + "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f}",
                    name, target, workload, concurrency, connections, ops, errors, increments, conflicts, counterCheck, seconds, throughput(), percentileMs(50),
                    percentileMs(90), percentileMs(99), percentileMs(99.9), latency.getMaxValue() / 1000.0);
        }
    }

    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private LoadGenerator() {
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (UsageException e) {
            if (e.getMessage() != null) System.err.println("raftkv-bench: " + e.getMessage());
            System.err.println(usage());
            System.exit(e.getMessage() == null ? 0 : 2);
            return;
        }
        Result r;
        try (KvTarget target = o.target().equals("etcd") ? new EtcdTarget(o.endpoints(), o.connections()) : new RaftKvTarget(o.endpoints(), o.connections())) {
            r = run(o, target, System.err);
        }
        printTable(r, System.out);
        if (o.json() != null) Files.writeString(o.json(), r.json() + "\n");
        if (o.hgrmDir() != null) writeHgrm(r, o.hgrmDir());
        System.exit(r.ops() == 0 || !(r.counterCheck().isEmpty() || r.counterCheck().equals("ok")) ? 1 : 0);
    }

    static String usage() {
        return "usage: raftkv-bench --endpoints HOST:PORT,... [--target raftkv|etcd] [--workload " + String.join("|", WORKLOADS) + "]\n"
                + "         [--mix get=50,put=30,range=10,txn-cas=10 | --read-ratio R] (--ops N | --duration S) [--concurrency C]\n"
                + "         [--connections K] [--key-size B] [--value-size B] [--keyspace N] [--counters N] [--preload]\n"
                + "         [--warmup N] [--warmup-seconds S] [--json FILE] [--hgrm-dir DIR] [--name CASE]";
    }

    /** Runs the workload; {@code progress} gets a line a second. */
    static Result run(Options o, KvTarget target, PrintStream progress) throws InterruptedException {
        return new Run(o, target).run(progress);
    }

    /** The state of one run, shared by the slots of the closed loop. */
    private static final class Run {
        private final Options o;
        private final KvTarget target;
        private final byte[] payload;
        private final Recorder recorder = new Recorder(LATENCY_MICROS_MAX, 3);
        private final AtomicLong issued = new AtomicLong();
        private final AtomicLong measuredIssued = new AtomicLong();
        private final AtomicLong completed = new AtomicLong();
        private final AtomicLong errors = new AtomicLong();
        private final AtomicLong conflicts = new AtomicLong();
        private final AtomicLong measuredIncrements = new AtomicLong();
        /** Increments acknowledged, warm-up included; and those that failed with an error (which may have been applied). */
        private final AtomicLong increments = new AtomicLong();
        private final AtomicLong incrementErrors = new AtomicLong();
        private final AtomicLong measureStart = new AtomicLong();
        private final AtomicLong firstError = new AtomicLong();
        private volatile String firstErrorMessage;
        private long start;
        private CountDownLatch done;

        Run(Options o, KvTarget target) {
            this.o = o;
            this.target = target;
            this.payload = new byte[o.valueSize()];
            ThreadLocalRandom.current().nextBytes(payload);
        }

        Result run(PrintStream progress) throws InterruptedException {
            if (o.preload()) preload(o, target, payload, progress);
            boolean counting = o.uses(Op.TXN_CAS);
            long countersBefore = counting ? sumCounters() : 0;
            done = new CountDownLatch(o.concurrency());
            start = System.nanoTime();
            if (o.warmup() == 0 && o.warmupSeconds() == 0) measureStart.set(start);
            for (int i = 0; i < o.concurrency(); i++) next();
            long lastCount = 0;
            while (!done.await(1, TimeUnit.SECONDS)) {
                long now = completed.get();
                progress.printf(Locale.ROOT, "\r%s: %6.1f s  %,d ops  %,.0f ops/s  %d errors   ", o.name(), (System.nanoTime() - start) / 1e9, now,
                        (double) (now - lastCount), errors.get());
                lastCount = now;
            }
            progress.println();
            long end = System.nanoTime();
            if (firstErrorMessage != null) progress.println(o.name() + ": " + errors.get() + " errors; the first: " + firstErrorMessage);
            String check = "";
            if (counting) {
                long grown = sumCounters() - countersBefore;
                long acknowledged = increments.get();
                long unknown = incrementErrors.get();
                // An increment that failed with an error may still have been applied (its answer was lost).
                check = grown >= acknowledged && grown <= acknowledged + unknown ? "ok"
                        : "counters grew by " + grown + " for " + acknowledged + " increments acknowledged and " + unknown + " failed";
                progress.printf(Locale.ROOT, "%s: counters +%d for %d increments acknowledged (%d failed): %s%n", o.name(), grown, acknowledged,
                        unknown, check);
            }
            double seconds = (end - (measureStart.get() != 0 ? measureStart.get() : start)) / 1e9;
            Histogram h = recorder.getIntervalHistogram();
            return new Result(o.name(), o.target(), o.workload(), o.concurrency(), o.connections(), completed.get(), errors.get(), measuredIncrements.get(), conflicts.get(),
                    check, seconds, h);
        }

        /** Issues the next operation of a slot, or ends the slot when the run is over. */
        private void next() {
            long now = System.nanoTime();
            long n = issued.getAndIncrement();
            boolean measured = n >= o.warmup() && now - start >= (long) (o.warmupSeconds() * 1e9);
            if (measured) measureStart.compareAndSet(0, now);
            long measuring = measureStart.get();
            boolean timeUp = o.durationSeconds() > 0 && measuring != 0 && now - measuring >= (long) (o.durationSeconds() * 1e9);
            boolean enough = o.ops() > 0 && measured && measuredIssued.getAndIncrement() >= o.ops();
            if (timeUp || enough) {
                done.countDown();
                return;
            }
            ThreadLocalRandom random = ThreadLocalRandom.current();
            Op op = o.pick(random);
            long t0 = System.nanoTime();
            CompletableFuture<?> f = switch (op) {
                case PUT -> target.put(key(random.nextInt(o.keyspace()), o.keySize()), payload);
                case GET -> target.get(key(random.nextInt(o.keyspace()), o.keySize()), false);
                case GET_SERIALIZABLE -> target.get(key(random.nextInt(o.keyspace()), o.keySize()), true);
                case RANGE -> range(random.nextInt((o.keyspace() + RANGE_KEYS - 1) / RANGE_KEYS));
                case TXN_CAS -> increment(counterKey(random.nextInt(o.counters()), o.keySize()), measured);
            };
            f.whenComplete((ok, error) -> {
                if (error != null) {
                    errors.incrementAndGet();
                    if (firstError.getAndIncrement() == 0) firstErrorMessage = String.valueOf(error);
                } else if (measured) {
                    recorder.recordValue(Math.min(LATENCY_MICROS_MAX, (System.nanoTime() - t0) / 1000));
                    completed.incrementAndGet();
                    if (op == Op.TXN_CAS) measuredIncrements.incrementAndGet();
                }
                next();
            });
        }

        /** Reads the 100 keys of group {@code group} (keys {@code group * 100} to {@code group * 100 + 99}); fails unless all come back. */
        private CompletableFuture<?> range(int group) {
            int first = group * RANGE_KEYS;
            int expected = Math.min(o.keyspace(), first + RANGE_KEYS) - first;
            byte[] prefix = Arrays.copyOf(key(first, o.keySize()), o.keySize() - 2);
            return target.range(prefix, RangeRequest.prefixEnd(prefix)).thenApply(count -> {
                if (count != expected) throw new IllegalStateException("a range over " + expected + " keys returned " + count + " (were the keys preloaded?)");
                return count;
            });
        }

        /** One increment of {@code counter}: read it, then compare-and-put until the compare holds. */
        private CompletableFuture<Void> increment(byte[] counter, boolean measured) {
            CompletableFuture<Void> result = new CompletableFuture<>();
            target.read(counter).whenComplete((v, e) -> {
                if (e != null) result.completeExceptionally(e);
                else tryIncrement(counter, v, 1, measured, result);
            });
            return result;
        }

        private void tryIncrement(byte[] counter, KvTarget.Versioned seen, int attempt, boolean measured, CompletableFuture<Void> result) {
            long value;
            try {
                value = counterValue(seen.value());
            } catch (NumberFormatException e) {
                result.completeExceptionally(e);
                return;
            }
            target.putIfModRevision(counter, seen.modRevision(), Long.toString(value + 1).getBytes(StandardCharsets.US_ASCII)).whenComplete((r, e) -> {
                if (e != null) {
                    incrementErrors.incrementAndGet();
                    result.completeExceptionally(e);
                } else if (r.succeeded()) {
                    increments.incrementAndGet();
                    result.complete(null);
                } else {
                    if (measured) conflicts.incrementAndGet();
                    if (attempt >= CAS_ATTEMPTS_MAX) {
                        result.completeExceptionally(new IllegalStateException("an increment gave up after " + attempt + " failed compares"));
                    } else {
                        tryIncrement(counter, r.current(), attempt + 1, measured, result);
                    }
                }
            });
        }

        /** The sum of every counter's value, read one after the other while nothing else runs. */
        private long sumCounters() {
            long sum = 0;
            for (int i = 0; i < o.counters(); i++) sum += counterValue(target.read(counterKey(i, o.keySize())).join().value());
            return sum;
        }
    }

    /** Writes every key once, so reads find values. */
    private static void preload(Options o, KvTarget target, byte[] value, PrintStream progress) throws InterruptedException {
        AtomicLong next = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        int lanes = Math.max(o.concurrency(), 64);
        CountDownLatch done = new CountDownLatch(lanes);
        Runnable[] lane = new Runnable[1];
        lane[0] = () -> {
            long k = next.getAndIncrement();
            if (k >= o.keyspace()) {
                done.countDown();
                return;
            }
            target.put(key((int) k, o.keySize()), value).whenComplete((ok, e) -> {
                if (e != null) failed.incrementAndGet();
                lane[0].run();
            });
        };
        for (int i = 0; i < lanes; i++) lane[0].run();
        while (!done.await(1, TimeUnit.SECONDS)) progress.printf("\rpreload: %,d of %,d keys   ", Math.min(next.get(), o.keyspace()), o.keyspace());
        progress.printf("\rpreload: %,d keys written, %d failed%n", o.keyspace(), failed.get());
    }

    /** Key number {@code n} as exactly {@code size} bytes: its decimal digits, zero-padded. */
    static byte[] key(int n, int size) {
        byte[] key = new byte[size];
        java.util.Arrays.fill(key, (byte) '0');
        byte[] digits = Integer.toString(n).getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(digits, 0, key, size - digits.length, digits.length);
        return key;
    }

    private static final byte[] COUNTER_PREFIX = "ctr".getBytes(StandardCharsets.US_ASCII);

    /**
     * Counter number {@code n} as exactly {@code size} bytes: "ctr", then its digits zero-padded. Letters sort after
     * digits, so no range of the keyspace's keys includes a counter.
     */
    static byte[] counterKey(int n, int size) {
        byte[] key = key(n, size);
        System.arraycopy(COUNTER_PREFIX, 0, key, 0, COUNTER_PREFIX.length);
        return key;
    }

    /** A counter's value: its decimal digits; 0 when the counter does not exist yet. */
    static long counterValue(byte[] value) {
        return value == null ? 0 : Long.parseLong(new String(value, StandardCharsets.US_ASCII));
    }

    static void printTable(Result r, PrintStream out) {
        out.printf(Locale.ROOT, "%-28s %10s %8s %12s %9s %9s %9s %9s %9s %7s%n", "case", "ops", "seconds", "ops/s", "p50 ms", "p90 ms", "p99 ms",
                "p99.9 ms", "max ms", "errors");
        out.printf(Locale.ROOT, "%-28s %10d %8.2f %12.1f %9.3f %9.3f %9.3f %9.3f %9.3f %7d%n", r.name(), r.ops(), r.seconds(), r.throughput(),
                r.percentileMs(50), r.percentileMs(90), r.percentileMs(99), r.percentileMs(99.9), r.latency().getMaxValue() / 1000.0, r.errors());
        if (!r.counterCheck().isEmpty()) {
            out.printf(Locale.ROOT, "%-28s %,d failed compares retried (%.2f per increment), counter check: %s%n", "", r.conflicts(),
                    r.increments() == 0 ? 0.0 : (double) r.conflicts() / r.increments(), r.counterCheck());
        }
    }

    static void writeHgrm(Result r, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (PrintStream out = new PrintStream(Files.newOutputStream(dir.resolve(r.name() + ".hgrm")), false, StandardCharsets.UTF_8)) {
            r.latency().outputPercentileDistribution(out, 1000.0);
        }
    }
}
