package io.raftkv.sim;

import io.raftkv.kv.ChangeListener;
import io.raftkv.kv.InjectedKvBug;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.Frames;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.raft.Entry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks watches against the committed history (issue 12): every watch delivers exactly the committed events of its
 * range from its start revision up to the last revision it reports, in order, no gap, no duplicate, each revision's
 * events together.
 *
 * <p>The reference is the committed log applied to a state machine of the checker's own, whose listener always
 * listens and keeps every revision's events (with the keys as they were before): the first node to apply an index
 * hands the checker its entry, and {@link SafetyChecker} already checks that every node applies the same entry there
 * and reaches the same store. The nodes' hubs record events only while a watch is live and otherwise read them back
 * from their store's history ({@code MvccStore.changes}), after compactions and snapshot installs: the reference is
 * built the other way, so the check compares the hubs' two paths with the events a plain apply produces.
 *
 * <p>A {@link Stream} is one watch's deliveries, checked as they come: a delivery reporting revision R must hold
 * exactly the committed events of the watch's range (and filters) after the last revision checked, up to R. The
 * simulation keeps one stream per watch as the client library delivers it (across connections and nodes), and one
 * per watch as each node's hub sends it on one connection, so that a difference names the node that made it.
 */
final class WatchChecker {

    private final KvStateMachine reference;
    /**
     * The events of every committed revision, at index revision - 2, as applying the log gave them (with prev_kv). The
     * store starts at revision 1, as etcd's: the first write is revision 2.
     */
    private final List<List<WatchEvent>> history = new ArrayList<>();

    WatchChecker(long resultBytesMax, InjectedKvBug kvBug) {
        this.reference = new KvStateMachine(resultBytesMax, kvBug);
        reference.setChangeListener(new ChangeListener() {
            @Override
            public boolean listening() {
                return true;
            }

            @Override
            public void changed(long revision, List<WatchEvent> events) {
                if (revision != history.size() + 2) {
                    throw new IllegalStateException("the reference store went from revision " + (history.size() + 1) + " to " + revision);
                }
                history.add(List.copyOf(events));
            }

            @Override
            public void replaced() {
                throw new IllegalStateException("the reference store applies every entry: it is never replaced");
            }
        });
    }

    /**
     * A node applies {@code e}. The first node to reach an index gives the reference its entry: it applied every index
     * before, or restored a snapshot of a node that did, so the reference applies the log in order.
     */
    void onApply(Entry e) {
        if (e.index() <= reference.appliedIndex()) return;
        if (e.index() != reference.appliedIndex() + 1) {
            throw new IllegalStateException("entry " + e.index() + " applied first while the committed history reached only " + reference.appliedIndex());
        }
        reference.apply(e);
        reference.trimCompacted();
    }

    /** The latest committed revision. */
    long revision() {
        return history.size() + 1;
    }

    /** The highest compaction point a committed compaction reached. */
    long compactRevision() {
        return reference.store().compactRevision();
    }

    /** The committed events of {@code request}'s range and filters at revisions {@code from} to {@code to}, as it asked them. */
    List<WatchEvent> expected(WatchRequest request, long from, long to) {
        List<WatchEvent> want = new ArrayList<>();
        for (long rev = Math.max(2, from); rev <= to; rev++) {
            for (WatchEvent e : history.get((int) rev - 2)) if (matches(request, e)) want.add(request.prevKv() ? e : e.withoutPrevKv());
        }
        return want;
    }

    /** Whether {@code request} wants {@code e}: the key in its range (docs/protocol.md's conventions), its filters. */
    static boolean matches(WatchRequest request, WatchEvent e) {
        if (e.type() == WatchEvent.Type.PUT ? request.noPut() : request.noDelete()) return false;
        byte[] key = e.kv().key();
        byte[] end = request.rangeEnd();
        int fromStart = Arrays.compareUnsigned(key, request.key());
        if (end.length == 0) return fromStart == 0;
        if (fromStart < 0) return false;
        return end.length == 1 && end[0] == 0 || Arrays.compareUnsigned(key, end) < 0;
    }

    Stream stream(String name, WatchRequest request) {
        return new Stream(name, request);
    }

    /** One watch's deliveries, in order. */
    final class Stream {
        final String name;
        final WatchRequest request;
        /** The first revision the watch owes: its start, or the revision after the one its node named when it opened. 0: not known yet. */
        long start;
        /** Every committed event of the watch up to here was delivered, and checked. */
        long checkedUpTo;
        boolean ended;
        long deliveries;
        long events;
        /** Deliveries that reported a revision below one reported before (progress from a node behind): allowed, counted. */
        long wentBack;

        Stream(String name, WatchRequest request) {
            this.name = name;
            this.request = request;
            if (request.startRevision() > 0) start(request.startRevision());
        }

        void start(long revision) {
            if (start != 0) throw new IllegalStateException(name + " starts twice");
            start = revision;
            checkedUpTo = revision - 1;
        }

        boolean started() {
            return start != 0;
        }

        /** The watch delivers {@code got} and says every event of it up to {@code upTo} is delivered. */
        void delivered(long upTo, List<WatchEvent> got) {
            if (ended) SafetyChecker.fail(name + " delivered " + describe(got) + " up to " + upTo + " after it ended");
            if (!started()) SafetyChecker.fail(name + " delivered " + describe(got) + " up to " + upTo + " before its node said where it starts");
            if (upTo > revision()) SafetyChecker.fail(name + " reports revision " + upTo + ", but the committed history ends at " + revision());
            deliveries++;
            long from = checkedUpTo + 1;
            if (upTo < from) {
                if (!got.isEmpty()) {
                    SafetyChecker.fail(name + " delivered " + describe(got) + " reporting revision " + upTo + ", after delivering up to " + checkedUpTo
                            + ": a duplicate");
                }
                if (upTo < checkedUpTo) wentBack++;
                return;
            }
            List<WatchEvent> want = expected(request, from, upTo);
            if (!want.equals(got)) SafetyChecker.fail(name + " " + difference(want, got, from, upTo));
            checkedUpTo = upTo;
            events += got.size();
        }

        /** The node canceled the watch with COMPACTED and {@code compactRevision}. */
        void canceled(long compactRevision) {
            if (ended) SafetyChecker.fail(name + " was canceled after it ended");
            ended = true;
            long needed = checkedUpTo + 1;
            if (started() && compactRevision < needed) {
                SafetyChecker.fail(name + " was canceled as compacted at " + compactRevision + ", but it needed revision " + needed
                        + " next, above the compaction point: its history was there");
            }
            if (compactRevision > compactRevision()) {
                SafetyChecker.fail(name + " was canceled as compacted at " + compactRevision + ", beyond every committed compaction (" + compactRevision() + ")");
            }
        }

        /** The watch ends without a COMPACTED (its client canceled it, or the run ends): nothing more to check. */
        void closed() {
            ended = true;
        }

        private String difference(List<WatchEvent> want, List<WatchEvent> got, long from, long upTo) {
            String window = "delivering revisions " + from + ".." + upTo + " (" + request + ")";
            int i = 0;
            while (i < want.size() && i < got.size() && want.get(i).equals(got.get(i))) i++;
            WatchEvent w = i < want.size() ? want.get(i) : null;
            WatchEvent g = i < got.size() ? got.get(i) : null;
            if (g != null && g.revision() < from) {
                return window + " delivered " + describe(g) + " again: a duplicate (it had delivered every event up to " + checkedUpTo + ")";
            }
            if (g != null && g.revision() > upTo) {
                return window + " delivered " + describe(g) + ", of a revision after the one it reports: a revision's events split over two deliveries";
            }
            if (g != null && w != null && g.revision() > w.revision() || g == null) {
                return window + " never delivered the committed " + describe(w) + ": a gap";
            }
            if (w == null || w.revision() > g.revision()) {
                return window + " delivered " + describe(g) + ", which is not a committed event of its range at that revision";
            }
            List<WatchEvent> wantRev = ofRevision(want, w.revision());
            List<WatchEvent> gotRev = ofRevision(got, w.revision());
            return window + " delivered at revision " + w.revision() + " " + describe(gotRev) + ", the committed events there are " + describe(wantRev);
        }
    }

    private static List<WatchEvent> ofRevision(List<WatchEvent> events, long revision) {
        return events.stream().filter(e -> e.revision() == revision).toList();
    }

    static String describe(List<WatchEvent> events) {
        return events.stream().map(WatchChecker::describe).toList().toString();
    }

    static String describe(WatchEvent e) {
        return e.type() + " " + Frames.printable(e.kv().key()) + "@" + e.revision() + " (create " + e.kv().createRevision() + ", version "
                + e.kv().version() + ", " + value(e.kv().value()) + (e.prevKv() == null ? "" : "; prev " + e.prevKv().modRevision() + " version "
                + e.prevKv().version() + " create " + e.prevKv().createRevision() + ", " + value(e.prevKv().value())) + ")";
    }

    private static String value(byte[] v) {
        return v.length + " bytes #" + Integer.toHexString(Arrays.hashCode(v));
    }
}
