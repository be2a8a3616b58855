package io.raftkv.bench;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.kv.MvccStore;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Heap bytes per live key and per retained revision of the multi-version store, {@code bench/heap}: fills a
 * {@link KvStateMachine} through committed PUT entries (so keys and values are the arrays the log's decoder makes,
 * as in a node), and measures the heap after a full GC at each step:
 * <ol>
 * <li>{@code --keys} keys of {@code --key-size} bytes with {@code --value-size}-byte values (one revision each):
 *     bytes per live key;</li>
 * <li>every key overwritten {@code --overwrites} times with a new value, no compaction: bytes per retained revision;</li>
 * <li>a compaction at the current revision: the history must go, back to about step 1.</li>
 * </ol>
 * After each step it prints where the bytes went, by class (the JVM's class histogram, differences from the step
 * before). {@code --with-log} also keeps every applied entry in a {@link MemoryStorage}, as a node keeps its Raft
 * log in memory until log compaction exists: the node's cost, not only the store's. It is a harness, not a JMH benchmark: JMH times operations, while this measures a state once; its
 * {@code -prof gc} reports allocation rates, not what stays live.
 *
 * <p>Heap "used" is read from {@link MemoryMXBean} right after {@code System.gc()} (a full, stop-the-world GC under
 * G1, Parallel and Serial, unless -XX:+ExplicitGCInvokesConcurrent), on this single thread with nothing else
 * allocating. Run it with a heap large enough for the fill (3 GB for the defaults).
 */
public final class HeapFootprint {

    record Options(int keys, int keySize, int valueSize, int overwrites, int top, boolean withLog) {
        static Options parse(String[] args) {
            boolean withLog = List.of(args).contains("--with-log");
            if (withLog) args = List.of(args).stream().filter(a -> !a.equals("--with-log")).toArray(String[]::new);
            int keys = 1_000_000;
            int keySize = 16;
            int valueSize = 256;
            int overwrites = 1;
            int top = 8;
            for (int i = 0; i + 1 < args.length; i += 2) {
                int v = Integer.parseInt(args[i + 1]);
                switch (args[i]) {
                    case "--keys" -> keys = v;
                    case "--key-size" -> keySize = v;
                    case "--value-size" -> valueSize = v;
                    case "--overwrites" -> overwrites = v;
                    case "--top" -> top = v;
                    default -> throw new IllegalArgumentException("usage: bench/heap [--keys N] [--key-size B] [--value-size B] [--overwrites N] [--top N] [--with-log]");
                }
            }
            if (args.length % 2 != 0) throw new IllegalArgumentException("every flag needs a value");
            if (keys < 1 || overwrites < 1 || valueSize < 0 || String.valueOf(keys - 1).length() > keySize) {
                throw new IllegalArgumentException("--keys and --overwrites must be positive and --key-size must hold --keys' digits");
            }
            return new Options(keys, keySize, valueSize, overwrites, top, withLog);
        }
    }

    private final Options o;
    private final KvStateMachine kv = new KvStateMachine();
    /** With --with-log: the applied entries, kept as a node keeps its log in memory (no log compaction yet). */
    private final MemoryStorage log = new MemoryStorage();
    private long index;

    private HeapFootprint(Options o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        var runtime = ManagementFactory.getRuntimeMXBean();
        System.out.printf(Locale.ROOT, "JVM: %s %s, max heap %d MiB, GC %s, flags %s%n", runtime.getVmName(), runtime.getVmVersion(),
                Runtime.getRuntime().maxMemory() >> 20, gcNames(), runtime.getInputArguments());
        if (o.withLog()) System.out.println("with the log: every applied entry also stays in a MemoryStorage, as in a node's memory today");
        new HeapFootprint(o).measure();
    }

    private void measure() throws Exception {
        long raw = o.keySize() + o.valueSize();
        long empty = usedAfterFullGc();
        Map<String, long[]> h0 = histogram();

        long t0 = System.nanoTime();
        for (int k = 0; k < o.keys(); k++) put(k);
        long live = usedAfterFullGc();
        Map<String, long[]> h1 = histogram();
        double perKey = (double) (live - empty) / o.keys();
        System.out.printf(Locale.ROOT, "%n%,d keys of %d B + %d B (raw %d B each), filled in %.1f s%n", o.keys(), o.keySize(), o.valueSize(), raw,
                (System.nanoTime() - t0) / 1e9);
        System.out.printf(Locale.ROOT, "  heap per live key: %.1f B = %.2f x raw (target <= 2 x = %d B): %s%n", perKey, perKey / raw, 2 * raw,
                perKey <= 2 * raw ? "met" : "NOT met");
        printDiff(h0, h1, o.keys(), "key");

        for (int round = 0; round < o.overwrites(); round++) {
            for (int k = 0; k < o.keys(); k++) put(k);
        }
        long history = usedAfterFullGc();
        Map<String, long[]> h2 = histogram();
        long revisions = (long) o.keys() * o.overwrites();
        double perRevision = (double) (history - live) / revisions;
        System.out.printf(Locale.ROOT, "%nevery key overwritten %d time(s) with a new value, no compaction: %,d revisions retained, store at revision %,d%n",
                o.overwrites(), revisions, kv.revision());
        System.out.printf(Locale.ROOT, "  heap per retained revision: %.1f B = %.2f x its value (%d B), %.2f x key + value (%d B)%n", perRevision,
                perRevision / Math.max(1, o.valueSize()), o.valueSize(), perRevision / raw, raw);
        printDiff(h1, h2, revisions, "revision");

        ApplyResult compacted = apply(new KvCommand.Compact(kv.revision()).encode());
        if (!(compacted instanceof ApplyResult.Done)) throw new IllegalStateException("compaction refused: " + compacted);
        // A node frees a compaction's history a batch per loop turn: every batch here, before measuring.
        int waiting = kv.store().trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX);
        while (waiting > 0) waiting = kv.store().trimCompacted(MvccStore.TRIM_KEYS_PER_CALL_MAX);
        long after = usedAfterFullGc();
        Map<String, long[]> h3 = histogram();
        System.out.printf(Locale.ROOT, "%ncompacted at revision %,d: heap per live key %.1f B (%.1f B before the overwrites)%n", kv.revision(),
                (double) (after - empty) / o.keys(), perKey);
        printDiff(h2, h3, o.keys(), "key");
        if (kv.size() != o.keys()) throw new IllegalStateException("the store holds " + kv.size() + " keys, not " + o.keys());
    }

    private void put(int k) {
        byte[] value = new byte[o.valueSize()];
        ThreadLocalRandom.current().nextBytes(value);
        apply(KvCommand.put(LoadGenerator.key(k, o.keySize()), value).encode());
    }

    private ApplyResult apply(byte[] command) {
        Entry e = new Entry(1, ++index, command);
        if (o.withLog()) log.append(List.of(e));
        return kv.apply(e);
    }

    private static long usedAfterFullGc() throws InterruptedException {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // A few rounds: the first may leave what finalization or reference processing frees only in the next.
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
            used = Math.min(used, memory.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    /** The JVM's class histogram (GC.class_histogram, which runs a full GC first): class name to {instances, bytes}. */
    private static Map<String, long[]> histogram() throws Exception {
        String text = (String) ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "gcClassHistogram", new Object[]{new String[0]}, new String[]{String[].class.getName()});
        Map<String, long[]> classes = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 4 || !f[0].endsWith(":")) continue;
            classes.put(f[3], new long[]{Long.parseLong(f[1]), Long.parseLong(f[2])});
        }
        return classes;
    }

    private void printDiff(Map<String, long[]> before, Map<String, long[]> after, long per, String unit) {
        List<Map.Entry<String, long[]>> grown = new ArrayList<>();
        for (var e : after.entrySet()) {
            long[] b = before.getOrDefault(e.getKey(), new long[2]);
            grown.add(Map.entry(e.getKey(), new long[]{e.getValue()[0] - b[0], e.getValue()[1] - b[1]}));
        }
        for (var e : before.entrySet()) {
            if (!after.containsKey(e.getKey())) grown.add(Map.entry(e.getKey(), new long[]{-e.getValue()[0], -e.getValue()[1]}));
        }
        grown.sort((a, b) -> Long.compare(Math.abs(b.getValue()[1]), Math.abs(a.getValue()[1])));
        System.out.printf(Locale.ROOT, "  %-52s %14s %14s %12s %10s%n", "class (histogram difference)", "instances", "bytes", "B per " + unit,
                "B/instance");
        long total = 0;
        for (int i = 0; i < grown.size(); i++) {
            long[] d = grown.get(i).getValue();
            total += d[1];
            if (i < o.top()) {
                System.out.printf(Locale.ROOT, "  %-52s %,14d %,14d %12.1f %10s%n", grown.get(i).getKey(), d[0], d[1], (double) d[1] / per,
                        d[0] == 0 ? "" : String.format(Locale.ROOT, "%.1f", (double) d[1] / d[0]));
            }
        }
        System.out.printf(Locale.ROOT, "  %-52s %14s %,14d %12.1f%n", "all classes", "", total, (double) total / per);
    }

    private static String gcNames() {
        List<String> names = new ArrayList<>();
        for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) names.add(gc.getName());
        return String.join(", ", names);
    }
}
