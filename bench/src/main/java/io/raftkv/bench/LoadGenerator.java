package io.raftkv.bench;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The end-to-end load generator, {@code bin/raftkv-bench}: a closed loop of {@code --concurrency} requests
 * in flight against raftkv or etcd, latencies recorded in HdrHistogram. Prints a progress line while it
 * runs, then a table; writes the same as JSON and the percentile distribution as .hgrm.
 */
public final class LoadGenerator {

    private static final long LATENCY_MICROS_MAX = TimeUnit.MINUTES.toMicros(10);

    /** What one run does; see {@link #usage()} for the flags. */
    record Options(String name, String target, String endpoints, String workload, double readRatio, long ops, double durationSeconds,
                   int concurrency, int connections, int keySize, int valueSize, int keyspace, boolean preload, long warmup,
                   Path json, Path hgrmDir) {

        static Options parse(String[] args) {
            String name = null;
            String target = "raftkv";
            String endpoints = null;
            String workload = "put";
            double readRatio = 0.9;
            long ops = 0;
            double duration = 0;
            int concurrency = 1;
            int connections = 1;
            int keySize = 16;
            int valueSize = 256;
            int keyspace = 100_000;
            boolean preload = false;
            long warmup = 0;
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
                        case "--ops" -> ops = Long.parseLong(v);
                        case "--duration" -> duration = Double.parseDouble(v);
                        case "--concurrency" -> concurrency = Integer.parseInt(v);
                        case "--connections" -> connections = Integer.parseInt(v);
                        case "--key-size" -> keySize = Integer.parseInt(v);
                        case "--value-size" -> valueSize = Integer.parseInt(v);
                        case "--keyspace" -> keyspace = Integer.parseInt(v);
                        case "--warmup" -> warmup = Long.parseLong(v);
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
            if (!java.util.List.of("put", "get", "get-serializable", "mix").contains(workload)) throw new UsageException("--workload is put, get, get-serializable or mix");
            if ((ops > 0) == (duration > 0)) throw new UsageException("give exactly one of --ops N and --duration S");
            if (concurrency < 1 || connections < 1 || keyspace < 1 || valueSize < 0) throw new UsageException("--concurrency, --connections and --keyspace must be positive");
            if (readRatio < 0 || readRatio > 1) throw new UsageException("--read-ratio is between 0 and 1");
            if (String.valueOf(keyspace - 1).length() > keySize) throw new UsageException("--key-size " + keySize + " is too small for --keyspace " + keyspace);
            if (name == null) name = target + "-" + workload + "-c" + concurrency;
            return new Options(name, target, endpoints, workload, readRatio, ops, duration, concurrency, connections, keySize, valueSize,
                    keyspace, preload, warmup, json, hgrmDir);
        }
    }

    /** The outcome of one run. */
    record Result(String name, String target, String workload, int concurrency, int connections, long ops, long errors, double seconds,
                  Histogram latency) {
        double throughput() {
            return ops / seconds;
        }

        double percentileMs(double p) {
            return latency.getValueAtPercentile(p) / 1000.0;
        }

        String json() {
            return String.format(Locale.ROOT, "{\"name\": \"%s\", \"target\": \"%s\", \"workload\": \"%s\", \"concurrency\": %d, \"connections\": %d, "
                            + "\"ops\": %d, \"errors\": %d, \"seconds\": %.3f, \"throughput\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
                            + "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"max_ms\": %.3f}",
                    name, target, workload, concurrency, connections, ops, errors, seconds, throughput(), percentileMs(50), percentileMs(90),
                    percentileMs(99), percentileMs(99.9), latency.getMaxValue() / 1000.0);
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
        System.exit(r.ops() == 0 ? 1 : 0);
    }

    static String usage() {
        return "usage: raftkv-bench --endpoints HOST:PORT,... [--target raftkv|etcd] [--workload put|get|get-serializable|mix]\n"
                + "         [--read-ratio R] (--ops N | --duration S) [--concurrency C] [--connections K] [--key-size B]\n"
                + "         [--value-size B] [--keyspace N] [--preload] [--warmup N] [--json FILE] [--hgrm-dir DIR] [--name CASE]";
    }

    /** Runs the workload; {@code progress} gets a line a second. */
    static Result run(Options o, KvTarget target, PrintStream progress) throws InterruptedException {
        byte[] value = new byte[o.valueSize()];
        ThreadLocalRandom.current().nextBytes(value);
        if (o.preload()) preload(o, target, value, progress);
        Recorder recorder = new Recorder(LATENCY_MICROS_MAX, 3);
        AtomicLong issued = new AtomicLong();
        AtomicLong completed = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long total = o.ops() > 0 ? o.warmup() + o.ops() : Long.MAX_VALUE;
        long durationNanos = (long) (o.durationSeconds() * 1e9);
        CountDownLatch done = new CountDownLatch(o.concurrency());
        long start = System.nanoTime();
        AtomicLong measureStart = new AtomicLong(o.warmup() == 0 ? start : 0);
        Runnable[] slot = new Runnable[1];
        slot[0] = () -> {
            long n = issued.getAndIncrement();
            if (n == o.warmup() && o.warmup() > 0) measureStart.set(System.nanoTime());
            long measuring = measureStart.get();
            boolean timeUp = durationNanos > 0 && measuring != 0 && System.nanoTime() - measuring >= durationNanos;
            if (n >= total || timeUp) {
                done.countDown();
                return;
            }
            boolean measured = n >= o.warmup();
            byte[] key = key(ThreadLocalRandom.current().nextInt(o.keyspace()), o.keySize());
            long t0 = System.nanoTime();
            CompletableFuture<?> f = switch (o.workload()) {
                case "put" -> target.put(key, value);
                case "get" -> target.get(key, false);
                case "get-serializable" -> target.get(key, true);
                default -> ThreadLocalRandom.current().nextDouble() < o.readRatio() ? target.get(key, false) : target.put(key, value);
            };
            f.whenComplete((ok, error) -> {
                if (error != null) {
                    errors.incrementAndGet();
                } else if (measured) {
                    recorder.recordValue(Math.min(LATENCY_MICROS_MAX, (System.nanoTime() - t0) / 1000));
                    completed.incrementAndGet();
                }
                slot[0].run();
            });
        };
        for (int i = 0; i < o.concurrency(); i++) slot[0].run();
        long lastCount = 0;
        while (!done.await(1, TimeUnit.SECONDS)) {
            long now = completed.get();
            progress.printf(Locale.ROOT, "\r%s: %6.1f s  %,d ops  %,.0f ops/s  %d errors   ", o.name(), (System.nanoTime() - start) / 1e9, now,
                    (double) (now - lastCount), errors.get());
            lastCount = now;
        }
        progress.println();
        double seconds = (System.nanoTime() - (measureStart.get() != 0 ? measureStart.get() : start)) / 1e9;
        Histogram h = recorder.getIntervalHistogram();
        return new Result(o.name(), o.target(), o.workload(), o.concurrency(), o.connections(), completed.get(), errors.get(), seconds, h);
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

    static void printTable(Result r, PrintStream out) {
        out.printf(Locale.ROOT, "%-28s %10s %8s %12s %9s %9s %9s %9s %9s %7s%n", "case", "ops", "seconds", "ops/s", "p50 ms", "p90 ms", "p99 ms",
                "p99.9 ms", "max ms", "errors");
        out.printf(Locale.ROOT, "%-28s %10d %8.2f %12.1f %9.3f %9.3f %9.3f %9.3f %9.3f %7d%n", r.name(), r.ops(), r.seconds(), r.throughput(),
                r.percentileMs(50), r.percentileMs(90), r.percentileMs(99), r.percentileMs(99.9), r.latency().getMaxValue() / 1000.0, r.errors());
    }

    static void writeHgrm(Result r, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (PrintStream out = new PrintStream(Files.newOutputStream(dir.resolve(r.name() + ".hgrm")), false, StandardCharsets.UTF_8)) {
            r.latency().outputPercentileDistribution(out, 1000.0);
        }
    }
}
