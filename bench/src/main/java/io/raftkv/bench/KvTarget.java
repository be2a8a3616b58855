package io.raftkv.bench;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A key/value store the load generator drives: raftkv or etcd, through each one's own Java client. Every
 * operation is the one a user of that client would write; both targets ask the same thing of their store.
 */
interface KvTarget extends AutoCloseable {

    /** A key as read: its value (null when absent) and its mod revision (0 when absent, as in a compare). */
    record Versioned(byte[] value, long modRevision) {
        static final Versioned ABSENT = new Versioned(null, 0);
    }

    /** A compare-and-put's outcome: {@code current} is the key as the failed compare found it (null on success). */
    record CasResult(boolean succeeded, Versioned current) {
        static final CasResult SUCCEEDED = new CasResult(true, null);
    }

    /**
     * The connection that slot {@code slot} of a load keeps (a target opened with several: slot mod their number), so that
     * the operation an answer starts goes out on the connection the answer came in on, as each client process of a real
     * deployment keeps its own. Spread over all of them instead, each answer read made the reading thread write to every
     * connection: raftkv's mix at 64 in flight did 30 % fewer operations over 4 connections than over one
     * (docs/benchmarks.md). This target itself is slot 0.
     */
    default KvTarget slot(int slot) {
        return this;
    }

    CompletableFuture<?> put(byte[] key, byte[] value);

    /** Linearizable unless {@code serializable}. */
    CompletableFuture<?> get(byte[] key, boolean serializable);

    /** A linearizable read of one key with its mod revision. */
    CompletableFuture<Versioned> read(byte[] key);

    /**
     * One transaction: if {@code key}'s mod revision is still {@code expectedModRevision} (0: the key is absent),
     * put {@code value}; else read the key, so that a retry needs no second read (etcd's STM pattern).
     */
    CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value);

    /** A linearizable range read of {@code [key, rangeEnd)}; completes with the number of keys returned. */
    CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd);

    /**
     * One serializable read that fails within {@code deadline} with the client's own reason (refused, no leader...):
     * a run against a cluster that is not there stops at once and says why.
     */
    default CompletableFuture<?> check(Duration deadline) {
        return get(new byte[]{'0'}, true).orTimeout(deadline.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Override
    void close();
}
