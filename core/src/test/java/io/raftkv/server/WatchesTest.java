package io.raftkv.server;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvSnapshot;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The watch hub against a real state machine: live events, history, slow connections, compaction, snapshots, bad input. */
class WatchesTest {

    private static final long BACKLOG = 10_000;

    /** A connection: what it was sent, and a queue the test fills or drains. */
    private static final class FakeChannel implements Watches.Channel, ClientRequests.Channel {
        final List<ClientResponse> frames = new ArrayList<>();
        final List<ClientResponse> answers = new ArrayList<>();
        long queued;

        @Override
        public boolean send(ClientResponse frame) {
            frames.add(frame);
            return true;
        }

        @Override
        public long queuedBytes() {
            return queued;
        }

        @Override
        public void reply(ClientResponse response) {
            answers.add(response);
        }

        ClientResponse lastAnswer() {
            return answers.get(answers.size() - 1);
        }

        List<ClientResponse.WatchEvents> events() {
            return frames.stream().filter(f -> f instanceof ClientResponse.WatchEvents).map(f -> (ClientResponse.WatchEvents) f).toList();
        }

        /** Every event received, as "PUT a=1@2" / "DELETE a@4". */
        List<String> flat() {
            List<String> out = new ArrayList<>();
            for (ClientResponse.WatchEvents f : events()) for (WatchEvent e : f.events()) out.add(show(e));
            return out;
        }
    }

    private final KvStateMachine kv = new KvStateMachine();
    private long now;
    private long frameEventBytesMax = 1 << 20;
    private long catchUpKeysMax = 1_000_000;
    private Watches watches = hub(10);

    private Watches hub(int perConnection) {
        Watches w = new Watches(kv::store, 1, () -> 3, () -> now,
                new Watches.Limits(1000, perConnection, BACKLOG, frameEventBytesMax, catchUpKeysMax, 1_000));
        kv.setChangeListener(w);
        return w;
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String show(WatchEvent e) {
        String key = new String(e.kv().key(), StandardCharsets.UTF_8);
        String prev = e.prevKv() == null ? "" : " (was " + new String(e.prevKv().value(), StandardCharsets.UTF_8) + ")";
        return e.type() == WatchEvent.Type.PUT
                ? "PUT " + key + "=" + new String(e.kv().value(), StandardCharsets.UTF_8) + "@" + e.revision() + prev
                : "DELETE " + key + "@" + e.revision() + prev;
    }

    private void apply(KvCommand c) {
        kv.apply(new Entry(1, kv.appliedIndex() + 1, c.encode()));
    }

    private void put(String k, String v) {
        apply(KvCommand.put(b(k), b(v)));
    }

    private void txn(TxnOp... ops) {
        apply(new KvCommand.Txn(new TxnRequest(List.of(), List.of(ops), List.of())));
    }

    private ClientResponse watch(FakeChannel c, WatchRequest r) {
        watches.handle(c, new ClientRequest.WatchCreate(99, r), c);
        return c.lastAnswer();
    }

    @Test
    void liveEventsArriveByRevisionWithATransactionsEventsTogetherInKeyOrder() {
        FakeChannel c = new FakeChannel();
        assertInstanceOf(ClientResponse.Ok.class, watch(c, WatchRequest.prefix(1, b("a/"))));
        put("a/1", "x");
        put("b/1", "y");
        txn(new TxnOp.Put(b("a/3"), b("p"), false), new TxnOp.Put(b("a/2"), b("q"), false), new TxnOp.Put(b("c"), b("r"), false));
        apply(KvCommand.delete(b("a/1")));
        assertEquals(List.of("PUT a/1=x@2", "PUT a/2=q@4", "PUT a/3=p@4", "DELETE a/1@5"), c.flat());
        List<ClientResponse.WatchEvents> frames = c.events();
        assertEquals(List.of(2L, 4L, 5L), frames.stream().map(f -> f.header().revision()).toList(), "one frame per revision, the header its revision");
        assertTrue(frames.stream().noneMatch(ClientResponse.WatchEvents::fragment));
        assertEquals(1, frames.get(0).watchId());
    }

    @Test
    void aWatchFromAPastRevisionGetsTheHistoryThenLiveEventsWithoutGapOrDuplicate() {
        put("k", "1");          // 2
        put("other", "x");      // 3
        put("k", "2");          // 4
        apply(KvCommand.delete(b("k"))); // 5
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(7, b("k")).fromRevision(2).withPrevKv(true));
        put("k", "3");          // 6
        assertEquals(List.of("PUT k=1@2", "PUT k=2@4 (was 1)", "DELETE k@5 (was 2)", "PUT k=3@6"), c.flat());
    }

    @Test
    void filtersAndPrevKvAreHonoured() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")).withFilters(false, true));
        FakeChannel d = new FakeChannel();
        watch(d, WatchRequest.key(2, b("k")).withFilters(true, false).withPrevKv(true));
        put("k", "1");
        put("k", "2");
        apply(KvCommand.delete(b("k")));
        assertEquals(List.of("PUT k=1@2", "PUT k=2@3"), c.flat(), "no deletes, and no previous values unless asked");
        assertEquals(List.of("DELETE k@4 (was 2)"), d.flat());
    }

    @Test
    void aStartAtOrBelowTheCompactionPointIsCanceledWithTheCompactRevision() {
        for (int i = 0; i < 5; i++) put("k", "v" + i); // revisions 2..6
        apply(new KvCommand.Compact(4));
        FakeChannel c = new FakeChannel();
        assertInstanceOf(ClientResponse.Ok.class, watch(c, WatchRequest.key(1, b("k")).fromRevision(4)));
        ClientResponse.WatchCanceled canceled = assertInstanceOf(ClientResponse.WatchCanceled.class, c.frames.get(c.frames.size() - 1));
        assertEquals(ErrorCode.COMPACTED, canceled.code());
        assertEquals(4, canceled.compactRevision());
        assertEquals(0, watches.size(), "the watch is closed");
        FakeChannel d = new FakeChannel();
        watch(d, WatchRequest.key(2, b("k")).fromRevision(5));
        assertEquals(List.of("PUT k=v3@5", "PUT k=v4@6"), d.flat());
    }

    @Test
    void aSlowConnectionIsNotBufferedButCaughtUpFromHistoryOnceItDrains() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.prefix(1, b("")));
        put("a", "0");
        c.queued = BACKLOG + 1; // the client stopped reading
        for (int i = 1; i <= 50; i++) put("a", "v" + i);
        assertEquals(List.of("PUT a=0@2"), c.flat(), "nothing more is queued for a connection over its backlog");
        watches.tick();
        assertEquals(1, c.flat().size());
        c.queued = 0;
        watches.drained(c);
        List<String> all = c.flat();
        assertEquals(51, all.size());
        for (int i = 1; i <= 50; i++) assertEquals("PUT a=v" + i + "@" + (i + 2), all.get(i));
        put("a", "live");
        assertEquals("PUT a=live@53", c.flat().get(51), "live again once caught up");
        assertEquals(52, c.flat().size());
    }

    @Test
    void catchingUpIsBoundedPerTurnAndGoesOnAtTheNextTick() {
        catchUpKeysMax = 30;
        watches = hub(10);
        for (int i = 0; i < 300; i++) put("k" + (i % 50), "v" + i); // revisions 2..301 over 50 keys
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.prefix(1, b("k")).fromRevision(2));
        assertEquals(256, c.flat().size(), "one window of history (256 revisions, 50 keys visited) spends the budget");
        watches.tick();
        List<String> all = c.flat();
        assertEquals(300, all.size());
        for (int i = 0; i < 300; i++) assertEquals("PUT k" + (i % 50) + "=v" + i + "@" + (i + 2), all.get(i));
        put("k0", "live");
        assertEquals(301, c.flat().size(), "live once caught up");
    }

    @Test
    void watchesOfOneRangeThatFellBehindShareEachHistoryRead() {
        catchUpKeysMax = 51; // one read of the 50 keys. history per tick (50 keys visited, and the read)
        watches = hub(10);
        for (int i = 0; i < 600; i++) put("k" + (i % 50), "v" + i); // revisions 2..601
        List<FakeChannel> slow = new ArrayList<>();
        for (int n = 0; n < 20; n++) {
            FakeChannel c = new FakeChannel();
            c.queued = BACKLOG + 1;
            watch(c, WatchRequest.prefix(1, b("k")).fromRevision(2)); // reads its first window, cannot send it
            slow.add(c);
        }
        for (FakeChannel c : slow) {
            assertTrue(c.flat().isEmpty());
            c.queued = 0;
        }
        watches.tick();
        for (FakeChannel c : slow) {
            assertEquals(512, c.flat().size(), "the first window, then the second, read once for all twenty watches");
        }
        watches.tick();
        for (FakeChannel c : slow) assertEquals(600, c.flat().size());
    }

    @Test
    void aWatchBehindWhenHistoryIsCompactedIsCanceledNotLeftWithAGap() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")));
        c.queued = BACKLOG + 1;
        for (int i = 0; i < 10; i++) put("k", "v" + i); // 2..11; the first is sent, the rest wait
        apply(new KvCommand.Compact(8));
        c.queued = 0;
        watches.drained(c);
        ClientResponse.WatchCanceled canceled = assertInstanceOf(ClientResponse.WatchCanceled.class, c.frames.get(c.frames.size() - 1));
        assertEquals(8, canceled.compactRevision());
        assertEquals(List.of("PUT k=v0@2"), c.flat());
    }

    @Test
    void aRevisionLargerThanAFrameGoesInFragmentsThatSayHowFarTheyReach() {
        frameEventBytesMax = 60; // about one small event per frame
        watches = hub(10);
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.prefix(1, b("")));
        put("z", "0"); // 2
        txn(new TxnOp.Put(b("a"), b("1"), false), new TxnOp.Put(b("b"), b("2"), false), new TxnOp.Put(b("c"), b("3"), false)); // 3
        List<ClientResponse.WatchEvents> frames = c.events();
        assertEquals(List.of("PUT z=0@2", "PUT a=1@3", "PUT b=2@3", "PUT c=3@3"), c.flat());
        assertEquals(List.of(false, true, true, false), frames.stream().map(ClientResponse.WatchEvents::fragment).toList());
        assertEquals(List.of(2L, 2L, 2L, 3L), frames.stream().map(f -> f.header().revision()).toList(),
                "a fragment's header names the last revision it completes");
    }

    @Test
    void aStoreReplacedByASnapshotCatchesItsWatchesUpFromTheSnapshotsHistory() throws IOException {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")));
        put("k", "1"); // 2
        // Another replica applied more meanwhile; this one installs its snapshot (history since its compaction point).
        KvStateMachine ahead = new KvStateMachine();
        ahead.apply(new Entry(1, 1, KvCommand.put(b("k"), b("1")).encode()));
        ahead.apply(new Entry(1, 2, KvCommand.put(b("x"), b("y")).encode()));
        ahead.apply(new Entry(1, 3, KvCommand.put(b("k"), b("2")).encode()));
        KvSnapshot snapshot = ahead.snapshot();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        snapshot.writeTo(out);
        snapshot.release();
        kv.restore(3, new ByteArrayInputStream(out.toByteArray()), 4096, 1 << 20);
        watches.tick();
        put("k", "3");
        assertEquals(List.of("PUT k=1@2", "PUT k=2@4", "PUT k=3@5"), c.flat());
    }

    @Test
    void progressNotificationsTellAnIdleWatchHowFarItIs() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")).withProgressNotify(true));
        FakeChannel quiet = new FakeChannel();
        watch(quiet, WatchRequest.key(2, b("k")));
        put("other", "1");
        now += 999;
        watches.tick();
        assertTrue(c.events().isEmpty());
        now += 1;
        watches.tick();
        ClientResponse.WatchEvents progress = c.events().get(0);
        assertTrue(progress.events().isEmpty());
        assertEquals(2, progress.header().revision());
        assertTrue(quiet.events().isEmpty(), "only watches that asked");
    }

    @Test
    void canceledWatchesSendNothingMore() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")));
        watches.handle(c, new ClientRequest.WatchCancel(5, 1), c);
        assertInstanceOf(ClientResponse.Ok.class, c.lastAnswer());
        put("k", "1");
        assertTrue(c.events().isEmpty());
        watches.handle(c, new ClientRequest.WatchCancel(6, 1), c);
        assertEquals(ErrorCode.BAD_REQUEST, assertInstanceOf(ClientResponse.Error.class, c.lastAnswer()).code());
        assertFalse(watches.listening(), "no watch left: writes record no events");
    }

    @Test
    void badWatchesAreRefusedWithAReason() {
        watches = hub(2);
        FakeChannel c = new FakeChannel();
        assertRefused(c, new WatchRequest(1, new byte[0], new byte[0], 0, false, false, false, false), ErrorCode.BAD_REQUEST, "needs a key");
        assertRefused(c, new WatchRequest(1, b("b"), b("a"), 0, false, false, false, false), ErrorCode.BAD_REQUEST, "not after the key");
        assertRefused(c, new WatchRequest(1, b("a"), b("a"), 0, false, false, false, false), ErrorCode.BAD_REQUEST, "not after the key");
        assertRefused(c, WatchRequest.key(1, b("a")).fromRevision(-1), ErrorCode.BAD_REQUEST, "negative");
        assertRefused(c, WatchRequest.key(1, b("a")).withFilters(true, true), ErrorCode.BAD_REQUEST, "never report");
        watch(c, WatchRequest.key(1, b("a")));
        assertRefused(c, WatchRequest.key(1, b("b")), ErrorCode.BAD_REQUEST, "in use");
        watch(c, WatchRequest.key(2, b("a")));
        assertRefused(c, WatchRequest.key(3, b("a")), ErrorCode.OVERLOADED, "watchesPerConnectionMax");
        assertEquals(2, watches.size());
        watches.closed(c);
        assertEquals(0, watches.size());
    }

    private void assertRefused(FakeChannel c, WatchRequest r, int code, String says) {
        ClientResponse.Error e = assertInstanceOf(ClientResponse.Error.class, watch(c, r));
        assertEquals(code, e.code(), e.message());
        assertTrue(e.message().contains(says), e.message());
    }

    @Test
    void aWatchFromAFutureRevisionWaitsForIt() {
        FakeChannel c = new FakeChannel();
        watch(c, WatchRequest.key(1, b("k")).fromRevision(4));
        put("k", "1"); // 2
        put("k", "2"); // 3
        put("k", "3"); // 4
        assertEquals(List.of("PUT k=3@4"), c.flat());
    }
}
