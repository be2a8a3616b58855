package io.raftkv.kv;

import io.raftkv.protocol.AuthCodec;
import io.raftkv.protocol.AuthRequest;
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
 * AS_USER  [u8 7][str user][a command of another kind]
 * AUTH     [u8 8][auth request, as in an AUTH frame after its request id (docs/protocol.md)], then for a user add or a
 *          password change [bytes salt][u32 iterations][bytes hash]; their password field is empty
 * </pre>
 * PUT and DELETE keep the layout of the first version, so logs written before transactions existed replay. A grant's id
 * and TTL are final in the log (the leader picked the id and raised the TTL to the minimum before proposing), so that
 * applying it depends on nothing but the state. AS_USER says which authenticated user asked for the command inside it, so
 * that applying it checks that user's permissions as they are at its place in the log (docs/auth.md); a password is
 * hashed before it is proposed, so the log never holds one.
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

    /** {@code command} (not an AS_USER) as {@code user} asked it: applied only if the user may, when auth is enabled. */
    record AsUser(String user, KvCommand command) implements KvCommand {
        public AsUser {
            if (command instanceof AsUser) throw new IllegalArgumentException("a command asked as " + user + " inside another");
        }
    }

    /**
     * A change of the auth store: {@code request} changes it (never AUTHENTICATE or a read), {@code password} is the hash
     * a user add or a password change sets (their request's password is empty), null for the others.
     */
    record Auth(AuthRequest request, PasswordHash password) implements KvCommand {
        public Auth {
            boolean setsPassword = request instanceof AuthRequest.UserAdd || request instanceof AuthRequest.UserChangePassword;
            if (setsPassword != (password != null)) throw new IllegalArgumentException(request + " with password hash " + password);
            if (request.reads() || request instanceof AuthRequest.Authenticate) throw new IllegalArgumentException(request + " changes nothing");
            String cleartext = request instanceof AuthRequest.UserAdd a ? a.password()
                    : request instanceof AuthRequest.UserChangePassword c ? c.password() : "";
            if (!cleartext.isEmpty()) throw new IllegalArgumentException(request + " carries a password: the log holds only its hash");
        }
    }

    /** Bytes a PUT command adds to its key and value. */
    int PUT_OVERHEAD_BYTES = 1 + 4 + 4;

    byte PUT = 1;
    byte DELETE = 2;
    byte TXN = 3;
    byte COMPACT = 4;
    byte LEASE_GRANT = 5;
    byte LEASE_REVOKE = 6;
    byte AS_USER = 7;
    byte AUTH = 8;

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
        if (this instanceof AsUser u) {
            byte[] inner = u.command().encode();
            return new BodyWriter(3 + 3 * u.user().length() + inner.length).u8(AS_USER).str(u.user()).raw(inner).toBytes();
        }
        if (this instanceof Auth a) {
            BodyWriter w = new BodyWriter(128).u8(AUTH);
            AuthCodec.write(w, a.request());
            if (a.password() != null) w.bytes(a.password().salt()).u32(a.password().iterations()).bytes(a.password().hash());
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
                case AS_USER -> {
                    String user = Frames.string(b);
                    byte[] inner = new byte[b.remaining()];
                    b.get(inner);
                    yield new AsUser(user, decode(inner));
                }
                case AUTH -> {
                    AuthRequest request = AuthCodec.read(b);
                    boolean setsPassword = request instanceof AuthRequest.UserAdd || request instanceof AuthRequest.UserChangePassword;
                    yield new Auth(request, setsPassword ? readHash(b) : null);
                }
                default -> throw new IllegalStateException("unknown command op " + op);
            };
            if (b.hasRemaining()) throw new IllegalStateException("command has " + b.remaining() + " trailing bytes");
            return c;
        } catch (BufferUnderflowException | FrameException | IllegalArgumentException e) {
            throw new IllegalStateException("malformed command of " + data.length + " bytes: " + e.getMessage(), e);
        }
    }

    private static PasswordHash readHash(ByteBuffer b) {
        return new PasswordHash(Frames.bytes(b), b.getInt(), Frames.bytes(b));
    }
}
