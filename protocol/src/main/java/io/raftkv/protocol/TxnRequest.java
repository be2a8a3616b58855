package io.raftkv.protocol;

import java.util.List;

/**
 * etcd's transaction: if every compare holds, the {@code success} operations run, else the {@code failure}
 * ones; atomically, in one log entry, producing one revision if anything was written. A branch must not write
 * one key twice (a put twice, or a put inside a deleted range).
 */
public record TxnRequest(List<Compare> compares, List<TxnOp> success, List<TxnOp> failure) {

    public TxnRequest {
        compares = List.copyOf(compares);
        success = List.copyOf(success);
        failure = List.copyOf(failure);
    }

    /** The longest of its lists (compares, success, failure): what the node's txnOpsMax bounds, as etcd's --max-txn-ops. */
    public int size() {
        return Math.max(compares.size(), Math.max(success.size(), failure.size()));
    }
}
