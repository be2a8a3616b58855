package io.raftkv.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.protocol.Frames.bad;
import static io.raftkv.protocol.Frames.bool;
import static io.raftkv.protocol.Frames.bytes;
import static io.raftkv.protocol.Frames.count;

/**
 * The key/value structures inside frames (and inside the log entries that carry transactions): ranges,
 * compares, transaction operations and their results, key-values and headers. Layouts are in docs/protocol.md;
 * {@code bytes} is {@code [u32 length][bytes]}, all integers big-endian. Readers throw {@link FrameException}
 * (through {@link Frames}) on anything malformed: an unknown code, a flag outside its set, a count that cannot fit.
 */
public final class KvCodec {

    private static final int FLAG_SERIALIZABLE = 1;
    private static final int FLAG_KEYS_ONLY = 2;
    private static final int FLAG_COUNT_ONLY = 4;

    private static final int OP_RANGE = 1;
    private static final int OP_PUT = 2;
    private static final int OP_DELETE_RANGE = 3;
    /**
     * A put attached to a lease: {@link #OP_PUT}'s fields and the lease. A put with lease 0 keeps {@link #OP_PUT}'s
     * layout, so that transactions in logs written before leases existed still decode.
     */
    private static final int OP_PUT_LEASE = 4;

    /** The smallest encodings, to check that a count of them can fit what is left of a body. */
    private static final int KEY_VALUE_BYTES_MIN = 4 + 8 * 3 + 4 + 8;

    /** Bytes a key-value takes in an answer. */
    public static long keyValueBytes(KeyValue kv) {
        return KEY_VALUE_BYTES_MIN + (long) kv.key().length + kv.value().length;
    }
    private static final int COMPARE_BYTES_MIN = 2 + 4 + 4 + 8 + 4;
    private static final int OP_BYTES_MIN = 1 + 4 + 4 + 1;
    private static final int OP_RESULT_BYTES_MIN = 1 + 1;

    private KvCodec() {
    }

    // ------------------------------------------------------------------ header and key-values

    public static void writeHeader(BodyWriter w, ResponseHeader h) {
        w.i64(h.revision()).u32(h.memberId()).i64(h.raftTerm());
    }

    public static ResponseHeader readHeader(ByteBuffer b) {
        return new ResponseHeader(b.getLong(), b.getInt(), b.getLong());
    }

    public static void writeKeyValue(BodyWriter w, KeyValue kv) {
        w.bytes(kv.key()).i64(kv.createRevision()).i64(kv.modRevision()).i64(kv.version()).bytes(kv.value()).i64(kv.lease());
    }

    public static KeyValue readKeyValue(ByteBuffer b) {
        return new KeyValue(bytes(b), b.getLong(), b.getLong(), b.getLong(), bytes(b), b.getLong());
    }

    public static void writeKeyValues(BodyWriter w, List<KeyValue> kvs) {
        w.u32(kvs.size());
        for (KeyValue kv : kvs) writeKeyValue(w, kv);
    }

    public static List<KeyValue> readKeyValues(ByteBuffer b) {
        int n = count(b, KEY_VALUE_BYTES_MIN);
        List<KeyValue> kvs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) kvs.add(readKeyValue(b));
        return kvs;
    }

    // ------------------------------------------------------------------ requests

    public static void writeRange(BodyWriter w, RangeRequest r) {
        int flags = (r.serializable() ? FLAG_SERIALIZABLE : 0) | (r.keysOnly() ? FLAG_KEYS_ONLY : 0) | (r.countOnly() ? FLAG_COUNT_ONLY : 0);
        w.bytes(r.key()).bytes(r.rangeEnd()).i64(r.limit()).i64(r.revision()).u8(r.sortOrder().code).u8(r.sortTarget().code).u8(flags);
    }

    public static RangeRequest readRange(ByteBuffer b) {
        byte[] key = bytes(b);
        byte[] end = bytes(b);
        long limit = b.getLong();
        long revision = b.getLong();
        RangeRequest.SortOrder order = RangeRequest.SortOrder.ofCode(b.get());
        RangeRequest.SortTarget target = RangeRequest.SortTarget.ofCode(b.get());
        int flags = b.get();
        if ((flags & ~(FLAG_SERIALIZABLE | FLAG_KEYS_ONLY | FLAG_COUNT_ONLY)) != 0) throw bad("unknown range flags " + flags);
        return new RangeRequest(key, end, limit, revision, order, target, (flags & FLAG_SERIALIZABLE) != 0,
                (flags & FLAG_KEYS_ONLY) != 0, (flags & FLAG_COUNT_ONLY) != 0);
    }

    public static void writeTxn(BodyWriter w, TxnRequest t) {
        w.u32(t.compares().size());
        for (Compare c : t.compares()) {
            w.u8(c.target().code).u8(c.result().code).bytes(c.key()).bytes(c.rangeEnd()).i64(c.number()).bytes(c.value());
        }
        writeOps(w, t.success());
        writeOps(w, t.failure());
    }

    public static TxnRequest readTxn(ByteBuffer b) {
        int n = count(b, COMPARE_BYTES_MIN);
        List<Compare> compares = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Compare.Target target = Compare.Target.ofCode(b.get());
            Compare.Result result = Compare.Result.ofCode(b.get());
            compares.add(new Compare(bytes(b), bytes(b), target, result, b.getLong(), bytes(b)));
        }
        return new TxnRequest(compares, readOps(b), readOps(b));
    }

    private static void writeOps(BodyWriter w, List<TxnOp> ops) {
        w.u32(ops.size());
        for (TxnOp op : ops) {
            if (op instanceof TxnOp.Range r) {
                w.u8(OP_RANGE);
                writeRange(w, r.request());
            } else if (op instanceof TxnOp.Put p) {
                w.u8(p.lease() == 0 ? OP_PUT : OP_PUT_LEASE).bytes(p.key()).bytes(p.value()).bool(p.prevKv());
                if (p.lease() != 0) w.i64(p.lease());
            } else if (op instanceof TxnOp.DeleteRange d) {
                w.u8(OP_DELETE_RANGE).bytes(d.key()).bytes(d.rangeEnd()).bool(d.prevKv());
            }
        }
    }

    private static List<TxnOp> readOps(ByteBuffer b) {
        int n = count(b, OP_BYTES_MIN);
        List<TxnOp> ops = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int kind = b.get();
            ops.add(switch (kind) {
                case OP_RANGE -> new TxnOp.Range(readRange(b));
                case OP_PUT -> new TxnOp.Put(bytes(b), bytes(b), bool(b));
                case OP_PUT_LEASE -> {
                    TxnOp.Put p = new TxnOp.Put(bytes(b), bytes(b), bool(b), b.getLong());
                    if (p.lease() == 0) throw bad("a put with lease 0 must be written as a plain put");
                    yield p;
                }
                case OP_DELETE_RANGE -> new TxnOp.DeleteRange(bytes(b), bytes(b), bool(b));
                default -> throw bad("unknown transaction operation " + kind);
            });
        }
        return ops;
    }

    // ------------------------------------------------------------------ results

    public static void writeOpResults(BodyWriter w, List<OpResult> results) {
        w.u32(results.size());
        for (OpResult r : results) {
            if (r instanceof OpResult.Range range) {
                w.u8(OP_RANGE);
                writeKeyValues(w, range.kvs());
                w.bool(range.more()).i64(range.count());
            } else if (r instanceof OpResult.Put put) {
                w.u8(OP_PUT).bool(put.prevKv() != null);
                if (put.prevKv() != null) writeKeyValue(w, put.prevKv());
            } else if (r instanceof OpResult.DeleteRange d) {
                w.u8(OP_DELETE_RANGE).i64(d.deleted());
                writeKeyValues(w, d.prevKvs());
            }
        }
    }

    public static List<OpResult> readOpResults(ByteBuffer b) {
        int n = count(b, OP_RESULT_BYTES_MIN);
        List<OpResult> results = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int kind = b.get();
            results.add(switch (kind) {
                case OP_RANGE -> new OpResult.Range(readKeyValues(b), bool(b), b.getLong());
                case OP_PUT -> new OpResult.Put(bool(b) ? readKeyValue(b) : null);
                case OP_DELETE_RANGE -> new OpResult.DeleteRange(b.getLong(), readKeyValues(b));
                default -> throw bad("unknown operation result " + kind);
            });
        }
        return results;
    }

    // ------------------------------------------------------------------ watch events

    private static final int WATCH_EVENT_BYTES_MIN = 1 + KEY_VALUE_BYTES_MIN + 1;

    /** Bytes an event takes in a WATCH_EVENTS frame. */
    public static long watchEventBytes(WatchEvent e) {
        return 2 + keyValueBytes(e.kv()) + (e.prevKv() != null ? keyValueBytes(e.prevKv()) : 0);
    }

    /** {@code [u8 type][key-value][bool hasPrev][key-value if hasPrev]} */
    public static void writeWatchEvent(BodyWriter w, WatchEvent e) {
        w.u8(e.type().code);
        writeKeyValue(w, e.kv());
        w.bool(e.prevKv() != null);
        if (e.prevKv() != null) writeKeyValue(w, e.prevKv());
    }

    public static List<WatchEvent> readWatchEvents(ByteBuffer b) {
        int n = count(b, WATCH_EVENT_BYTES_MIN);
        List<WatchEvent> events = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            WatchEvent.Type type = WatchEvent.Type.ofCode(b.get());
            KeyValue kv = readKeyValue(b);
            events.add(new WatchEvent(type, kv, bool(b) ? readKeyValue(b) : null));
        }
        return events;
    }
}
