package io.raftkv.protocol;

import java.util.List;

/** The result of one operation inside a transaction, in the order of its branch. */
public sealed interface OpResult {

    /** {@code count}: keys in the range at that revision; {@code more}: some were left out by the limit. */
    record Range(List<KeyValue> kvs, boolean more, long count) implements OpResult { }

    /** {@code prevKv}: the key before the put when asked for and present, else null. */
    record Put(KeyValue prevKv) implements OpResult { }

    /** {@code prevKvs}: the deleted keys when asked for, else empty. */
    record DeleteRange(long deleted, List<KeyValue> prevKvs) implements OpResult { }
}
