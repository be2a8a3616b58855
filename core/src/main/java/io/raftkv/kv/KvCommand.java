package io.raftkv.kv;

import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.FrameException;
import io.raftkv.protocol.Frames;
import io.raftkv.protocol.KvCodec;
import io.raftkv.protocol.TxnRequest;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * A write as it travels in a Raft log entry, big-endian:
 * <pre>
 * PUT      [u8 1][u32 keyLength][key][u32 valueLength][value]
 * DELETE   [u8 2][u32 keyLength][key]
 * TXN      [u8 3][transaction, as in a TXN frame after its request id (docs/protocol.md)]
 * COMPACT  [u8 4][i64 revision]
 * </pre>
 * PUT and DELETE keep the layout of the first version, so logs written before transactions existed replay.
 */
public sealed interface KvCommand {

    record Put(byte[] key, byte[] value) implements KvCommand { }

    record Delete(byte[] key) implements KvCommand { }

    record Txn(TxnRequest request) implements KvCommand { }

    record Compact(long revision) implements KvCommand { }

    /** Bytes a PUT command adds to its key and value. */
    int PUT_OVERHEAD_BYTES = 1 + 4 + 4;

    byte PUT = 1;
    byte DELETE = 2;
    byte TXN = 3;
    byte COMPACT = 4;

    static KvCommand put(byte[] key, byte[] value) {
        return new Put(key, value);
    }

    static KvCommand delete(byte[] key) {
        return new Delete(key);
    }

    default byte[] encode() {
        if (this instanceof Put p) {
            return ByteBuffer.allocate(PUT_OVERHEAD_BYTES + p.key().length + p.value().length)
                    .put(PUT).putInt(p.key().length).put(p.key()).putInt(p.value().length).put(p.value()).array();
        }
        if (this instanceof Delete d) return ByteBuffer.allocate(1 + 4 + d.key().length).put(DELETE).putInt(d.key().length).put(d.key()).array();
        if (this instanceof Compact c) return ByteBuffer.allocate(1 + 8).put(COMPACT).putLong(c.revision()).array();
        if (this instanceof Txn t) {
            BodyWriter w = new BodyWriter(256).u8(TXN);
            KvCodec.writeTxn(w, t.request());
            return w.toBytes();
        }
        throw new IllegalStateException("a command of no known kind: " + this);
    }

    /** Decodes a committed entry; a malformed one means the log is damaged, and the node must stop. */
    static KvCommand decode(byte[] data) {
        try {
            ByteBuffer b = ByteBuffer.wrap(data);
            byte op = b.get();
            KvCommand c = switch (op) {
                case PUT -> new Put(Frames.bytes(b), Frames.bytes(b));
                case DELETE -> new Delete(Frames.bytes(b));
                case TXN -> new Txn(KvCodec.readTxn(b));
                case COMPACT -> new Compact(b.getLong());
                default -> throw new IllegalStateException("unknown command op " + op);
            };
            if (b.hasRemaining()) throw new IllegalStateException("command has " + b.remaining() + " trailing bytes");
            return c;
        } catch (BufferUnderflowException | FrameException | IllegalArgumentException e) {
            throw new IllegalStateException("malformed command of " + data.length + " bytes: " + e.getMessage(), e);
        }
    }
}
