package io.raftkv.protocol;

/**
 * A read of the keys in {@code [key, rangeEnd)}, with etcd's conventions: an empty {@code rangeEnd} reads
 * {@code key} alone; {@code rangeEnd = prefixEnd(key)} reads every key with that prefix; {@code rangeEnd = "\0"}
 * reads every key from {@code key} on (and {@code key = "\0"} too: every key). {@code limit} 0 means no limit;
 * {@code revision} 0 means the current revision. Linearizable unless {@code serializable}.
 */
public record RangeRequest(byte[] key, byte[] rangeEnd, long limit, long revision, SortOrder sortOrder, SortTarget sortTarget,
                           boolean serializable, boolean keysOnly, boolean countOnly) {

    public enum SortOrder {
        NONE(0), ASCEND(1), DESCEND(2);

        public final int code;

        SortOrder(int code) {
            this.code = code;
        }

        public static SortOrder ofCode(int code) {
            for (SortOrder o : values()) if (o.code == code) return o;
            throw new IllegalArgumentException("unknown sort order " + code);
        }
    }

    public enum SortTarget {
        KEY(0), VERSION(1), CREATE(2), MOD(3), VALUE(4);

        public final int code;

        SortTarget(int code) {
            this.code = code;
        }

        public static SortTarget ofCode(int code) {
            for (SortTarget t : values()) if (t.code == code) return t;
            throw new IllegalArgumentException("unknown sort target " + code);
        }
    }

    private static final byte[] NONE = new byte[0];
    /** The range end that means "every key from the start key on". */
    public static final byte[] FROM_KEY = {0};

    /** One key, linearizable, everything else at its default. */
    public static RangeRequest key(byte[] key) {
        return new RangeRequest(key, NONE, 0, 0, SortOrder.NONE, SortTarget.KEY, false, false, false);
    }

    /** Every key in {@code [key, rangeEnd)}. */
    public static RangeRequest range(byte[] key, byte[] rangeEnd) {
        return key(key).withRangeEnd(rangeEnd);
    }

    /** Every key that starts with {@code prefix} (every key for an empty prefix). */
    public static RangeRequest prefix(byte[] prefix) {
        return prefix.length == 0 ? key(FROM_KEY).withRangeEnd(FROM_KEY) : key(prefix).withRangeEnd(prefixEnd(prefix));
    }

    /** Every key from {@code key} on. */
    public static RangeRequest fromKey(byte[] key) {
        return key(key).withRangeEnd(FROM_KEY);
    }

    /**
     * The smallest key greater than every key with this prefix: the prefix with its last byte that is not 0xff
     * incremented and what follows dropped; "\0" (every key) when all bytes are 0xff, as etcd's GetPrefixRangeEnd.
     */
    public static byte[] prefixEnd(byte[] prefix) {
        for (int i = prefix.length - 1; i >= 0; i--) {
            if (prefix[i] != (byte) 0xff) {
                byte[] end = java.util.Arrays.copyOf(prefix, i + 1);
                end[i]++;
                return end;
            }
        }
        return FROM_KEY.clone();
    }

    public RangeRequest withKey(byte[] start) {
        return new RangeRequest(start, rangeEnd, limit, revision, sortOrder, sortTarget, serializable, keysOnly, countOnly);
    }

    public RangeRequest withRangeEnd(byte[] end) {
        return new RangeRequest(key, end, limit, revision, sortOrder, sortTarget, serializable, keysOnly, countOnly);
    }

    public RangeRequest withLimit(long n) {
        return new RangeRequest(key, rangeEnd, n, revision, sortOrder, sortTarget, serializable, keysOnly, countOnly);
    }

    public RangeRequest atRevision(long rev) {
        return new RangeRequest(key, rangeEnd, limit, rev, sortOrder, sortTarget, serializable, keysOnly, countOnly);
    }

    public RangeRequest sortedBy(SortTarget target, SortOrder order) {
        return new RangeRequest(key, rangeEnd, limit, revision, order, target, serializable, keysOnly, countOnly);
    }

    public RangeRequest serializable(boolean on) {
        return new RangeRequest(key, rangeEnd, limit, revision, sortOrder, sortTarget, on, keysOnly, countOnly);
    }

    public RangeRequest keysOnly(boolean on) {
        return new RangeRequest(key, rangeEnd, limit, revision, sortOrder, sortTarget, serializable, on, countOnly);
    }

    public RangeRequest countOnly(boolean on) {
        return new RangeRequest(key, rangeEnd, limit, revision, sortOrder, sortTarget, serializable, keysOnly, on);
    }

    /** True when the request names one key (no range end). */
    public boolean singleKey() {
        return rangeEnd.length == 0;
    }
}
