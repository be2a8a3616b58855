package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the JSON results of a {@code bench/compare.sh} run (one file per case and system, named
 * {@code <system>-<case>.json}) and prints the side-by-side table with the raftkv/etcd ratios, as text and
 * as Markdown. Usage: {@code CompareReport RESULTS_DIR [FSYNC_P50_MS]}.
 */
public final class CompareReport {

    /** {@code increments} and {@code conflicts}: txn-cas increments measured and their failed compares (0 for other cases). */
    record Row(String name, long ops, double throughput, double p50, double p99, double p999, long errors, long increments, long conflicts,
               String counterCheck) { }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":\\s*(\"[^\"]*\"|[-0-9.]+)");

    private CompareReport() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        String fsync = args.length > 1 ? args[1] : null;
        Map<String, Row> raftkv = load(dir, "raftkv");
        Map<String, Row> etcd = load(dir, "etcd");
        StringBuilder md = new StringBuilder();
        md.append("| case | raftkv ops/s | etcd ops/s | ratio | raftkv p50 ms | etcd p50 ms | raftkv p99 ms | etcd p99 ms | p99 ratio | errors r/e |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        System.out.printf(Locale.ROOT, "%-24s %12s %12s %8s %10s %10s %10s %10s %9s%n", "case", "raftkv op/s", "etcd op/s", "ratio",
                "r p50 ms", "e p50 ms", "r p99 ms", "e p99 ms", "p99 ratio");
        for (String name : raftkv.keySet()) {
            Row r = raftkv.get(name);
            Row e = etcd.get(name);
            if (e == null) continue;
            System.out.printf(Locale.ROOT, "%-24s %12.0f %12.0f %7.2fx %10.2f %10.2f %10.2f %10.2f %8.2fx%n", name, r.throughput, e.throughput,
                    r.throughput / e.throughput, r.p50, e.p50, r.p99, e.p99, r.p99 / e.p99);
            md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f× | %.2f | %.2f | %.2f | %.2f | %.2f× | %d/%d |%n", name, r.throughput,
                    e.throughput, r.throughput / e.throughput, r.p50, e.p50, r.p99, e.p99, r.p99 / e.p99, r.errors, e.errors));
        }
        StringBuilder cas = new StringBuilder();
        for (String name : raftkv.keySet()) {
            Row r = raftkv.get(name);
            Row e = etcd.get(name);
            if (e == null || (r.increments == 0 && e.increments == 0)) continue;
            if (cas.isEmpty()) {
                System.out.printf(Locale.ROOT, "%n%-24s %12s %12s %11s %11s %12s %12s %8s %12s%n", "case", "r incr/s", "e incr/s", "r confl/inc",
                        "e confl/inc", "r req/s", "e req/s", "ratio", "counters r/e");
                cas.append("\n| case | raftkv increments/s | etcd increments/s | raftkv failed compares per increment | ")
                        .append("etcd failed compares per increment | raftkv requests/s | etcd requests/s | requests ratio | counter check r/e |\n")
                        .append("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
            }
            double rs = r.increments * r.throughput / Math.max(1, r.ops);
            double es = e.increments * e.throughput / Math.max(1, e.ops);
            double rq = requestsPerSecond(r);
            double eq = requestsPerSecond(e);
            System.out.printf(Locale.ROOT, "%-24s %12.0f %12.0f %11.2f %11.2f %12.0f %12.0f %7.2fx %12s%n", name, rs, es, perIncrement(r),
                    perIncrement(e), rq, eq, rq / eq, r.counterCheck + "/" + e.counterCheck);
            cas.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.2f | %.2f | %.0f | %.0f | %.2f× | %s/%s |%n", name, rs, es, perIncrement(r),
                    perIncrement(e), rq, eq, rq / eq, r.counterCheck, e.counterCheck));
        }
        md.append(cas);
        if (fsync != null) {
            System.out.println("disk: fio 4 KiB write + fdatasync at queue depth 1, p50 " + fsync + " ms");
            md.append("\nDisk: fio 4 KiB write + fdatasync at queue depth 1, p50 ").append(fsync).append(" ms.\n");
        }
        Files.writeString(dir.resolve("table.md"), md);
    }

    /**
     * Requests the store served per second: an increment is a read and one transaction per attempt (each failed
     * compare one more), every other operation one request.
     */
    private static double requestsPerSecond(Row r) {
        return (r.ops + r.increments + r.conflicts) * r.throughput / Math.max(1, r.ops);
    }

    private static double perIncrement(Row r) {
        return r.increments == 0 ? 0 : (double) r.conflicts / r.increments;
    }

    static Map<String, Row> load(Path dir, String system) throws IOException {
        Map<String, Row> rows = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>();
        try (var s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().startsWith(system + "-") && p.toString().endsWith(".json")).sorted().forEach(files::add);
        }
        files.sort((a, b) -> Long.compare(order(a), order(b)));
        for (Path f : files) {
            Map<String, String> fields = new LinkedHashMap<>();
            Matcher m = FIELD.matcher(Files.readString(f));
            while (m.find()) fields.put(m.group(1), m.group(2).replace("\"", ""));
            String name = f.getFileName().toString().substring(system.length() + 1).replace(".json", "");
            rows.put(name, new Row(name, Long.parseLong(fields.get("ops")), Double.parseDouble(fields.get("throughput")), Double.parseDouble(fields.get("p50_ms")),
                    Double.parseDouble(fields.get("p99_ms")), Double.parseDouble(fields.get("p999_ms")), Long.parseLong(fields.get("errors")),
                    Long.parseLong(fields.getOrDefault("increments", "0")), Long.parseLong(fields.getOrDefault("conflicts", "0")),
                    fields.getOrDefault("counter_check", "")));
        }
        return rows;
    }

    private static long order(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
