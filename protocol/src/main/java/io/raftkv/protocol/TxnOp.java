package io.raftkv.protocol;

/** One operation of a transaction's success or failure branch. */
public sealed interface TxnOp {

    record Range(RangeRequest request) implements TxnOp { }

    /**
     * Puts {@code value} at {@code key}, attaching the key to {@code lease} (etcd's PutRequest.lease): the key is
     * deleted when the lease ends. A put with lease 0 detaches the key from any lease it had. A lease that does not
     * exist when the put is applied refuses the whole transaction.
     */
    record Put(byte[] key, byte[] value, boolean prevKv, long lease) implements TxnOp {
        /** A put attached to no lease. */
        public Put(byte[] key, byte[] value, boolean prevKv) {
            this(key, value, prevKv, 0);
        }
    }

    /** Deletes {@code key}, or every key in {@code [key, rangeEnd)} (the range conventions of {@link RangeRequest}). */
    record DeleteRange(byte[] key, byte[] rangeEnd, boolean prevKv) implements TxnOp { }
}
