package io.raftkv.bench;

import java.util.concurrent.CompletableFuture;

/** A key/value store the load generator drives: raftkv or etcd, through each one's own Java client. */
interface KvTarget extends AutoCloseable {

    CompletableFuture<?> put(byte[] key, byte[] value);

    /** Linearizable unless {@code serializable}. */
    CompletableFuture<?> get(byte[] key, boolean serializable);

    @Override
    void close();
}
