package io.raftkv.server;

import io.raftkv.net.EventLoop;
import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.server.metrics.NodeMetrics;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The node's durable log: the {@link WriteAheadLog}, written and synced by a thread of its own, so that the loop never
 * waits for the disk: while a sync takes 20 ms the loop goes on reading, replicating, answering reads and sending
 * heartbeats. The loop hands writes over in order; the disk thread takes all that wait (up to {@link #GROUP_MAX}), writes
 * them and syncs once (group commit across loop turns), then tells the loop, which makes them visible in the
 * {@link MemoryStorage} the core reads and reports them to the driver. Other work on the WAL (releasing segments behind a
 * snapshot, restarting the log after an installed one) runs on the same thread, in order with the writes. Once
 * {@link #start()} ran, only the disk thread touches the WAL; the storage and the callbacks stay the loop's. The member
 * marker is written after the first sync (see {@link MemberMarker}).
 */
final class WalDurableLog implements ReplicaDriver.DurableLog {

    /**
     * Writes and WAL tasks waiting for the disk thread. Past it the loop waits for room, as it waited for every sync
     * before the disk had a thread: the core's in-flight and pending-request limits keep it from happening in practice.
     */
    static final int QUEUED_MAX = 8192;
    /** Writes the disk thread takes at once, under one sync. */
    static final int GROUP_MAX = 1024;

    /** Work on the WAL other than a write, run on the disk thread in order with the writes. */
    interface WalTask {
        void run(WriteAheadLog wal) throws IOException;
    }

    /** A write handed over ({@code seq} &gt; 0), a task, or the last job. */
    private record Job(long seq, HardState hardState, List<Entry> entries, boolean sync, Runnable durable, WalTask task) { }

    private static final Job STOP = new Job(0, null, List.of(), false, null, null);

    private final WriteAheadLog wal;
    private final MemoryStorage storage;
    private final MemberMarker marker;
    private final EventLoop loop;
    private final Consumer<IOException> failed;
    /** Test and benchmark knob: added to every sync, to show what a slow disk does to the node. */
    private final long syncDelayMs;
    private final ArrayBlockingQueue<Job> queue = new ArrayBlockingQueue<>(QUEUED_MAX);
    private final Thread thread;
    /** Written by the disk thread: how long syncs take, and since when it works on a group (the health check's "disk stuck"). */
    private final NodeMetrics metrics;

    // The loop's side.
    /** Writes handed over, oldest first, until the loop learns they are durable. */
    private final ArrayDeque<Job> handedOver = new ArrayDeque<>();
    private long handedSeq;
    private final AtomicBoolean collectPosted = new AtomicBoolean();
    private final Runnable collect = this::collect;

    // Shared: written by the disk thread, read by the loop; waited on (monitor of this) by awaitDurable.
    private volatile long durableSeq;
    private volatile Exception failure;

    WalDurableLog(WriteAheadLog wal, MemoryStorage storage, MemberMarker marker, EventLoop loop, int nodeId, long syncDelayMs,
                  Consumer<IOException> failed, NodeMetrics metrics) {
        this.wal = wal;
        this.metrics = metrics;
        this.storage = storage;
        this.marker = marker;
        this.loop = loop;
        this.syncDelayMs = syncDelayMs;
        this.failed = failed;
        this.thread = new Thread(this::run, "raftkv-wal-" + nodeId);
        thread.setDaemon(true);
    }

    /** Before the first write: from now on only the disk thread touches the WAL. */
    void start() {
        thread.start();
    }

    @Override
    public void persist(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) throws IOException {
        checkHealthy();
        Job job = new Job(++handedSeq, hardState, entries, sync, durable, null);
        handedOver.add(job);
        enqueue(job);
    }

    /** Runs {@code task} on the disk thread after everything handed over before; a failure stops the node. */
    void submit(WalTask task) {
        enqueue(new Job(0, null, List.of(), false, null, task));
    }

    @Override
    public void awaitDurable() throws IOException {
        synchronized (this) {
            while (durableSeq < handedSeq && failure == null) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the write-ahead log", e);
                }
            }
        }
        collect();
        checkHealthy();
    }

    /** Writes what waits, syncs, and stops the disk thread; the WAL is closed. From the loop thread, as it stops. */
    void close() throws IOException {
        if (!thread.isAlive()) {
            wal.close();
            return;
        }
        enqueue(STOP);
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        checkHealthy();
    }

    private void enqueue(Job job) {
        try {
            queue.put(job);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while handing a write to the write-ahead log", e);
        }
    }

    /** On the loop: the writes the disk thread made durable become visible to the core, and are reported, in order. */
    private void collect() {
        collectPosted.set(false);
        long durable = durableSeq;
        for (Job job = handedOver.peek(); job != null && job.seq() <= durable; job = handedOver.peek()) {
            handedOver.poll();
            if (!job.entries().isEmpty()) storage.append(job.entries());
            if (job.hardState() != null) storage.setHardState(job.hardState());
            job.durable().run();
        }
        if (failure != null) {
            IOException e = failure instanceof IOException io ? io : new IOException(failure.getMessage(), failure);
            failed.accept(e);
        }
    }

    private void checkHealthy() throws IOException {
        Exception f = failure;
        if (f != null) throw f instanceof IOException io ? io : new IOException("the write-ahead log failed: " + f, f);
    }

    // ---------------------------------------------------------------- the disk thread

    private void run() {
        List<Job> group = new ArrayList<>(GROUP_MAX);
        try {
            while (true) {
                group.add(queue.take());
                metrics.walBusy(System.nanoTime());
                queue.drainTo(group, GROUP_MAX - 1);
                boolean stop = false;
                boolean sync = false;
                long lastSeq = 0;
                for (Job job : group) {
                    if (job == STOP) {
                        stop = true;
                    } else if (job.task() != null) {
                        job.task().run(wal);
                    } else {
                        if (!job.entries().isEmpty()) wal.append(job.entries());
                        if (job.hardState() != null) wal.saveHardState(job.hardState());
                        sync |= job.sync();
                        lastSeq = job.seq();
                    }
                }
                group.clear();
                if (sync) {
                    long syncStartNanos = System.nanoTime();
                    if (syncDelayMs > 0) Thread.sleep(syncDelayMs);
                    wal.sync();
                    metrics.walSynced(System.nanoTime() - syncStartNanos);
                    marker.writeIfAbsent();
                }
                if (lastSeq > 0) reportDurable(lastSeq);
                metrics.walIdle();
                if (stop) {
                    wal.close();
                    return;
                }
            }
        } catch (Exception e) {
            synchronized (this) {
                failure = e;
                notifyAll();
            }
            postCollect();
        }
    }

    private void reportDurable(long seq) {
        synchronized (this) {
            durableSeq = seq;
            notifyAll();
        }
        postCollect();
    }

    private void postCollect() {
        if (!collectPosted.compareAndSet(false, true)) return;
        while (loop.isRunning() && !loop.execute(collect)) {
            // The loop's task queue is full: it drains every turn.
            Thread.onSpinWait();
        }
    }
}
