package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;
import io.raftkv.replica.ReplicaDriver;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A request table driven as a node's loop drives it, for tests: the replica's applied entries and released reads go to
 * the table, and a turn ends with the core's Ready handled, then the held transactions let go (Node.endOfTurn).
 */
final class RequestTableTurns {

    private final ReplicaDriver<ApplyResult> driver;
    private final ClientRequests requests;

    RequestTableTurns(RaftCore core, ReplicaDriver.Transport transport, ReplicaDriver.DurableLog log, KvStateMachine kv, ClientRequests requests) {
        this.requests = requests;
        this.driver = new ReplicaDriver<>(core, transport, log, kv, new ReplicaDriver.Listener<ApplyResult>() {
            @Override
            public void applied(Entry e, ApplyResult result) {
                requests.applied(e, result);
            }

            @Override
            public void readable(ReadState read) {
                requests.readable(read);
            }
        });
    }

    void endOfTurn() {
        try {
            driver.process();
            while (requests.afterTurn()) driver.process();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
