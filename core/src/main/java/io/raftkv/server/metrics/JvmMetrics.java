package io.raftkv.server.metrics;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryUsage;
import java.lang.management.OperatingSystemMXBean;

/**
 * The JVM's memory, garbage collections, threads and CPU, read from the platform MXBeans at each scrape (they are safe
 * from any thread). The names are those of the Prometheus Java client's hotspot exports, so that its dashboards work.
 */
final class JvmMetrics {

    private JvmMetrics() {
    }

    static void writeTo(TextFormat out) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        MemoryUsage heap = memory.getHeapMemoryUsage();
        MemoryUsage nonHeap = memory.getNonHeapMemoryUsage();
        out.family("jvm_memory_bytes_used", "gauge", "Used bytes of a given JVM memory area.")
                .sample("jvm_memory_bytes_used", heap.getUsed(), "area", "heap")
                .sample("jvm_memory_bytes_used", nonHeap.getUsed(), "area", "nonheap");
        out.family("jvm_memory_bytes_committed", "gauge", "Committed bytes of a given JVM memory area.")
                .sample("jvm_memory_bytes_committed", heap.getCommitted(), "area", "heap")
                .sample("jvm_memory_bytes_committed", nonHeap.getCommitted(), "area", "nonheap");
        out.family("jvm_memory_bytes_max", "gauge", "Max bytes of a given JVM memory area (-1: no limit).")
                .sample("jvm_memory_bytes_max", heap.getMax(), "area", "heap")
                .sample("jvm_memory_bytes_max", nonHeap.getMax(), "area", "nonheap");
        out.family("jvm_memory_pool_bytes_used", "gauge", "Used bytes of a given JVM memory pool.");
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            MemoryUsage u = pool.getUsage();
            if (u != null) out.sample("jvm_memory_pool_bytes_used", u.getUsed(), "pool", pool.getName());
        }
        out.family("jvm_gc_collection_seconds", "summary", "Time spent in a given JVM garbage collector in seconds.");
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            out.sample("jvm_gc_collection_seconds_count", Math.max(0, gc.getCollectionCount()), "gc", gc.getName());
            out.sample("jvm_gc_collection_seconds_sum", Math.max(0, gc.getCollectionTime()) / 1e3, "gc", gc.getName());
        }
        out.single("jvm_threads_current", "gauge", "Current thread count of a JVM.", ManagementFactory.getThreadMXBean().getThreadCount());
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            out.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
                    .sample("process_cpu_seconds_total", sun.getProcessCpuTime() / 1e9);
        }
        if (os instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            out.single("process_open_fds", "gauge", "Number of open file descriptors.", unix.getOpenFileDescriptorCount());
            out.single("process_max_fds", "gauge", "Maximum number of open file descriptors.", unix.getMaxFileDescriptorCount());
        }
        out.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
                .sample("process_start_time_seconds", ManagementFactory.getRuntimeMXBean().getStartTime() / 1e3);
    }
}
