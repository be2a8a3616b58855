package io.raftkv.server;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.replica.ReplicaDriver;
import io.raftkv.wal.WriteAheadLog;

import java.io.IOException;
import java.util.List;

/**
 * The node's durable log: the {@link WriteAheadLog} on disk, and the {@link MemoryStorage} the core reads,
 * which mirrors what was written. One sync per call at most, so a loop turn's Ready costs one fsync (group
 * commit). The member marker is written after the first sync (see {@link MemberMarker}).
 */
final class WalDurableLog implements ReplicaDriver.DurableLog {

    private final WriteAheadLog wal;
    private final MemoryStorage storage;
    private final MemberMarker marker;

    WalDurableLog(WriteAheadLog wal, MemoryStorage storage, MemberMarker marker) {
        this.wal = wal;
        this.storage = storage;
        this.marker = marker;
    }

    @Override
    public void persist(HardState hardState, List<Entry> entries, boolean sync) throws IOException {
        if (!entries.isEmpty()) {
            wal.append(entries);
            storage.append(entries);
        }
        if (hardState != null) {
            wal.saveHardState(hardState);
            storage.setHardState(hardState);
        }
        if (sync) {
            wal.sync();
            marker.writeIfAbsent();
        }
    }
}
