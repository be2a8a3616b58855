package io.raftkv.kv;

import io.raftkv.protocol.Permission;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * The keys one user may read, or write: the union of its roles' permissions as sorted, disjoint, maximal intervals
 * {@code [start, end)} ({@code end} null: no end), as etcd's rangePermCache. A request's range is permitted when one
 * interval holds all of it, which one binary search finds: intervals that touch are merged, so a range the union covers
 * lies inside a single one.
 */
final class KeyRanges {

    static final KeyRanges NONE = new KeyRanges(new byte[0][], new byte[0][]);

    private static final Comparator<byte[]> ORDER = Arrays::compareUnsigned;

    private final byte[][] starts;
    private final byte[][] ends;

    private KeyRanges(byte[][] starts, byte[][] ends) {
        this.starts = starts;
        this.ends = ends;
    }

    /** The union of {@code permissions}' keys (their types are the caller's business). */
    static KeyRanges of(List<Permission> permissions) {
        List<byte[][]> intervals = new ArrayList<>(permissions.size());
        for (Permission p : permissions) {
            byte[] end = end(p.key(), p.rangeEnd());
            if (end == null || ORDER.compare(end, p.key()) > 0) intervals.add(new byte[][] {p.key(), end});
        }
        intervals.sort((a, b) -> ORDER.compare(a[0], b[0]));
        List<byte[]> starts = new ArrayList<>();
        List<byte[]> ends = new ArrayList<>();
        for (byte[][] i : intervals) {
            int last = ends.size() - 1;
            if (last >= 0 && (ends.get(last) == null || ORDER.compare(i[0], ends.get(last)) <= 0)) {
                if (ends.get(last) != null && (i[1] == null || ORDER.compare(i[1], ends.get(last)) > 0)) ends.set(last, i[1]);
            } else {
                starts.add(i[0]);
                ends.add(i[1]);
            }
        }
        return new KeyRanges(starts.toArray(new byte[0][]), ends.toArray(new byte[0][]));
    }

    /**
     * Whether every key of {@code [key, rangeEnd)} (etcd's conventions: no end, the key alone; {@code "\0"}, every key
     * from it on) is in the union. An empty range ({@code rangeEnd} at or before {@code key}) asks for the key alone.
     */
    boolean covers(byte[] key, byte[] rangeEnd) {
        byte[] end = end(key, rangeEnd);
        if (end != null && ORDER.compare(end, key) <= 0) end = successor(key);
        int lo = 0;
        int hi = starts.length - 1;
        int found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (ORDER.compare(starts[mid], key) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (found < 0) return false;
        return ends[found] == null || (end != null && ORDER.compare(end, ends[found]) <= 0);
    }

    /** The exclusive end of a key and range end by etcd's conventions; null for no end. */
    private static byte[] end(byte[] key, byte[] rangeEnd) {
        if (rangeEnd.length == 0) return successor(key);
        if (rangeEnd.length == 1 && rangeEnd[0] == 0) return null;
        return rangeEnd;
    }

    /** The smallest key after {@code key}: {@code key + "\0"}. */
    private static byte[] successor(byte[] key) {
        return Arrays.copyOf(key, key.length + 1);
    }
}
