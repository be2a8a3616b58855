package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads the JSON results of a {@code bench/compare.sh} run, one file per run named {@code <system>-<case>.<repeat>.json}
 * (a case runs several times per system, interleaved with the other system's runs), and prints the side-by-side table:
 * per case and system every run's throughput and their spread, the ratio raftkv/etcd of the means with the lowest and
 * highest ratio of runs paired by repeat, each load generator's and each cluster's CPU per operation, latencies, and the
 * machine's steal time. Writes it as Markdown ({@code table.md}), and every run on a line of its own ({@code runs.md}).
 * Usage: {@code CompareReport RESULTS_DIR [FSYNC_P50_MS]}.
 */
public final class CompareReport {

    /**
     * One run. {@code increments} and {@code conflicts}: txn-cas increments measured and their failed compares (0 for other
     * cases); CPU per operation -1 when the run did not measure it (older files, or no node pids).
     */
    record Row(String system, String name, int repeat, long ops, double throughput, double p50, double p99, double p999, long errors, long increments,
               long conflicts, String counterCheck, double clientCpu, double nodeCpu, double steal, double warmupSeconds, boolean warmupSettled,
               double warmupCpu, long unfinished, long order) { }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":\\s*(\"[^\"]*\"|[-0-9.]+|true|false)");
    private static final Pattern FILE = Pattern.compile("(raftkv|etcd)-(.+?)(?:\\.(\\d+))?\\.json");

    private CompareReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        String fsync = args.length > 1 ? args[1] : null;
        List<Row> rows = load(dir);
        // Cases in the order they first ran.
        Map<String, Map<String, List<Row>>> cases = new LinkedHashMap<>();
        rows.stream().sorted(Comparator.comparingLong(Row::order)).forEach(r ->
                cases.computeIfAbsent(r.name(), k -> new LinkedHashMap<>()).computeIfAbsent(r.system(), k -> new ArrayList<>()).add(r));

        StringBuilder md = new StringBuilder();
        md.append("| case | raftkv ops/s | etcd ops/s | ratio | raftkv client µs CPU/op | etcd client µs CPU/op | raftkv nodes µs CPU/op | "
                + "etcd nodes µs CPU/op | raftkv p50 ms | etcd p50 ms | raftkv p99 ms | etcd p99 ms | p99 ratio | steal % | errors r/e |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        System.out.printf(Locale.ROOT, "%-22s %-28s %-28s %-20s %-13s %-13s %-13s %-13s %9s %6s%n", "case", "raftkv ops/s (runs, spread)",
                "etcd ops/s (runs, spread)", "ratio (by repeat)", "client µs/op", "nodes µs/op", "p50 ms r/e", "p99 ms r/e", "p99 ratio", "steal%");
        for (var c : cases.entrySet()) {
            List<Row> r = c.getValue().get("raftkv");
            List<Row> e = c.getValue().get("etcd");
            if (r == null || e == null) continue;
            double ratio = mean(r, Row::throughput) / mean(e, Row::throughput);
            String ratios = pairedRatios(r, e);
            double steal = r.stream().mapToDouble(Row::steal).max().orElse(-1);
            steal = Math.max(steal, e.stream().mapToDouble(Row::steal).max().orElse(-1));
            System.out.printf(Locale.ROOT, "%-22s %-28s %-28s %-20s %-13s %-13s %-13s %-13s %8.2fx %6.1f%n", c.getKey(), runs(r), runs(e),
                    String.format(Locale.ROOT, "%.2fx %s", ratio, ratios), cpu(r, Row::clientCpu) + "/" + cpu(e, Row::clientCpu),
                    cpu(r, Row::nodeCpu) + "/" + cpu(e, Row::nodeCpu), String.format(Locale.ROOT, "%.2f/%.2f", mean(r, Row::p50), mean(e, Row::p50)),
                    String.format(Locale.ROOT, "%.2f/%.2f", mean(r, Row::p99), mean(e, Row::p99)), mean(r, Row::p99) / mean(e, Row::p99), steal);
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f× %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f× | %.1f | %d/%d |%n",
                    c.getKey(), runs(r), runs(e), ratio, ratios, cpu(r, Row::clientCpu), cpu(e, Row::clientCpu), cpu(r, Row::nodeCpu),
                    cpu(e, Row::nodeCpu), mean(r, Row::p50), mean(e, Row::p50), mean(r, Row::p99), mean(e, Row::p99), mean(r, Row::p99) / mean(e, Row::p99),
                    steal, r.stream().mapToLong(Row::errors).sum(), e.stream().mapToLong(Row::errors).sum()));
        }
        md.append(casTable(cases));
        if (fsync != null) {
            System.out.println("disk: fio 4 KiB write + fdatasync at queue depth 1, p50 " + fsync + " ms");
            md.append("\nDisk: fio 4 KiB write + fdatasync at queue depth 1, p50 ").append(fsync).append(" ms.\n");
        }
        Files.writeString(dir.resolve("table.md"), md);
        Files.writeString(dir.resolve("runs.md"), runsTable(rows));
    }

    /** Each run's ops/s in the order run, and the spread: (highest - lowest) / mean. */
    static String runs(List<Row> runs) {
        String each = runs.stream().map(x -> String.format(Locale.ROOT, "%,.0f", x.throughput())).collect(Collectors.joining(" · "));
        if (runs.size() < 2) return each;
        double min = runs.stream().mapToDouble(Row::throughput).min().orElse(0);
        double max = runs.stream().mapToDouble(Row::throughput).max().orElse(0);
        return String.format(Locale.ROOT, "%s (%.0f %%)", each, 100 * (max - min) / mean(runs, Row::throughput));
    }

    /** The lowest and highest ratio of the runs paired by repeat (raftkv's first with etcd's first...), "(a–b)"; empty for one pair. */
    static String pairedRatios(List<Row> r, List<Row> e) {
        List<Double> ratios = new ArrayList<>();
        for (Row x : r) {
            for (Row y : e) if (x.repeat() == y.repeat() && y.throughput() > 0) ratios.add(x.throughput() / y.throughput());
        }
        if (ratios.size() < 2) return "";
        return String.format(Locale.ROOT, "(%.2f–%.2f)", ratios.stream().mapToDouble(d -> d).min().orElse(0), ratios.stream().mapToDouble(d -> d).max().orElse(0));
    }

    private static String cpu(List<Row> runs, ToDoubleFunction<Row> f) {
        double m = mean(runs, f);
        return m < 0 ? "-" : String.format(Locale.ROOT, "%.1f", m);
    }

    static double mean(List<Row> runs, ToDoubleFunction<Row> f) {
        return runs.stream().mapToDouble(f).average().orElse(0);
    }

    private static String casTable(Map<String, Map<String, List<Row>>> cases) {
        StringBuilder cas = new StringBuilder();
        for (var c : cases.entrySet()) {
            List<Row> r = c.getValue().get("raftkv");
            List<Row> e = c.getValue().get("etcd");
            if (r == null || e == null || (mean(r, Row::increments) == 0 && mean(e, Row::increments) == 0)) continue;
            if (cas.isEmpty()) {
                System.out.printf(Locale.ROOT, "%n%-22s %12s %12s %11s %11s %12s %12s %8s %12s%n", "case", "r incr/s", "e incr/s", "r confl/inc",
                        "e confl/inc", "r req/s", "e req/s", "ratio", "counters r/e");
                cas.append("\n| case | raftkv increments/s | etcd increments/s | raftkv failed compares per increment | ")
                        .append("etcd failed compares per increment | raftkv requests/s | etcd requests/s | requests ratio | counter check r/e |\n")
                        .append("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
            }
            double rs = mean(r, x -> x.increments() * x.throughput() / Math.max(1, x.ops()));
            double es = mean(e, x -> x.increments() * x.throughput() / Math.max(1, x.ops()));
            double rq = mean(r, CompareReport::requestsPerSecond);
            double eq = mean(e, CompareReport::requestsPerSecond);
            String checks = checks(r) + "/" + checks(e);
            System.out.printf(Locale.ROOT, "%-22s %12.0f %12.0f %11.2f %11.2f %12.0f %12.0f %7.2fx %12s%n", c.getKey(), rs, es, mean(r, CompareReport::perIncrement),
                    mean(e, CompareReport::perIncrement), rq, eq, rq / eq, checks);
            cas.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f× | %s |%n", c.getKey(), rs, es,
                    mean(r, CompareReport::perIncrement), mean(e, CompareReport::perIncrement), rq, eq, rq / eq, checks));
        }
        return cas.toString();
    }

    /** "ok" when every run's counter check was, else the first that was not. */
    private static String checks(List<Row> runs) {
        return runs.stream().map(Row::counterCheck).filter(c -> !c.equals("ok")).findFirst().orElse("ok");
    }

    private static String runsTable(List<Row> rows) {
        StringBuilder md = new StringBuilder("| system | case | repeat | ops/s | p50 ms | p99 ms | p99.9 ms | client µs CPU/op | nodes µs CPU/op | "
                + "warm-up s | settled client µs CPU/op | steal % | errors | unfinished |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows.stream().sorted(Comparator.comparingLong(Row::order)).toList()) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %d | %.0f | %.2f | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f%s | %.1f | %d | %d |%n", r.system(), r.name(),
                    r.repeat(), r.throughput(), r.p50(), r.p99(), r.p999(), r.clientCpu(), r.nodeCpu(), r.warmupSeconds(), r.warmupCpu(),
                    r.warmupSettled() ? "" : " (not settled)", r.steal(), r.errors(), r.unfinished()));
        }
        return md.toString();
    }

    /**
     * Requests the store served per second: an increment is a read and one transaction per attempt (each failed
     * compare one more), every other operation one request.
     */
    private static double requestsPerSecond(Row r) {
        return (r.ops() + r.increments() + r.conflicts()) * r.throughput() / Math.max(1, r.ops());
    }

    private static double perIncrement(Row r) {
        return r.increments() == 0 ? 0 : (double) r.conflicts() / r.increments();
    }

    static List<Row> load(Path dir) throws IOException {
        List<Row> rows = new ArrayList<>();
        List<Path> files;
        try (var s = Files.list(dir)) {
            files = s.filter(p -> FILE.matcher(p.getFileName().toString()).matches()).sorted().toList();
        }
        for (Path f : files) {
            Matcher name = FILE.matcher(f.getFileName().toString());
            if (!name.matches()) continue;
            Map<String, String> fields = new LinkedHashMap<>();
            Matcher m = FIELD.matcher(Files.readString(f));
            // The first of each name: the nested objects (busiest threads, errors by kind) come after the run's own fields.
            while (m.find()) fields.putIfAbsent(m.group(1), m.group(2).replace("\"", ""));
            rows.add(new Row(name.group(1), name.group(2), name.group(3) == null ? 1 : Integer.parseInt(name.group(3)), Long.parseLong(fields.get("ops")),
                    Double.parseDouble(fields.get("throughput")), Double.parseDouble(fields.get("p50_ms")), Double.parseDouble(fields.get("p99_ms")),
                    Double.parseDouble(fields.get("p999_ms")), Long.parseLong(fields.get("errors")), Long.parseLong(fields.getOrDefault("increments", "0")),
                    Long.parseLong(fields.getOrDefault("conflicts", "0")), fields.getOrDefault("counter_check", ""),
                    Double.parseDouble(fields.getOrDefault("client_cpu_us_per_op", "-1")), Double.parseDouble(fields.getOrDefault("node_cpu_us_per_op", "-1")),
                    Double.parseDouble(fields.getOrDefault("steal_percent", "-1")), Double.parseDouble(fields.getOrDefault("warmup_seconds", "0")),
                    Boolean.parseBoolean(fields.getOrDefault("warmup_settled", "false")), Double.parseDouble(fields.getOrDefault("warmup_cpu_us_per_op", "0")),
                    Long.parseLong(fields.getOrDefault("unfinished", "0")), Files.getLastModifiedTime(f).toMillis()));
        }
        return rows;
    }
}
