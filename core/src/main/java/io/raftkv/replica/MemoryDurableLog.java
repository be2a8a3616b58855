package io.raftkv.replica;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;

import java.util.List;

/**
 * A {@link ReplicaDriver.DurableLog} in memory that writes in place, "durable" for the life of the object: scripted
 * tests and benchmarks.
 */
public final class MemoryDurableLog implements ReplicaDriver.DurableLog {

    private final MemoryStorage storage;

    public MemoryDurableLog(MemoryStorage storage) {
        this.storage = storage;
    }

    @Override
    public void persist(HardState hardState, List<Entry> entries, boolean sync, Runnable durable) {
        storage.append(entries);
        if (hardState != null) storage.setHardState(hardState);
        durable.run();
    }

    @Override
    public void awaitDurable() {
        // Everything is durable as soon as it is handed over.
    }
}
