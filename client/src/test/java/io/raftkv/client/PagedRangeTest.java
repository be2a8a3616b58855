package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link PagedRange} against a model of a node: a multi-version map that refuses an answer of more than
 * {@link #FITS} keys with TOO_LARGE, and is written between any two ranges (a key overwritten, a key created), as a busy
 * cluster is between two pages.
 */
class PagedRangeTest {

    /** Keys that fit one answer of the model node. */
    private static final int FITS = 7;

    /** A node's store: each key's versions, oldest first, at their revisions. */
    private static final class ModelNode {
        final TreeMap<String, List<KeyValue>> versions = new TreeMap<>();
        long revision;
        int ranges;
        int refused;
        boolean writeBetweenRanges = true;

        void put(String key) {
            revision++;
            List<KeyValue> vs = versions.computeIfAbsent(key, k -> new ArrayList<>());
            long created = vs.isEmpty() ? revision : vs.get(0).createRevision();
            vs.add(new KeyValue(utf8(key), created, revision, vs.size() + 1, utf8(key + "@" + revision)));
        }

        /** The keys in [key, end) as of the revision the request names (the current one if none). */
        List<KeyValue> at(RangeRequest r, long rev) {
            List<KeyValue> kvs = new ArrayList<>();
            for (List<KeyValue> vs : versions.values()) {
                KeyValue newest = null;
                for (KeyValue v : vs) if (v.modRevision() <= rev) newest = v;
                if (newest == null) continue;
                byte[] k = newest.key();
                boolean inside = Arrays.compareUnsigned(k, r.key()) >= 0
                        && (Arrays.equals(r.rangeEnd(), RangeRequest.FROM_KEY) || Arrays.compareUnsigned(k, r.rangeEnd()) < 0);
                if (inside) kvs.add(newest);
            }
            return kvs;
        }

        ClientResponse.RangeResult range(RangeRequest r) {
            ranges++;
            long rev = r.revision() == 0 ? revision : r.revision();
            List<KeyValue> kvs = at(r, rev);
            Comparator<KeyValue> byKey = (a, b) -> Arrays.compareUnsigned(a.key(), b.key());
            if (r.sortTarget() == RangeRequest.SortTarget.MOD) kvs.sort(Comparator.comparingLong(KeyValue::modRevision));
            else if (r.sortOrder() == RangeRequest.SortOrder.DESCEND) kvs.sort(byKey.reversed());
            long count = kvs.size();
            if (r.limit() > 0 && kvs.size() > r.limit()) kvs = kvs.subList(0, (int) r.limit());
            if (kvs.size() > FITS) {
                refused++;
                throw new RaftKvException(RaftKvException.Kind.REJECTED, ErrorCode.TOO_LARGE, "over the limit");
            }
            ClientResponse.RangeResult answer = new ClientResponse.RangeResult(ranges, new ResponseHeader(rev, 1, 1), kvs, count > kvs.size(), count);
            if (writeBetweenRanges) {
                put("k" + (char) ('a' + ranges % 20)); // overwrites a key, on either side of the page
                put("k" + (char) ('a' + ranges % 20) + "new"); // and creates one
            }
            return answer;
        }
    }

    private static ModelNode nodeWith(int keys) {
        ModelNode node = new ModelNode();
        for (int i = 0; i < keys; i++) node.put("k" + (char) ('a' + i));
        return node;
    }

    @Test
    void aRangeThatFitsIsAskedOnce() {
        ModelNode node = nodeWith(5);
        ClientResponse.RangeResult r = PagedRange.read(node::range, RangeRequest.prefix(utf8("k")));
        assertEquals(5, r.kvs().size());
        assertEquals(1, node.ranges);
    }

    @Test
    void pagesTogetherAreTheRangeAtTheFirstPagesRevisionWhileWritesGoOn() {
        ModelNode node = nodeWith(20);
        RangeRequest all = RangeRequest.prefix(utf8("k"));
        ClientResponse.RangeResult r = PagedRange.read(node::range, all);
        long at = r.header().revision();
        node.writeBetweenRanges = false;
        List<KeyValue> expected = node.at(all, at);
        assertEquals(keys(expected), keys(r.kvs()), "every key as of revision " + at + ", in key order, each once");
        for (int i = 0; i < expected.size(); i++) assertEquals(expected.get(i).modRevision(), r.kvs().get(i).modRevision());
        assertEquals(expected.size(), r.count());
        assertFalse(r.more());
        assertTrue(node.ranges > 3, "paged: " + node.ranges + " ranges");
        assertTrue(node.revision > at, "the model was written during the pages");
    }

    @Test
    void descendingPagesGoDownFromTheEnd() {
        ModelNode node = nodeWith(20);
        RangeRequest all = RangeRequest.fromKey(utf8("k")).sortedBy(RangeRequest.SortTarget.KEY, RangeRequest.SortOrder.DESCEND);
        ClientResponse.RangeResult r = PagedRange.read(node::range, all);
        node.writeBetweenRanges = false;
        List<KeyValue> expected = node.at(all, r.header().revision());
        List<String> names = new ArrayList<>(keys(expected));
        java.util.Collections.reverse(names);
        assertEquals(names, keys(r.kvs()));
    }

    @Test
    void aLimitStopsThePagesAndSaysMore() {
        ModelNode node = nodeWith(20);
        ClientResponse.RangeResult r = PagedRange.read(node::range, RangeRequest.prefix(utf8("k")).withLimit(10));
        assertEquals(10, r.kvs().size());
        assertTrue(r.more());
        assertEquals(20, r.count(), "the count of the whole range at the first page's revision");
        assertEquals(keys(r.kvs()).stream().sorted().toList(), keys(r.kvs()));
    }

    @Test
    void aRevisionAskedIsTheRevisionRead() {
        ModelNode node = nodeWith(20);
        long before = node.revision;
        for (int i = 0; i < 5; i++) node.put("k" + (char) ('a' + i));
        ClientResponse.RangeResult r = PagedRange.read(node::range, RangeRequest.prefix(utf8("k")).atRevision(before));
        node.writeBetweenRanges = false;
        assertEquals(before, r.header().revision());
        for (KeyValue kv : r.kvs()) assertTrue(kv.modRevision() <= before);
        assertEquals(20, r.kvs().size());
    }

    @Test
    void sortedByAnotherTargetTheRefusalStands() {
        ModelNode node = nodeWith(20);
        RaftKvException e = assertThrows(RaftKvException.class, () -> PagedRange.read(node::range,
                RangeRequest.prefix(utf8("k")).sortedBy(RangeRequest.SortTarget.MOD, RangeRequest.SortOrder.ASCEND)));
        assertEquals(ErrorCode.TOO_LARGE, e.errorCode());
        assertEquals(1, node.ranges);
    }

    private static List<String> keys(List<KeyValue> kvs) {
        return kvs.stream().map(kv -> new String(kv.key(), StandardCharsets.UTF_8)).toList();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
