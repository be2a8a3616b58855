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
 * LEASE_GRANT   [u8 5][i64 leaseId][i64 ttlSeconds]
 * LEASE_REVOKE  [u8 6][i64 leaseId]
 * </pre>
 * PUT and DELETE keep the layout of the first version, so logs written before transactions existed replay. A grant's id
 * and TTL are final in the log (the leader picked the id and raised the TTL to the minimum before proposing), so that
 * applying it depends on nothing but the state.
 */
public sealed interface KvCommand {

    record Put(byte[] key, byte[] value) implements KvCommand { }

    record Delete(byte[] key) implements KvCommand { }

    record Txn(TxnRequest request) implements KvCommand { }

    record Compact(long revision) implements KvCommand { }

    /** Grants lease {@code leaseId} (positive) of {@code ttlSeconds}: refused if the id is in use. */
    record LeaseGrant(long leaseId, long ttlSeconds) implements KvCommand { }

    /** Ends lease {@code leaseId}, deleting its keys in one revision: refused if there is no such lease. */
    record LeaseRevoke(long leaseId) implements KvCommand { }

    /** Bytes a PUT command adds to its key and value. */
    int PUT_OVERHEAD_BYTES = 1 + 4 + 4;

    byte PUT = 1;
    byte DELETE = 2;
    byte TXN = 3;
    byte COMPACT = 4;
    byte LEASE_GRANT = 5;
    byte LEASE_REVOKE = 6;

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
        if (this instanceof LeaseGrant g) return ByteBuffer.allocate(1 + 16).put(LEASE_GRANT).putLong(g.leaseId()).putLong(g.ttlSeconds()).array();
        if (this instanceof LeaseRevoke r) return ByteBuffer.allocate(1 + 8).put(LEASE_REVOKE).putLong(r.leaseId()).array();
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
                case LEASE_GRANT -> new LeaseGrant(b.getLong(), b.getLong());
                case LEASE_REVOKE -> new LeaseRevoke(b.getLong());
                default -> throw new IllegalStateException("unknown command op " + op);
            };
            if (b.hasRemaining()) throw new IllegalStateException("command has " + b.remaining() + " trailing bytes");
            return c;
        } catch (BufferUnderflowException | FrameException | IllegalArgumentException e) {
            throw new IllegalStateException("malformed command of " + data.length + " bytes: " + e.getMessage(), e);
        }
    }
}
