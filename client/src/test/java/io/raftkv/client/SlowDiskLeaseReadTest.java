package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every node's WAL sync made 50 ms slower (issue 15), lease reads on. The WAL has a thread of its own, so the loop goes on
 * while a sync takes its time: heartbeats still go out, so the leader keeps its leadership and term through writes that each
 * wait for slow syncs; linearizable reads, served from the leader's read lease, see every write acknowledged before them.
 * How fast those reads are is measured by the load generator (docs/benchmarks.md, "A slow disk"), not here.
 */
class SlowDiskLeaseReadTest {

    private static final Duration RUN = Duration.ofSeconds(4);
    private static final Pattern SERVED = Pattern.compile("\\((\\d+) linearizable reads served from the read lease\\)");

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    @Test
    void theLeaderKeepsItsTermAndServesFreshLeaseReadsWhileEverySyncIsSlow() throws Exception {
        cluster = new LocalCluster(dir, 3);
        cluster.jvmOptions.add("-Draftkv.leaseReads=true");
        cluster.jvmOptions.add("-Draftkv.test.walSyncDelayMs=50");
        cluster.startAll();
        AtomicLong acknowledged = new AtomicLong(-1);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicReference<Throwable> writeFailure = new AtomicReference<>();
        long reads = 0;
        int leader;
        long term;
        try (RaftKvClient client = cluster.client()) {
            leader = cluster.awaitLeader(client, Duration.ofSeconds(20));
            term = cluster.status(client, leader).orElseThrow().term();
            Thread writer = new Thread(() -> {
                try {
                    for (long i = 0; writing.get(); i++) {
                        client.put("k", Long.toString(i));
                        acknowledged.set(i);
                    }
                } catch (Throwable t) {
                    writeFailure.set(t);
                }
            }, "slow-disk-writer");
            writer.start();
            long endNanos = System.nanoTime() + RUN.toNanos();
            while (System.nanoTime() < endNanos) {
                long before = acknowledged.get();
                String value = client.get("k");
                long seen = value == null ? -1 : Long.parseLong(value);
                assertTrue(seen >= before, "a linearizable read saw " + seen + " after write " + before + " was acknowledged");
                reads++;
            }
            writing.set(false);
            writer.join(Duration.ofSeconds(30).toMillis());
            assertNull(writeFailure.get(), () -> "a write failed: " + writeFailure.get());
            assertTrue(acknowledged.get() > 0, "no write was acknowledged in " + RUN);
            ClientResponse.StatusResult after = cluster.status(client, leader).orElseThrow();
            assertEquals("LEADER", after.role(), "node " + leader + " lost its leadership while its disk was slow");
            assertEquals(term, after.term(), "an election happened while the disks were slow");
        }
        cluster.stop(leader);
        Matcher served = SERVED.matcher(cluster.log(leader));
        assertTrue(served.find(), "the leader's log does not say how many reads its lease served");
        long fromLease = Long.parseLong(served.group(1));
        assertTrue(fromLease > 0, "none of the " + reads + " reads was served from the read lease");
        System.out.printf("slow disk: %d writes acknowledged, %d linearizable reads (%d served from the lease) in %s%n",
                acknowledged.get() + 1, reads, fromLease, RUN);
    }
}
