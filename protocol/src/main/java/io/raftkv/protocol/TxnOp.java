package io.raftkv.protocol;

/** One operation of a transaction's success or failure branch. */
public sealed interface TxnOp {

    record Range(RangeRequest request) implements TxnOp { }

    record Put(byte[] key, byte[] value, boolean prevKv) implements TxnOp { }

    /** Deletes {@code key}, or every key in {@code [key, rangeEnd)} (the range conventions of {@link RangeRequest}). */
    record DeleteRange(byte[] key, byte[] rangeEnd, boolean prevKv) implements TxnOp { }
}
