package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A range whose answer may not fit one frame ({@link RaftKvClient#rangeAll}). A node refuses a plain range over its
 * result limit (a little under 4 MiB) with TOO_LARGE, where etcd answers it whole; so it is asked once as it is, and if
 * refused, read again in pages in key order, every page after the first at the first page's revision: the pages together
 * are the range as one answer at that revision would have held it. Sorted by anything but the key, a range cannot be
 * paged without reading it all, and the refusal stands.
 */
final class PagedRange {

    /** Keys asked per page at first; halved while a page is still too large. */
    static final long PAGE_KEYS = 1024;

    private PagedRange() {
    }

    /** {@code range} asks one range of the cluster (the client's {@link RaftKvClient#range}). */
    static ClientResponse.RangeResult read(Function<RangeRequest, ClientResponse.RangeResult> range, RangeRequest request) {
        try {
            return range.apply(request);
        } catch (RaftKvException e) {
            if (e.errorCode() != ErrorCode.TOO_LARGE || !pageable(request)) throw e;
        }
        boolean descending = request.sortOrder() == RangeRequest.SortOrder.DESCEND;
        long wanted = request.limit();
        long pageKeys = PAGE_KEYS;
        List<KeyValue> kvs = new ArrayList<>();
        ClientResponse.RangeResult first = null;
        RangeRequest next = request;
        while (true) {
            long ask = wanted > 0 ? Math.min(pageKeys, wanted - kvs.size()) : pageKeys;
            ClientResponse.RangeResult page;
            try {
                page = range.apply(next.withLimit(ask));
            } catch (RaftKvException e) {
                if (e.errorCode() != ErrorCode.TOO_LARGE || pageKeys == 1) throw e;
                pageKeys /= 2;
                continue;
            }
            if (first == null) {
                first = page;
                // The rest at the first page's revision: together, one read at one revision.
                if (request.revision() == 0) next = next.atRevision(page.header().revision());
            }
            kvs.addAll(page.kvs());
            boolean full = wanted > 0 && kvs.size() >= wanted;
            if (!page.more() || full || page.kvs().isEmpty()) break;
            byte[] last = page.kvs().get(page.kvs().size() - 1).key();
            next = descending ? next.withRangeEnd(last) : next.withKey(successor(last));
        }
        // As one answer: the count of the whole range (the first page counted it), more only past the caller's limit.
        return new ClientResponse.RangeResult(first.requestId(), first.header(), kvs, first.count() > kvs.size() && wanted > 0, first.count());
    }

    /** In key order, over more than one key. */
    private static boolean pageable(RangeRequest r) {
        return !r.singleKey() && !r.countOnly() && r.sortTarget() == RangeRequest.SortTarget.KEY;
    }

    /** The smallest key after {@code key}. */
    private static byte[] successor(byte[] key) {
        return Arrays.copyOf(key, key.length + 1);
    }
}
