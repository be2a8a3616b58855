package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RaftCore#hasReady()} is a pure query (etcd's {@code RawNode.HasReady}), and exact: true when and
 * only when {@link RaftCore#ready()} hands out something, including the APPENDs and heartbeats that only
 * ready() builds (proposals batched per loop turn, thesis §10.2.1; a ReadIndex round, thesis §6.4).
 *
 * <p>Each case drives two identical clusters the same way, leaves one input unprocessed on node 1, asks
 * hasReady() twice on one of them only, and then compares both nodes' status and next Ready.
 */
class HasReadyTest {

    @Test
    @DisplayName("thesis §10.2.1 proposals of one turn: hasReady() is true and builds none of the APPENDs that ready() then batches")
    void proposalsAreOnlyBatchedByReady() {
        Twin t = twin(c -> c.elect(1), core -> core.propose(bytes("a")));
        Ready rd = t.checkPureAndExact(true, core -> core.propose(bytes("b")));
        List<Message> appends = rd.messages().stream().filter(m -> m.type() == MessageType.APPEND).toList();
        assertEquals(2, appends.size(), "one APPEND per follower");
        for (Message m : appends) {
            List<String> data = m.entries().stream().map(e -> new String(e.data(), StandardCharsets.UTF_8)).toList();
            assertEquals(List.of("a", "b"), data, "asking between the proposals did not split the batch");
        }
    }

    @Test
    @DisplayName("§5.3 a heartbeat answer from a follower behind: the probe APPEND it calls for is the whole Ready, counted by hasReady()")
    void probeAfterHeartbeatAnswerIsCounted() {
        Twin t = twin(c -> {
            c.drop = m -> m.to() == 3 && m.type() == MessageType.APPEND;
            c.elect(1);
            c.propose(1, "a");
            c.deliverAll();
        }, core -> core.step(new MessageBuilder(MessageType.HEARTBEAT_RESP, 3, 1, core.term()).index(0).build()));
        Ready rd = t.checkPureAndExact(true);
        assertEquals(List.of("APPEND 1->3"), rd.messages().stream().map(m -> m.type() + " " + m.from() + "->" + m.to()).toList());
        assertEquals(List.of(), rd.entries());
        assertEquals(null, rd.hardState());
        assertEquals(List.of(), rd.messagesAfterPersist());
    }

    @Test
    @DisplayName("thesis §6.4 a read on the leader: the heartbeat round it wants is counted by hasReady() and sent by ready()")
    void wantedReadRoundIsCounted() {
        Twin t = twin(c -> c.elect(1), core -> core.readIndex(42));
        Ready rd = t.checkPureAndExact(true, core -> core.readIndex(43));
        assertEquals(2, rd.messages().stream().filter(m -> m.type() == MessageType.HEARTBEAT).count(), "both reads share one round");
    }

    @Test
    @DisplayName("thesis §6.4 a read on a single-node leader: the round releases it at once, and hasReady() counts that")
    void singleNodeReadIsCounted() {
        MemoryStorage disk = new MemoryStorage();
        RaftCore core = new RaftCore(new RaftConfig(1, List.of(1)), disk);
        while (core.role() != Role.LEADER) {
            core.tick();
            drain(core, disk);
        }
        core.readIndex(7);
        assertTrue(core.hasReady());
        Ready rd = core.ready();
        assertEquals(List.of(new ReadState(core.status().commit(), 7)), rd.readStates());
        core.advance(rd);
        assertFalse(core.hasReady());
    }

    @Test
    @DisplayName("§5.3 a duplicate acknowledgement while the window is full: appends are pending but cannot go, so hasReady() is false")
    void pendingButPausedIsNotReady() {
        Twin t = twin(c -> {
            c.elect(1);
            c.propose(1, "a"); // its APPEND, not delivered, fills each follower's window of one
        }, core -> core.step(new MessageBuilder(MessageType.APPEND_RESP, 2, 1, core.term()).index(1).build()),
                cfg -> cfg.inflightMessagesMax(1));
        t.checkPureAndExact(false);
    }

    @Test
    @DisplayName("an idle follower has nothing: hasReady() is false, and ready() would build nothing")
    void idleFollowerIsNotReady() {
        Twin t = twin(c -> c.elect(1), core -> { }, 2);
        t.checkPureAndExact(false);
    }

    // ---------------------------------------------------------------- helpers

    /** Two identically driven clusters; {@code node} is the node whose readiness is checked. */
    private record Twin(RaftTestCluster asked, RaftTestCluster notAsked, int node) {

        Ready checkPureAndExact(boolean expected) {
            return checkPureAndExact(expected, core -> { });
        }

        /**
         * Asks hasReady() twice on one twin only, checks it changed nothing and that it matches ready(). Then
         * {@code moreInput} goes to both twins before ready(): work that hasReady() built would show there.
         */
        Ready checkPureAndExact(boolean expected, Consumer<RaftCore> moreInput) {
            RaftCore core = asked.node(node);
            RaftCore control = notAsked.node(node);
            RaftStatus before = core.status();
            assertEquals(before, control.status(), "the twins start equal");

            assertEquals(expected, core.hasReady());
            assertEquals(expected, core.hasReady(), "asked again: the same answer");
            assertEquals(before, core.status(), "hasReady() changed nothing visible");

            moreInput.accept(core);
            moreInput.accept(control);
            Ready rd = core.ready();
            Ready controlRd = control.ready();
            assertEquals(describe(controlRd), describe(rd), "hasReady() changed nothing ready() hands out");
            assertEquals(!expected, describe(rd).equals(describe(EMPTY)), "ready() is empty exactly when hasReady() was false");
            core.advance(rd);
            control.advance(controlRd);
            return rd;
        }
    }

    private static final Ready EMPTY = new Ready(null, false, null, null, List.of(), List.of(), List.of(), List.of(), List.of());

    private static Twin twin(Consumer<RaftTestCluster> setUp, Consumer<RaftCore> lastInput) {
        return twin(setUp, lastInput, 1);
    }

    private static Twin twin(Consumer<RaftTestCluster> setUp, Consumer<RaftCore> lastInput, int node) {
        return twin(setUp, lastInput, node, cfg -> { });
    }

    private static Twin twin(Consumer<RaftTestCluster> setUp, Consumer<RaftCore> lastInput, Consumer<RaftConfig> tweak) {
        return twin(setUp, lastInput, 1, tweak);
    }

    private static Twin twin(Consumer<RaftTestCluster> setUp, Consumer<RaftCore> lastInput, int node, Consumer<RaftConfig> tweak) {
        RaftTestCluster asked = RaftTestCluster.of(3, tweak);
        RaftTestCluster notAsked = RaftTestCluster.of(3, tweak);
        for (RaftTestCluster c : List.of(asked, notAsked)) {
            setUp.accept(c);
            lastInput.accept(c.node(node));
        }
        return new Twin(asked, notAsked, node);
    }

    /** Everything a Ready hands out, comparable between the twins (entry data by content, not identity). */
    private static String describe(Ready rd) {
        return "hardState=" + rd.hardState() + " mustSync=" + rd.mustSync()
                + " entries=" + entries(rd.entries())
                + " messages=" + rd.messages().stream().map(m -> m + " " + entries(m.entries())).toList()
                + " afterPersist=" + rd.messagesAfterPersist().stream().map(m -> m + " " + entries(m.entries())).toList()
                + " committed=" + entries(rd.committedEntries())
                + " readStates=" + rd.readStates();
    }

    private static String entries(List<Entry> entries) {
        return entries.stream().map(e -> e.index() + "@" + e.term() + ":" + new String(e.data(), StandardCharsets.UTF_8))
                .collect(Collectors.joining(",", "[", "]"));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void drain(RaftCore core, MemoryStorage disk) {
        while (core.hasReady()) {
            Ready rd = core.ready();
            if (rd.hardState() != null) disk.setHardState(rd.hardState());
            disk.append(rd.entries());
            core.advance(rd);
            if (!rd.entries().isEmpty()) {
                Entry last = rd.entries().get(rd.entries().size() - 1);
                core.persisted(last.index(), last.term());
            }
        }
    }
}
