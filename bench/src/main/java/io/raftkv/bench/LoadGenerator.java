package io.raftkv.bench;

import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The end-to-end load generator, {@code bin/raftkv-bench}, against raftkv or etcd through each one's own client:
 * a closed loop of {@code --concurrency} operations in flight, or an open loop at {@code --rate} operations per second
 * ({@link LoadRun} has both, the warm-up and how a run ends); latencies recorded in HdrHistogram. Prints a progress
 * line while it runs, then a table with its own CPU per operation (and the nodes', given their pids) and each kind of
 * error with the first of that kind; writes the same as JSON and the percentile distribution as .hgrm. With
 * {@code --serve} it runs case after case in one JVM (see {@link #serve}), as {@code bench/compare.sh} does.
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

    /** What one run does; see {@link #usage()} for the flags. {@code rate}: 0 for the closed loop, else the open loop's operations per second. */
    record Options(String name, String target, String endpoints, String workload, Mix mix, long ops, double durationSeconds,
                   int concurrency, int connections, double rate, int keySize, int valueSize, int keyspace, int counters, boolean preload,
                   long warmup, double warmupSeconds, double warmupMaxSeconds, double warmupWindowSeconds, List<Long> pids, int clockTicks,
                   Path json, Path hgrmDir) {

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
            double rate = 0;
            int keySize = 16;
            int valueSize = 256;
            int keyspace = 100_000;
            int counters = 8;
            boolean preload = false;
            long warmup = 0;
            double warmupSeconds = 0;
            double warmupMaxSeconds = 0;
            double warmupWindowSeconds = 2;
            List<Long> pids = List.of();
            int clockTicks = 100;
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
                        case "--rate" -> rate = Double.parseDouble(v);
                        case "--key-size" -> keySize = Integer.parseInt(v);
                        case "--value-size" -> valueSize = Integer.parseInt(v);
                        case "--keyspace" -> keyspace = Integer.parseInt(v);
                        case "--counters" -> counters = Integer.parseInt(v);
                        case "--warmup" -> warmup = Long.parseLong(v);
                        case "--warmup-seconds" -> warmupSeconds = Double.parseDouble(v);
                        case "--warmup-max-seconds" -> warmupMaxSeconds = Double.parseDouble(v);
                        case "--warmup-window-seconds" -> warmupWindowSeconds = Double.parseDouble(v);
                        case "--pids" -> pids = v.isBlank() ? List.of() : Arrays.stream(v.split(",")).map(String::strip).map(Long::parseLong).toList();
                        case "--clock-ticks" -> clockTicks = Integer.parseInt(v);
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
            if (concurrency < 1 || connections < 1 || keyspace < 1 || counters < 1 || valueSize < 0 || clockTicks < 1) {
                throw new UsageException("--concurrency, --connections, --keyspace, --counters and --clock-ticks must be positive");
            }
            if (rate < 0) throw new UsageException("--rate is operations per second, above 0 (leave it out for the closed loop)");
            if (warmup < 0 || warmupSeconds < 0 || warmupMaxSeconds < 0) throw new UsageException("--warmup, --warmup-seconds and --warmup-max-seconds cannot be negative");
            if (warmupWindowSeconds <= 0) throw new UsageException("--warmup-window-seconds must be above 0");
            if (warmupMaxSeconds > 0 && warmupMaxSeconds < 2 * warmupWindowSeconds) {
                throw new UsageException("--warmup-max-seconds must leave room for two windows of --warmup-window-seconds");
            }
            if (readRatio != null && (readRatio < 0 || readRatio > 1)) throw new UsageException("--read-ratio is between 0 and 1");
            if (readRatio != null && mix != null) throw new UsageException("give --mix or --read-ratio, not both");
            if ((readRatio != null || mix != null) && !workload.equals("mix")) throw new UsageException("--mix and --read-ratio go with --workload mix");
            if (readRatio != null) mix = new Mix(readRatio, 1 - readRatio, 0, 0);
            if (mix == null) mix = Mix.DEFAULT;
            if (String.valueOf(keyspace - 1).length() > keySize) throw new UsageException("--key-size " + keySize + " is too small for --keyspace " + keyspace);
            String defaultName = target + "-" + workload + (rate > 0 ? "-r" + (long) rate : "-c" + concurrency);
            Options o = new Options(name == null ? defaultName : name, target, endpoints, workload, mix, ops, duration, concurrency, connections,
                    rate, keySize, valueSize, keyspace, counters, preload, warmup, warmupSeconds, warmupMaxSeconds, warmupWindowSeconds, pids, clockTicks,
                    json, hgrmDir);
            if (o.uses(Op.RANGE) && keySize < 3) throw new UsageException("ranges need --key-size 3 or more (a prefix of all but two digits)");
            if (o.uses(Op.TXN_CAS) && COUNTER_PREFIX.length + String.valueOf(counters - 1).length() > keySize) {
                throw new UsageException("--key-size " + keySize + " is too small for --counters " + counters + " (counter keys are 'ctr' and digits)");
            }
            return o;
        }

        boolean openLoop() {
            return rate > 0;
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
     * The outcome of one run. {@code ops}: measured operations that succeeded; {@code errorKinds}: the measured ones that
     * failed, by kind; {@code increments}: the measured operations that were increments (txn-cas); {@code conflicts}: their
     * failed compares (each retried), and {@code conflictsMax} the most of one increment (how long the unluckiest waited its
     * turn: {@value #CAS_ATTEMPTS_MAX} when one gave up); {@code counterCheck}: "ok" when the counters grew by exactly the increments
     * acknowledged, else what went wrong; empty when the run had no increments. {@code issueLag}: the open loop's lateness
     * (null for the closed loop). {@code clientCpuMicrosPerOp}, {@code clientCpuPercent}: this process's CPU over the
     * measured window (per successful operation, and % of one core); {@code cpu}: the nodes' ({@code --pids}) and the
     * machine's over the same window. {@code unfinished}: operations abandoned in flight at the end; {@code missed}: open
     * loop, scheduled operations never issued; {@code heldBack}: open loop, operations that waited for the in-flight cap.
     */
    record Result(Options options, long ops, ErrorTally errorKinds, long increments, long conflicts, long conflictsMax, String counterCheck, double seconds,
                  Histogram latency, Histogram issueLag, Warmup.Outcome warmup, ErrorTally warmupErrors, double clientCpuMicrosPerOp,
                  double clientCpuPercent, ProcessCpu.Window cpu, long unfinished, long missed, long heldBack) {

        String name() {
            return options.name();
        }

        long errors() {
            return errorKinds.total();
        }

        double throughput() {
            return ops / seconds;
        }

        double percentileMs(double p) {
            return latency.getValueAtPercentile(p) / 1000.0;
        }

        /** The machine's steal time over the measured window, % of all cores; -1 when unknown. */
        double stealPercent() {
            return cpu.machineStealPercent();
        }

        /** Node CPU per successful operation, µs; -1 without {@code --pids}. */
        double nodeCpuMicrosPerOp() {
            return options.pids().isEmpty() ? -1 : cpu.microsPer(cpu.nodes(), ops);
        }

        String json() {
            Options o = options;
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "{\"name\": \"%s\", \"target\": \"%s\", \"workload\": \"%s\", \"loop\": \"%s\", "
                            + "\"concurrency\": %d, \"connections\": %d, \"rate\": %.1f, \"ops\": %d, \"errors\": %d, \"increments\": %d, \"conflicts\": %d, "
                            + "\"conflicts_max\": %d, \"counter_check\": \"%s\", \"seconds\": %.3f, \"throughput\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
                            + "\"p999_ms\": %.3f, \"max_ms\": %.3f, \"client_cpu_us_per_op\": %.2f, \"client_cpu_percent\": %.1f, "
                            + "\"steal_percent\": %.2f, \"warmup_seconds\": %.1f, \"warmup_ops\": %d, \"warmup_settled\": %s, \"warmup_cpu_us_per_op\": %.2f, "
                            + "\"warmup_windows_cpu_us_per_op\": [%s], \"warmup_errors\": %d, \"unfinished\": %d, \"missed\": %d, \"held_back\": %d",
                    name(), o.target(), o.workload(), o.openLoop() ? "open" : "closed", o.concurrency(), o.connections(), o.rate(), ops, errors(), increments,
                    conflicts, conflictsMax, counterCheck, seconds, throughput(), percentileMs(50), percentileMs(90), percentileMs(99), percentileMs(99.9),
                    latency.getMaxValue() / 1000.0, clientCpuMicrosPerOp, clientCpuPercent, stealPercent(), warmup.seconds(),
                    warmup.ops(), warmup.settled(), warmup.microsPerOp(),
                    warmup.windowsMicrosPerOp().stream().map(w -> String.format(Locale.ROOT, "%.2f", w)).collect(Collectors.joining(", ")),
                    warmupErrors.total(), unfinished, missed, heldBack));
            if (issueLag != null) {
                s.append(String.format(Locale.ROOT, ", \"issue_lag_p50_ms\": %.3f, \"issue_lag_p99_ms\": %.3f", issueLag.getValueAtPercentile(50) / 1000.0,
                        issueLag.getValueAtPercentile(99) / 1000.0));
            }
            if (!o.pids().isEmpty()) s.append(", ").append(cpu.json("op", ops));
            s.append(", \"errors_by_kind\": ").append(errorKinds.json()).append('}');
            return s.toString();
        }

        /** One line: what compare.sh prints per run. */
        String summary() {
            return String.format(Locale.ROOT, "%s %s: %,.0f ops/s%s, p50 %.2f p99 %.2f p99.9 %.2f ms, client %.1f µs CPU/op (%.0f %% of a core)%s, "
                            + "warm-up %.1f s (%s %.1f µs/op), steal %.1f %%, errors %d%s",
                    options.target(), name(), throughput(), options.openLoop() ? String.format(Locale.ROOT, " of %,.0f/s", options.rate()) : "",
                    percentileMs(50), percentileMs(99), percentileMs(99.9), clientCpuMicrosPerOp, clientCpuPercent,
                    options.pids().isEmpty() ? "" : String.format(Locale.ROOT, ", nodes %.1f µs CPU/op", nodeCpuMicrosPerOp()),
                    warmup.seconds(), warmup.settled() ? "settled at" : "not settled,", warmup.microsPerOp(), stealPercent(), errors(),
                    unfinished > 0 ? ", unfinished " + unfinished : "");
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
        List<String> base = new ArrayList<>(List.of(args));
        boolean serve = base.remove("--serve");
        if (serve) {
            System.exit(serve(base, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out, System.err));
        }
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
        try (KvTarget target = open(o)) {
            String unreachable = check(target, o.endpoints());
            if (unreachable != null) {
                System.err.println("raftkv-bench: " + o.endpoints() + " did not answer a read within " + CHECK_DEADLINE.toSeconds() + " s: " + unreachable);
                System.exit(1);
            }
            r = run(o, target, System.err);
        }
        printTable(r, System.out);
        save(r);
        System.exit(r.ops() == 0 || !(r.counterCheck().isEmpty() || r.counterCheck().equals("ok")) ? 1 : 0);
    }

    /**
     * Runs case after case in this JVM, so that every case after the first finds the client warm: one line of flags per
     * case on {@code in}, added to {@code base} (a flag given in both takes the line's value). Each case's table goes to
     * {@code log}, and one line to {@code out} when it is done: "ok " and its summary, or "failed " and why. The clients
     * stay open between cases (one set per --connections count) and close at the end of {@code in}. Returns the exit code:
     * 1 when a case failed.
     */
    static int serve(List<String> base, BufferedReader in, PrintStream out, PrintStream log) throws Exception {
        Map<String, KvTarget> targets = new HashMap<>();
        boolean failed = false;
        try {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) continue;
                List<String> args = new ArrayList<>(base);
                args.addAll(Arrays.asList(line.strip().split("\\s+")));
                try {
                    Options o = Options.parse(args.toArray(String[]::new));
                    String key = o.target() + " " + o.endpoints() + " " + o.connections();
                    KvTarget target = targets.get(key);
                    if (target == null) {
                        target = open(o);
                        targets.put(key, target);
                        String unreachable = check(target, o.endpoints());
                        if (unreachable != null) throw new IllegalStateException(o.endpoints() + " did not answer a read: " + unreachable);
                    }
                    Result r = run(o, target, log);
                    printTable(r, log);
                    save(r);
                    boolean good = r.ops() > 0 && (r.counterCheck().isEmpty() || r.counterCheck().equals("ok"));
                    failed |= !good;
                    out.println((good ? "ok " : "failed ") + r.summary());
                } catch (UsageException e) {
                    failed = true;
                    out.println("failed usage: " + e.getMessage());
                } catch (RuntimeException e) {
                    failed = true;
                    e.printStackTrace(log);
                    out.println("failed " + e);
                }
                out.flush();
            }
        } finally {
            targets.values().forEach(KvTarget::close);
        }
        return failed ? 1 : 0;
    }

    static String usage() {
        return "usage: raftkv-bench --endpoints HOST:PORT,... [--target raftkv|etcd] [--workload " + String.join("|", WORKLOADS) + "]\n"
                + "         [--mix get=50,put=30,range=10,txn-cas=10 | --read-ratio R] (--ops N | --duration S) [--concurrency C]\n"
                + "         [--connections K] [--rate OPS_PER_S] [--key-size B] [--value-size B] [--keyspace N] [--counters N] [--preload]\n"
                + "         [--warmup N] [--warmup-seconds S] [--warmup-max-seconds S] [--warmup-window-seconds S]\n"
                + "         [--pids PID,...] [--clock-ticks HZ] [--json FILE] [--hgrm-dir DIR] [--name CASE]\n"
                + "       raftkv-bench --serve [FLAGS...]   then one line of flags per case on standard input\n"
                + "  --concurrency: operations in flight (closed loop), or the cap on them with --rate (open loop: operations issued\n"
                + "  on a schedule, latency from the scheduled time). --warmup-max-seconds S: warm up until this JVM's CPU per operation\n"
                + "  settles (two windows within 10 %), at most S seconds. --pids: the nodes' processes, for their CPU per operation.";
    }

    private static final Duration CHECK_DEADLINE = Duration.ofSeconds(2);

    private static KvTarget open(Options o) {
        return o.target().equals("etcd") ? new EtcdTarget(o.endpoints(), o.connections()) : new RaftKvTarget(o.endpoints(), o.connections());
    }

    /** Null when the target answers one read within {@link #CHECK_DEADLINE}, else the client's error. */
    static String check(KvTarget target, String endpoints) {
        try {
            target.check(CHECK_DEADLINE).get(CHECK_DEADLINE.toMillis() + 1_000, TimeUnit.MILLISECONDS);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } catch (TimeoutException e) {
            return "no answer" + connectErrors(endpoints);
        } catch (ExecutionException | RuntimeException e) {
            Throwable cause = ErrorTally.unwrap(e);
            return cause instanceof TimeoutException ? "no answer" + connectErrors(endpoints) : String.valueOf(cause);
        }
    }

    /** What a TCP connect to each endpoint says, when it fails: a client that retries by itself (jetcd) does not say it. */
    private static String connectErrors(String endpoints) {
        StringBuilder s = new StringBuilder();
        for (String e : endpoints.split(",")) {
            String hostPort = e.strip().replaceFirst("^https?://", "");
            int colon = hostPort.lastIndexOf(':');
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 1_000);
            } catch (IOException | RuntimeException failed) {
                s.append("; ").append(hostPort).append(": ").append(failed.getMessage());
            }
        }
        return s.toString();
    }

    /** Runs the workload; {@code progress} gets a line a second. */
    static Result run(Options o, KvTarget target, PrintStream progress) throws InterruptedException {
        return new LoadRun(o, target).run(progress);
    }

    private static void save(Result r) throws IOException {
        if (r.options().json() != null) Files.writeString(r.options().json(), r.json() + "\n");
        if (r.options().hgrmDir() != null) writeHgrm(r, r.options().hgrmDir());
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
        String indent = " ".repeat(29);
        if (r.options().openLoop()) {
            out.printf(Locale.ROOT, "%sopen loop: %,.0f ops/s scheduled, %,.0f achieved; issue lag p50 %.3f p99 %.3f ms; %,d held back by the cap of %d in flight; "
                            + "%,d never issued%n", indent, r.options().rate(), r.throughput(), r.issueLag().getValueAtPercentile(50) / 1000.0,
                    r.issueLag().getValueAtPercentile(99) / 1000.0, r.heldBack(), r.options().concurrency(), r.missed());
        }
        out.printf(Locale.ROOT, "%sclient CPU %.1f µs per op (%.0f %% of a core)%s; machine: %s%n", indent, r.clientCpuMicrosPerOp(), r.clientCpuPercent(),
                r.options().pids().isEmpty() ? "" : String.format(Locale.ROOT, ", nodes %.1f µs per op (%s %% of a core each)", r.nodeCpuMicrosPerOp(), r.cpu().nodesEach()),
                r.cpu().machine());
        out.printf("%s%s%n", indent, r.warmup().text());
        if (r.unfinished() > 0) out.printf("%s%,d operations still unanswered at the end: not counted%n", indent, r.unfinished());
        if (r.errors() > 0) out.printf("%serrors:%n%s", indent, r.errorKinds().text());
        if (r.warmupErrors().total() > 0) out.printf("%serrors in the warm-up (not counted):%n%s", indent, r.warmupErrors().text());
        if (!r.counterCheck().isEmpty()) {
            out.printf(Locale.ROOT, "%s%,d failed compares retried (%.2f per increment, at most %,d for one), counter check: %s%n", indent, r.conflicts(),
                    r.increments() == 0 ? 0.0 : (double) r.conflicts() / r.increments(), r.conflictsMax(), r.counterCheck());
        }
    }

    static void writeHgrm(Result r, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (PrintStream out = new PrintStream(Files.newOutputStream(dir.resolve(r.name() + ".hgrm")), false, StandardCharsets.UTF_8)) {
            r.latency().outputPercentileDistribution(out, 1000.0);
        }
    }
}
