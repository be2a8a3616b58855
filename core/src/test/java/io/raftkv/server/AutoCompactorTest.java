package io.raftkv.server;

import io.raftkv.kv.ApplyResult;
import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.raft.Entry;
import io.raftkv.raft.MemoryStorage;
import io.raftkv.raft.RaftConfig;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.ReadState;
import io.raftkv.raft.Role;
import io.raftkv.replica.MemoryDurableLog;
import io.raftkv.replica.ReplicaDriver;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Auto compaction's two rules on a one-node leader whose timers fire when the test says: the revision rule, the periodic
 * rule (the revision that was current a retention ago, counted in checks, no clock), and both at once.
 */
class AutoCompactorTest {

    private static final long INTERVAL_MS = 100;

    /** Timers that fire when the test says: {@link #fire} runs what is due, as one check of the compactor. */
    private static final class ManualTimers implements Timers {
        private final List<Runnable> scheduled = new ArrayList<>();
        private long next;

        @Override
        public long schedule(long delayMs, Runnable task) {
            scheduled.add(task);
            return ++next;
        }

        @Override
        public void cancel(long timerId) {
            throw new UnsupportedOperationException("the compactor cancels nothing");
        }

        void fire() {
            List<Runnable> due = new ArrayList<>(scheduled);
            scheduled.clear();
            due.forEach(Runnable::run);
        }
    }

    private final MemoryStorage storage = new MemoryStorage();
    private final RaftCore core = new RaftCore(new RaftConfig(1, List.of(1)).electionTicks(10).heartbeatTicks(1).randomSeed(7), storage);
    private final KvStateMachine kv = new KvStateMachine(1 << 20);
    private final ManualTimers timers = new ManualTimers();
    private final ReplicaDriver<ApplyResult> driver = new ReplicaDriver<>(core, new ReplicaDriver.Transport() {
        @Override
        public void send(io.raftkv.raft.Message m) {
        }

        @Override
        public void flush() {
        }
    }, new MemoryDurableLog(storage), kv, new ReplicaDriver.Listener<ApplyResult>() {
        @Override
        public void applied(Entry e, ApplyResult result) {
        }

        @Override
        public void readable(ReadState read) {
        }
    });
    /** kv.revision() at the end of each check, the first at index 0. */
    private final List<Long> revisionAfterCheck = new ArrayList<>();
    private int puts;

    private void process() {
        try {
            driver.process();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void startLeading(long retentionRevisions, long retentionMs) {
        for (int i = 0; i < 30 && core.role() != Role.LEADER; i++) {
            core.tick();
            process();
        }
        assertEquals(Role.LEADER, core.role());
        new AutoCompactor(core, kv, timers, retentionRevisions, retentionMs, INTERVAL_MS).start();
    }

    /** {@code writes} puts, applied, then one check of the compactor and the apply of what it proposed. */
    private void check(int writes) {
        for (int i = 0; i < writes; i++) {
            assertTrue(core.propose(new KvCommand.Put(("k" + puts++).getBytes(StandardCharsets.UTF_8), new byte[8]).encode()).accepted());
        }
        process();
        timers.fire();
        process();
        revisionAfterCheck.add(kv.revision());
    }

    private long compacted() {
        return kv.store().compactRevision();
    }

    @Test
    void thePeriodicRuleCompactsToTheRevisionOfARetentionAgo() {
        startLeading(0, 10 * INTERVAL_MS);
        for (int k = 0; k < 10; k++) {
            check(3);
            assertEquals(0, compacted(), "nothing before a whole retention has been sampled (check " + k + ")");
        }
        for (int k = 10; k < 40; k++) {
            long sampledThen = revisionAfterCheck.get(k - 10); // a compaction takes no revision
            check(3);
            assertEquals(sampledThen, compacted(), "check " + k + ": the revision current ten checks (a retention) ago");
        }
    }

    @Test
    void aLongRetentionSamplesEveryFewChecksAndStaysWithinAStride() {
        // 5,000 checks per retention: a sample every 5 checks, 1,001 of them.
        startLeading(0, 5_000 * INTERVAL_MS);
        for (int k = 0; k < 6_000; k++) check(1);
        long now = kv.revision();
        assertTrue(compacted() <= now - 5_000 + 5 && compacted() >= now - 5_000 - 5,
                "compacted at " + compacted() + ", revision " + now + ": about 5,000 checks of one write each behind");
    }

    @Test
    void withBothRulesHistoryGoesOnceEitherLetsItGo() {
        startLeading(100, 10 * INTERVAL_MS);
        // Busy: 50 writes a check, so 100 revisions are two checks; the revision rule keeps less than the periodic one.
        for (int k = 0; k < 20; k++) check(50);
        long busy = compacted();
        assertTrue(busy >= kv.revision() - 100 - 100 / 10 - 1 && busy <= kv.revision() - 100,
                "busy: the revision rule binds (" + busy + " at revision " + kv.revision() + ")");
        // Quiet: a write every other check; 100 revisions are 200 checks, and the periodic rule compacts to ten checks ago.
        for (int k = 0; k < 40; k++) check(k % 2);
        long quiet = compacted();
        assertTrue(quiet >= kv.revision() - 8 && quiet <= kv.revision() - 4,
                "quiet: the periodic rule binds (" + quiet + " at revision " + kv.revision() + ")");
    }
}
