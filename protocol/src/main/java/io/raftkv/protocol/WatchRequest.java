package io.raftkv.protocol;

/**
 * A watch to open (etcd's WatchCreateRequest): the keys of {@code [key, rangeEnd)} by the range conventions of
 * {@link RangeRequest} (no end: one key; {@code "\0"}: every key from {@code key} on), from {@code startRevision}
 * (0: the next revision). The client chooses {@code watchId}, unique on its connection: the events carry it.
 * {@code prevKv}: each event carries the key as it was before; {@code noPut} / {@code noDelete} leave those events
 * out; {@code progressNotify}: the node reports its revision to a watch that had nothing to report for a while.
 */
public record WatchRequest(long watchId, byte[] key, byte[] rangeEnd, long startRevision, boolean prevKv, boolean noPut,
                           boolean noDelete, boolean progressNotify) {

    /** Every key with this prefix (every key for an empty prefix), from the next revision. */
    public static WatchRequest prefix(long watchId, byte[] prefix) {
        RangeRequest r = RangeRequest.prefix(prefix);
        return new WatchRequest(watchId, r.key(), r.rangeEnd(), 0, false, false, false, false);
    }

    /** One key, from the next revision. */
    public static WatchRequest key(long watchId, byte[] key) {
        return new WatchRequest(watchId, key, new byte[0], 0, false, false, false, false);
    }

    public WatchRequest withPrevKv(boolean on) {
        return new WatchRequest(watchId, key, rangeEnd, startRevision, on, noPut, noDelete, progressNotify);
    }

    public WatchRequest withProgressNotify(boolean on) {
        return new WatchRequest(watchId, key, rangeEnd, startRevision, prevKv, noPut, noDelete, on);
    }

    public WatchRequest withFilters(boolean noPuts, boolean noDeletes) {
        return new WatchRequest(watchId, key, rangeEnd, startRevision, prevKv, noPuts, noDeletes, progressNotify);
    }

    public WatchRequest fromRevision(long revision) {
        return new WatchRequest(watchId, key, rangeEnd, revision, prevKv, noPut, noDelete, progressNotify);
    }

    public WatchRequest withId(long id) {
        return new WatchRequest(id, key, rangeEnd, startRevision, prevKv, noPut, noDelete, progressNotify);
    }

    @Override
    public String toString() {
        return "WatchRequest[" + watchId + " " + Frames.printable(key) + (rangeEnd.length > 0 ? ".." + Frames.printable(rangeEnd) : "")
                + " from " + startRevision + (prevKv ? " prevKv" : "") + (noPut ? " noPut" : "") + (noDelete ? " noDelete" : "")
                + (progressNotify ? " progressNotify" : "") + "]";
    }
}
