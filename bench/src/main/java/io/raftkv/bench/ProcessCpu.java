package io.raftkv.bench;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * CPU over a measured window, from {@code /proc}: user + system time of each node process (the pids a script passes,
 * in endpoint order), of each one's busiest thread, and of this JVM (the load generator), as % of one core; and the
 * whole machine's split from {@code /proc/stat}, to show what else ran. Shared by the benchmarks that report their
 * nodes' CPU (LeaseKeepalives, LockContention); built on WatchFanout's readers.
 */
final class ProcessCpu {

    private ProcessCpu() {
    }

    /** The ticks of the processes, their threads and this JVM, and the machine's, at one moment. */
    record Snapshot(long nanos, long[] processTicks, List<Map<String, Long>> threadTicks, long[] machine) {

        static Snapshot take(List<Long> pids) {
            List<Map<String, Long>> threads = new ArrayList<>();
            for (long pid : pids) threads.add(threadTicks(pid));
            return new Snapshot(System.nanoTime(), WatchFanout.cpuTicks(pids), threads, WatchFanout.machineTicks());
        }

        /** "tid name" → utime + stime ticks of each thread of {@code pid}; empty when /proc cannot be read. */
        static Map<String, Long> threadTicks(long pid) {
            Map<String, Long> byThread = new HashMap<>();
            try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc", Long.toString(pid), "task"))) {
                for (Path task : tasks) {
                    try {
                        String stat = Files.readString(task.resolve("stat"));
                        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        byThread.put(task.getFileName() + " " + name, Long.parseLong(f[11]) + Long.parseLong(f[12]));
                    } catch (IOException | RuntimeException gone) {
                        // the thread ended meanwhile
                    }
                }
            } catch (IOException | RuntimeException e) {
                // no such process
            }
            return byThread;
        }
    }

    /**
     * CPU between two snapshots: {@code percent} per process then this JVM (last), % of one core, -1 for a process gone;
     * each process's busiest thread; the machine's split ("user 40 %, ...") and its idle and steal shares, % of all cores (-1 unknown).
     */
    record Window(double seconds, double[] percent, List<String> busiestThread, List<Double> busiestThreadPercent, String machine, double machineIdlePercent,
                  double machineStealPercent) {

        static Window between(Snapshot a, Snapshot b, int clockTicks) {
            double seconds = (b.nanos() - a.nanos()) / 1e9;
            double[] percent = new double[a.processTicks().length];
            for (int i = 0; i < percent.length; i++) {
                percent[i] = a.processTicks()[i] < 0 || b.processTicks()[i] < 0 ? -1 : (b.processTicks()[i] - a.processTicks()[i]) / (double) clockTicks / seconds * 100;
            }
            List<String> names = new ArrayList<>();
            List<Double> threadPercent = new ArrayList<>();
            for (int n = 0; n < a.threadTicks().size(); n++) {
                String best = "?";
                long bestTicks = -1;
                for (Map.Entry<String, Long> e : b.threadTicks().get(n).entrySet()) {
                    long d = e.getValue() - a.threadTicks().get(n).getOrDefault(e.getKey(), 0L);
                    if (d > bestTicks) {
                        bestTicks = d;
                        best = e.getKey().substring(e.getKey().indexOf(' ') + 1);
                    }
                }
                names.add(best);
                threadPercent.add(bestTicks < 0 ? -1 : bestTicks / (double) clockTicks / seconds * 100);
            }
            return new Window(seconds, percent, names, threadPercent, WatchFanout.machineShare(a.machine(), b.machine()), idlePercent(a.machine(), b.machine()),
                    share(a.machine(), b.machine(), 7));
        }

        /** The idle share of the machine's time (all cores) between two readings of /proc/stat, -1 when unknown. */
        static double idlePercent(long[] before, long[] after) {
            return share(before, after, 3); // the fourth field of /proc/stat's cpu line: idle
        }

        /**
         * The share of field {@code field} of /proc/stat's cpu line in the machine's time between two readings, -1 when
         * unknown. Field 7 is steal: time the hypervisor gave this VM's virtual CPUs to someone else, which slows every
         * process here alike and so shows a drifting machine.
         */
        static double share(long[] before, long[] after, int field) {
            if (before == null || after == null) return -1;
            long total = 0;
            for (int i = 0; i < before.length; i++) total += after[i] - before[i];
            return total <= 0 ? -1 : 100.0 * (after[field] - before[field]) / total;
        }

        /** The processes' together (not this JVM). */
        double nodes() {
            double sum = 0;
            for (int i = 0; i < percent.length - 1; i++) sum += Math.max(0, percent[i]);
            return sum;
        }

        double self() {
            return percent[percent.length - 1];
        }

        /** CPU microseconds per operation, for {@code percentOfCore} over this window. */
        double microsPer(double percentOfCore, long operations) {
            return operations == 0 ? 0 : percentOfCore / 100 * seconds * 1e6 / operations;
        }

        String nodesEach() {
            return Arrays.stream(percent, 0, percent.length - 1).mapToObj(c -> String.format(Locale.ROOT, "%.1f", c)).collect(Collectors.joining(", "));
        }

        /** JSON members (no braces); {@code op} names the operation in the per-operation keys, e.g. "acquisition". */
        String json(String op, long operations) {
            List<String> threads = new ArrayList<>();
            for (int i = 0; i < busiestThread.size(); i++) {
                threads.add(String.format(Locale.ROOT, "{\"name\": \"%s\", \"cpu_percent\": %.1f}", busiestThread.get(i).replace("\"", "'"), busiestThreadPercent.get(i)));
            }
            return String.format(Locale.ROOT, "\"node_cpu_percent\": [%s], \"node_cpu_percent_total\": %.1f, \"busiest_threads\": [%s], \"bench_cpu_percent\": %.1f, "
                            + "\"node_cpu_us_per_%s\": %.2f, \"bench_cpu_us_per_%s\": %.2f, \"machine_cpu\": \"%s\", \"machine_idle_percent\": %.1f",
                    nodesEach(), nodes(), String.join(", ", threads), self(), op, microsPer(nodes(), operations), op, microsPer(self(), operations), machine,
                    machineIdlePercent);
        }

        String text(List<Long> pids, String op, long operations) {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "CPU over %.1f s (%% of one core):", seconds));
            for (int i = 0; i < percent.length - 1; i++) {
                s.append(String.format(Locale.ROOT, " pid %d %.0f %% (busiest thread %s %.0f %%),", pids.get(i), percent[i], busiestThread.get(i), busiestThreadPercent.get(i)));
            }
            s.append(String.format(Locale.ROOT, " nodes %.0f %%, this JVM %.0f %%; per %s: nodes %.1f µs, this JVM %.1f µs%n    the whole machine (all cores): %s",
                    nodes(), self(), op, microsPer(nodes(), operations), microsPer(self(), operations), machine));
            return s.toString();
        }
    }
}
