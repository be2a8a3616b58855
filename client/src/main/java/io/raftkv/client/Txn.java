package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A transaction under construction, in the shape of jetcd's: {@code client.txn().If(compares).Then(ops).Else(ops)}
 * then {@link #commit()}. Compares and operations add up across calls. The names follow jetcd (If, Then, Else are
 * Java keywords in lower case).
 */
public final class Txn {

    private final RaftKvClient client;
    private final List<Compare> compares = new ArrayList<>();
    private final List<TxnOp> success = new ArrayList<>();
    private final List<TxnOp> failure = new ArrayList<>();

    Txn(RaftKvClient client) {
        this.client = client;
    }

    public Txn If(Compare... cs) {
        compares.addAll(Arrays.asList(cs));
        return this;
    }

    public Txn Then(TxnOp... ops) {
        success.addAll(Arrays.asList(ops));
        return this;
    }

    public Txn Else(TxnOp... ops) {
        failure.addAll(Arrays.asList(ops));
        return this;
    }

    public TxnRequest request() {
        return new TxnRequest(compares, success, failure);
    }

    public CompletableFuture<ClientResponse.TxnResult> commitAsync() {
        return client.txnAsync(request());
    }

    public ClientResponse.TxnResult commit() {
        return client.txn(request());
    }
}
