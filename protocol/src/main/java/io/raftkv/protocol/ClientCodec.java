package io.raftkv.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.protocol.Frames.bad;
import static io.raftkv.protocol.Frames.bool;
import static io.raftkv.protocol.Frames.bytes;
import static io.raftkv.protocol.Frames.decode;
import static io.raftkv.protocol.Frames.frame;
import static io.raftkv.protocol.Frames.string;
import static io.raftkv.protocol.Frames.utf8;

/**
 * Encodes and decodes the client side of the protocol: the client's hello, requests and responses. The
 * byte layout of each body is in docs/protocol.md; all integers are big-endian. Decoding a body that is
 * short, too long or inconsistent throws {@link FrameException}: the caller answers with an ERROR frame and
 * closes the connection.
 */
public final class ClientCodec {

    /** 2: key/value answers carry a header; RANGE, TXN and COMPACT. 3: a key-value carries its lease; the lease requests. */
    public static final int PROTOCOL_VERSION = 3;

    /** Bytes a PUT frame adds to its key and value: length, type, request id and the two length fields. */
    public static final int PUT_FRAME_OVERHEAD_BYTES = Frames.LENGTH_BYTES + 1 + 8 + 4 + 4;

    /** The most members a MEMBERS answer lists: a cluster never has more. */
    public static final int MEMBERS_MAX = 1024;

    /** MEMBERS before its members: request id, cluster id, answering node, leader, config index, count. */
    private static final int MEMBERS_HEADER_BYTES = 8 + 8 + 4 + 4 + 8 + 4;
    /** A member in MEMBERS, besides its address: id, learner flag, address length. */
    private static final int MEMBER_BYTES_MIN = 4 + 1 + 2;

    /** The largest MEMBERS frame: {@link #MEMBERS_MAX} members with addresses of {@link MemberInfo#ADDRESS_BYTES_MAX}. */
    public static final int MEMBERS_FRAME_BYTES_MAX = Frames.LENGTH_BYTES + 1 + MEMBERS_HEADER_BYTES
            + MEMBERS_MAX * (MEMBER_BYTES_MIN + MemberInfo.ADDRESS_BYTES_MAX);

    private ClientCodec() {
    }

    // ------------------------------------------------------------------ handshake

    public static ByteBuffer helloClient() {
        return frame(FrameType.HELLO_CLIENT, 4).putInt(PROTOCOL_VERSION).flip();
    }

    public static int decodeHelloClient(ByteBuffer body) {
        return decode(body, ByteBuffer::getInt);
    }

    // ------------------------------------------------------------------ client requests

    /** A piece of a backup: bytes [offset, offset + data.remaining()) of a snapshot file of {@code totalBytes}. */
    public record SnapshotData(long requestId, long offset, long totalBytes, ByteBuffer data) { }

    /** SNAPSHOT: asks the node for a backup of its store, answered by SNAPSHOT_DATA frames or an ERROR. */
    public static ByteBuffer snapshotRequest(long requestId) {
        return frame(FrameType.SNAPSHOT, 8).putLong(requestId).flip();
    }

    public static long decodeSnapshotRequest(ByteBuffer body) {
        return decode(body, ByteBuffer::getLong);
    }

    public static ByteBuffer snapshotData(long requestId, long offset, long totalBytes, ByteBuffer data) {
        return frame(FrameType.SNAPSHOT_DATA, 8 * 3 + 4 + data.remaining())
                .putLong(requestId).putLong(offset).putLong(totalBytes).putInt(data.remaining()).put(data).flip();
    }

    public static SnapshotData decodeSnapshotData(ByteBuffer body) {
        return decode(body, b -> {
            long requestId = b.getLong();
            long offset = b.getLong();
            long total = b.getLong();
            int n = b.getInt();
            if (offset < 0 || n < 0 || n > b.remaining() || offset + n > total) {
                throw Frames.bad("snapshot data [" + offset + ", +" + n + ") of " + total + " bytes does not add up");
            }
            return new SnapshotData(requestId, offset, total, Frames.slice(b, n));
        });
    }

    public static ByteBuffer request(ClientRequest r) {
        if (r instanceof ClientRequest.Put p) {
            return frame(FrameType.PUT, 8 + 4 + p.key().length + 4 + p.value().length)
                    .putLong(p.requestId()).putInt(p.key().length).put(p.key()).putInt(p.value().length).put(p.value()).flip();
        }
        if (r instanceof ClientRequest.Delete d) {
            return frame(FrameType.DELETE, 8 + 4 + d.key().length).putLong(d.requestId()).putInt(d.key().length).put(d.key()).flip();
        }
        if (r instanceof ClientRequest.Get g) {
            return frame(FrameType.GET, 8 + 1 + 4 + g.key().length)
                    .putLong(g.requestId()).put((byte) (g.serializable() ? 1 : 0)).putInt(g.key().length).put(g.key()).flip();
        }
        if (r instanceof ClientRequest.Range range) {
            BodyWriter w = new BodyWriter(64 + range.request().key().length + range.request().rangeEnd().length).i64(r.requestId());
            KvCodec.writeRange(w, range.request());
            return w.toFrame(FrameType.RANGE);
        }
        if (r instanceof ClientRequest.Txn txn) {
            BodyWriter w = new BodyWriter(256).i64(r.requestId());
            KvCodec.writeTxn(w, txn.request());
            return w.toFrame(FrameType.TXN);
        }
        if (r instanceof ClientRequest.Compact c) {
            return frame(FrameType.COMPACT, 16).putLong(c.requestId()).putLong(c.revision()).flip();
        }
        if (r instanceof ClientRequest.MemberList) return frame(FrameType.MEMBER_LIST, 8).putLong(r.requestId()).flip();
        if (r instanceof ClientRequest.MemberAdd a) {
            byte[] address = address(a.address());
            return frame(FrameType.MEMBER_ADD, 8 + 4 + 1 + 2 + address.length).putLong(a.requestId()).putInt(a.nodeId())
                    .put((byte) (a.learner() ? 1 : 0)).putShort((short) address.length).put(address).flip();
        }
        if (r instanceof ClientRequest.MemberRemove m) return memberRequest(FrameType.MEMBER_REMOVE, m.requestId(), m.nodeId());
        if (r instanceof ClientRequest.MemberPromote m) return memberRequest(FrameType.MEMBER_PROMOTE, m.requestId(), m.nodeId());
        if (r instanceof ClientRequest.MoveLeader m) return memberRequest(FrameType.MOVE_LEADER, m.requestId(), m.nodeId());
        if (r instanceof ClientRequest.WatchCreate c) {
            WatchRequest watch = c.watch();
            BodyWriter w = new BodyWriter(8 + 8 + 8 + 8 + 1 + watch.key().length + watch.rangeEnd().length).i64(c.requestId()).i64(watch.watchId())
                    .bytes(watch.key()).bytes(watch.rangeEnd()).i64(watch.startRevision());
            int flags = (watch.prevKv() ? WATCH_PREV_KV : 0) | (watch.noPut() ? WATCH_NO_PUT : 0) | (watch.noDelete() ? WATCH_NO_DELETE : 0)
                    | (watch.progressNotify() ? WATCH_PROGRESS_NOTIFY : 0);
            return w.u8(flags).toFrame(FrameType.WATCH_CREATE);
        }
        if (r instanceof ClientRequest.WatchCancel c) return frame(FrameType.WATCH_CANCEL, 16).putLong(c.requestId()).putLong(c.watchId()).flip();
        if (r instanceof ClientRequest.LeaseGrant g) {
            return frame(FrameType.LEASE_GRANT, 8 * 3).putLong(g.requestId()).putLong(g.leaseId()).putLong(g.ttlSeconds()).flip();
        }
        if (r instanceof ClientRequest.LeaseRevoke v) return frame(FrameType.LEASE_REVOKE, 16).putLong(v.requestId()).putLong(v.leaseId()).flip();
        if (r instanceof ClientRequest.LeaseKeepAlive k) return frame(FrameType.LEASE_KEEPALIVE, 16).putLong(k.requestId()).putLong(k.leaseId()).flip();
        if (r instanceof ClientRequest.LeaseTimeToLive t) {
            return frame(FrameType.LEASE_TIMETOLIVE, 17).putLong(t.requestId()).putLong(t.leaseId()).put((byte) (t.keys() ? 1 : 0)).flip();
        }
        if (r instanceof ClientRequest.LeaseLeases l) return frame(FrameType.LEASE_LEASES, 8).putLong(l.requestId()).flip();
        if (r instanceof ClientRequest.Auth a) return AuthCodec.request(a.requestId(), a.request());
        return frame(FrameType.STATUS, 8).putLong(((ClientRequest.Status) r).requestId()).flip();
    }

    private static final int WATCH_PREV_KV = 1;
    private static final int WATCH_NO_PUT = 2;
    private static final int WATCH_NO_DELETE = 4;
    private static final int WATCH_PROGRESS_NOTIFY = 8;
    private static final int WATCH_FLAGS = WATCH_PREV_KV | WATCH_NO_PUT | WATCH_NO_DELETE | WATCH_PROGRESS_NOTIFY;

    private static ClientRequest.WatchCreate readWatchCreate(ByteBuffer b) {
        long requestId = b.getLong();
        long watchId = b.getLong();
        byte[] key = bytes(b);
        byte[] end = bytes(b);
        long start = b.getLong();
        int flags = b.get();
        if ((flags & ~WATCH_FLAGS) != 0) throw bad("unknown watch flags " + flags);
        return new ClientRequest.WatchCreate(requestId, new WatchRequest(watchId, key, end, start, (flags & WATCH_PREV_KV) != 0,
                (flags & WATCH_NO_PUT) != 0, (flags & WATCH_NO_DELETE) != 0, (flags & WATCH_PROGRESS_NOTIFY) != 0));
    }

    /** MEMBER_REMOVE, MEMBER_PROMOTE and MOVE_LEADER: {@code [u64 requestId][u32 nodeId]}. */
    private static ByteBuffer memberRequest(byte type, long requestId, int nodeId) {
        return frame(type, 8 + 4).putLong(requestId).putInt(nodeId).flip();
    }

    /** Decodes a request frame; a type that is not a request throws {@link FrameException} with UNKNOWN_TYPE. */
    public static ClientRequest decodeRequest(byte type, ByteBuffer body) {
        return decode(body, b -> switch (type) {
            case FrameType.PUT -> new ClientRequest.Put(b.getLong(), bytes(b), bytes(b));
            case FrameType.DELETE -> new ClientRequest.Delete(b.getLong(), bytes(b));
            case FrameType.GET -> {
                long id = b.getLong();
                byte flags = b.get();
                if ((flags & ~1) != 0) throw bad("unknown GET flags " + flags);
                yield new ClientRequest.Get(id, bytes(b), flags == 1);
            }
            case FrameType.STATUS -> new ClientRequest.Status(b.getLong());
            case FrameType.RANGE -> new ClientRequest.Range(b.getLong(), KvCodec.readRange(b));
            case FrameType.TXN -> new ClientRequest.Txn(b.getLong(), KvCodec.readTxn(b));
            case FrameType.COMPACT -> new ClientRequest.Compact(b.getLong(), b.getLong());
            case FrameType.MEMBER_LIST -> new ClientRequest.MemberList(b.getLong());
            case FrameType.MEMBER_ADD -> {
                long id = b.getLong();
                int nodeId = b.getInt();
                boolean learner = learner(b);
                yield new ClientRequest.MemberAdd(id, nodeId, readAddress(b), learner);
            }
            case FrameType.MEMBER_REMOVE -> new ClientRequest.MemberRemove(b.getLong(), b.getInt());
            case FrameType.MEMBER_PROMOTE -> new ClientRequest.MemberPromote(b.getLong(), b.getInt());
            case FrameType.MOVE_LEADER -> new ClientRequest.MoveLeader(b.getLong(), b.getInt());
            case FrameType.WATCH_CREATE -> readWatchCreate(b);
            case FrameType.WATCH_CANCEL -> new ClientRequest.WatchCancel(b.getLong(), b.getLong());
            case FrameType.LEASE_GRANT -> new ClientRequest.LeaseGrant(b.getLong(), b.getLong(), b.getLong());
            case FrameType.LEASE_REVOKE -> new ClientRequest.LeaseRevoke(b.getLong(), b.getLong());
            case FrameType.LEASE_KEEPALIVE -> new ClientRequest.LeaseKeepAlive(b.getLong(), b.getLong());
            case FrameType.LEASE_TIMETOLIVE -> new ClientRequest.LeaseTimeToLive(b.getLong(), b.getLong(), bool(b));
            case FrameType.LEASE_LEASES -> new ClientRequest.LeaseLeases(b.getLong());
            case FrameType.AUTH -> AuthCodec.readRequest(b);
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown request type " + FrameType.name(type));
        });
    }

    // ------------------------------------------------------------------ client responses

    public static ByteBuffer response(ClientResponse r) {
        BodyWriter w = new BodyWriter(bodyBytesHint(r));
        int type = writeResponse(w, r);
        return type >= 0 ? w.toFrame((byte) type) : otherResponse(r);
    }

    /**
     * The answer's frame encoded into {@code scratch}, emptied first: a view of the writer's array, valid until its next
     * use, for a sender that copies it out ({@code Connection.sendCopy}). The answers clients get most (ok, value, range,
     * txn, watch events) so cost no array of their own; the rest are allocated as by {@link #response(ClientResponse)}.
     */
    public static ByteBuffer response(BodyWriter scratch, ClientResponse r) {
        scratch.reset();
        int type = writeResponse(scratch, r);
        return type >= 0 ? scratch.frameView((byte) type) : otherResponse(r);
    }

    /** Bytes the body of {@code r} takes, where {@link #writeResponse} writes it; so that its array is sent as it is. */
    private static int bodyBytesHint(ClientResponse r) {
        long bytes = 8 + 20;
        if (r instanceof ClientResponse.Value v) bytes += 64 + v.kv().key().length + v.kv().value().length;
        else if (r instanceof ClientResponse.RangeResult range) {
            bytes += 4 + 1 + 8;
            for (KeyValue kv : range.kvs()) bytes += KvCodec.keyValueBytes(kv);
        } else if (r instanceof ClientResponse.TxnResult) bytes += 256;
        else if (r instanceof ClientResponse.LeaseResult l) {
            bytes += 8 * 3 + 4;
            for (byte[] k : l.keys()) bytes += 4 + k.length;
        } else if (r instanceof ClientResponse.Leases l) bytes += 4 + 8L * l.leaseIds().size();
        else if (r instanceof ClientResponse.WatchEvents we) {
            bytes += 1 + 4;
            for (WatchEvent e : we.events()) bytes += KvCodec.watchEventBytes(e);
        }
        return (int) Math.min(Integer.MAX_VALUE - 64, bytes);
    }

    /** Writes the body of {@code r} and returns its frame type, or -1 for the answers encoded by {@link #otherResponse}. */
    private static int writeResponse(BodyWriter w, ClientResponse r) {
        if (r instanceof ClientResponse.Ok ok) {
            withHeader(w, ok.requestId(), ok.header());
            return FrameType.OK;
        }
        if (r instanceof ClientResponse.NotFound nf) {
            withHeader(w, nf.requestId(), nf.header());
            return FrameType.NOT_FOUND;
        }
        if (r instanceof ClientResponse.Value v) {
            KvCodec.writeKeyValue(withHeader(w, v.requestId(), v.header()), v.kv());
            return FrameType.VALUE;
        }
        if (r instanceof ClientResponse.RangeResult range) {
            KvCodec.writeKeyValues(withHeader(w, range.requestId(), range.header()), range.kvs());
            w.bool(range.more()).i64(range.count());
            return FrameType.RANGE_RESULT;
        }
        if (r instanceof ClientResponse.TxnResult txn) {
            KvCodec.writeOpResults(withHeader(w, txn.requestId(), txn.header()).bool(txn.succeeded()), txn.results());
            return FrameType.TXN_RESULT;
        }
        if (r instanceof ClientResponse.LeaseResult l) {
            withHeader(w, l.requestId(), l.header()).i64(l.leaseId()).i64(l.ttlSeconds()).i64(l.grantedTtlSeconds()).u32(l.keys().size());
            for (byte[] k : l.keys()) w.bytes(k);
            return FrameType.LEASE_RESULT;
        }
        if (r instanceof ClientResponse.Leases l) {
            withHeader(w, l.requestId(), l.header()).u32(l.leaseIds().size());
            for (long id : l.leaseIds()) w.i64(id);
            return FrameType.LEASES;
        }
        if (r instanceof ClientResponse.WatchEvents we) {
            // A watch's id where other answers have a request's.
            withHeader(w, we.watchId(), we.header()).bool(we.fragment()).u32(we.events().size());
            for (WatchEvent e : we.events()) KvCodec.writeWatchEvent(w, e);
            return FrameType.WATCH_EVENTS;
        }
        return -1;
    }

    /** The answers that are small and rare: each in an array of its own. */
    private static ByteBuffer otherResponse(ClientResponse r) {
        if (r instanceof ClientResponse.NotLeader n) {
            byte[] host = utf8(n.host());
            return frame(FrameType.NOT_LEADER, 8 + 4 + 2 + host.length + 2)
                    .putLong(n.requestId()).putInt(n.leaderId()).putShort((short) host.length).put(host).putShort((short) n.port()).flip();
        }
        if (r instanceof ClientResponse.Error e) {
            byte[] message = utf8(e.message());
            return frame(FrameType.ERROR, 8 + 2 + 2 + message.length)
                    .putLong(e.requestId()).putShort((short) e.code()).putShort((short) message.length).put(message).flip();
        }
        if (r instanceof ClientResponse.Members m) return members(m);
        if (r instanceof ClientResponse.WatchCanceled c) {
            byte[] reason = utf8(c.reason());
            return frame(FrameType.WATCH_CANCELED, 8 + 8 + 2 + 2 + reason.length).putLong(c.watchId()).putLong(c.compactRevision())
                    .putShort((short) c.code()).putShort((short) reason.length).put(reason).flip();
        }
        if (r instanceof ClientResponse.AuthStatus a) return AuthCodec.status(a);
        if (r instanceof ClientResponse.Names n) return AuthCodec.names(n);
        if (r instanceof ClientResponse.Permissions p) return AuthCodec.permissions(p);
        ClientResponse.StatusResult s = (ClientResponse.StatusResult) r;
        byte[] role = utf8(s.role());
        return frame(FrameType.STATUS_RESULT, 8 + 4 + 2 + role.length + 8 + 4 + 8 * 4)
                .putLong(s.requestId()).putInt(s.nodeId()).putShort((short) role.length).put(role).putLong(s.term())
                .putInt(s.leaderId()).putLong(s.commit()).putLong(s.applied()).putLong(s.keys()).putLong(s.keyHash()).flip();
    }

    public static ClientResponse decodeResponse(byte type, ByteBuffer body) {
        return decode(body, b -> switch (type) {
            case FrameType.OK -> new ClientResponse.Ok(b.getLong(), KvCodec.readHeader(b));
            case FrameType.NOT_FOUND -> new ClientResponse.NotFound(b.getLong(), KvCodec.readHeader(b));
            case FrameType.VALUE -> new ClientResponse.Value(b.getLong(), KvCodec.readHeader(b), KvCodec.readKeyValue(b));
            case FrameType.RANGE_RESULT -> new ClientResponse.RangeResult(b.getLong(), KvCodec.readHeader(b), KvCodec.readKeyValues(b),
                    bool(b), b.getLong());
            case FrameType.TXN_RESULT -> new ClientResponse.TxnResult(b.getLong(), KvCodec.readHeader(b), bool(b), KvCodec.readOpResults(b));
            case FrameType.NOT_LEADER -> new ClientResponse.NotLeader(b.getLong(), b.getInt(), string(b), Short.toUnsignedInt(b.getShort()));
            case FrameType.ERROR -> new ClientResponse.Error(b.getLong(), Short.toUnsignedInt(b.getShort()), string(b));
            case FrameType.STATUS_RESULT -> new ClientResponse.StatusResult(b.getLong(), b.getInt(), string(b), b.getLong(),
                    b.getInt(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
            case FrameType.MEMBERS -> readMembers(b);
            case FrameType.WATCH_EVENTS -> new ClientResponse.WatchEvents(b.getLong(), KvCodec.readHeader(b), bool(b), KvCodec.readWatchEvents(b));
            case FrameType.WATCH_CANCELED -> new ClientResponse.WatchCanceled(b.getLong(), b.getLong(), Short.toUnsignedInt(b.getShort()), string(b));
            case FrameType.LEASE_RESULT -> readLeaseResult(b);
            case FrameType.LEASES -> readLeases(b);
            case FrameType.AUTH_STATUS -> AuthCodec.readStatus(b);
            case FrameType.NAMES -> AuthCodec.readNames(b);
            case FrameType.PERMISSIONS -> AuthCodec.readPermissions(b);
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown response type " + FrameType.name(type));
        });
    }

    // ------------------------------------------------------------------ leases

    /** LEASE_RESULT: {@code [u64 requestId][header][u64 leaseId][i64 ttl][i64 grantedTtl][u32 n]} then n {@code bytes} keys. */
    private static ClientResponse.LeaseResult readLeaseResult(ByteBuffer b) {
        long requestId = b.getLong();
        ResponseHeader header = KvCodec.readHeader(b);
        long id = b.getLong();
        long ttl = b.getLong();
        long granted = b.getLong();
        int n = Frames.count(b, 4);
        List<byte[]> keys = new ArrayList<>(n);
        for (int i = 0; i < n; i++) keys.add(bytes(b));
        return new ClientResponse.LeaseResult(requestId, header, id, ttl, granted, keys);
    }

    /** LEASES: {@code [u64 requestId][header][u32 n]} then n {@code u64} lease ids. */
    private static ClientResponse.Leases readLeases(ByteBuffer b) {
        long requestId = b.getLong();
        ResponseHeader header = KvCodec.readHeader(b);
        int n = Frames.count(b, 8);
        List<Long> ids = new ArrayList<>(n);
        for (int i = 0; i < n; i++) ids.add(b.getLong());
        return new ClientResponse.Leases(requestId, header, ids);
    }

    /** Bytes of a LEASES frame listing {@code leases} ids: what a node's leasesMax must fit in a frame and a client's queue. */
    public static long leasesFrameBytes(long leases) {
        return Frames.LENGTH_BYTES + 1 + 8 + 20 + 4 + 8 * leases;
    }

    /** Bytes of a PERMISSIONS frame listing {@code permissions}: a node refuses a ROLE_GET whose answer would not fit. */
    public static long permissionsFrameBytes(List<Permission> permissions) {
        return Frames.LENGTH_BYTES + 1 + 8 + 20 + 4 + AuthCodec.permissionsBytes(permissions);
    }

    /** Bytes of a NAMES frame listing {@code names}. */
    public static long namesFrameBytes(List<String> names) {
        long n = Frames.LENGTH_BYTES + 1 + 8 + 20 + 4;
        for (String name : names) n += 2 + utf8(name).length;
        return n;
    }

    // ------------------------------------------------------------------ membership

    /**
     * MEMBERS: {@code [u64 requestId][u64 clusterId][u32 nodeId][u32 leaderId][u64 configIndex][u32 count]} then per
     * member {@code [u32 id][u8 learner][u16 n][n bytes of address]}. The members must ascend by id, be at most
     * {@link #MEMBERS_MAX} and have addresses {@link MemberInfo#addressProblem} accepts: anything else is a bug of
     * the caller, refused with IllegalArgumentException.
     */
    private static ByteBuffer members(ClientResponse.Members m) {
        List<MemberInfo> members = m.members();
        if (members.size() > MEMBERS_MAX) throw new IllegalArgumentException(members.size() + " members are over the limit of " + MEMBERS_MAX);
        List<byte[]> addresses = new ArrayList<>(members.size());
        int bytes = MEMBERS_HEADER_BYTES;
        for (int i = 0; i < members.size(); i++) {
            if (i > 0 && members.get(i).id() <= members.get(i - 1).id()) {
                throw new IllegalArgumentException("members must ascend by id: " + members.get(i).id() + " after " + members.get(i - 1).id());
            }
            byte[] address = address(members.get(i).address());
            addresses.add(address);
            bytes += MEMBER_BYTES_MIN + address.length;
        }
        ByteBuffer f = frame(FrameType.MEMBERS, bytes).putLong(m.requestId()).putLong(m.clusterId()).putInt(m.nodeId())
                .putInt(m.leaderId()).putLong(m.configIndex()).putInt(members.size());
        for (int i = 0; i < members.size(); i++) {
            MemberInfo member = members.get(i);
            f.putInt(member.id()).put((byte) (member.learner() ? 1 : 0)).putShort((short) addresses.get(i).length).put(addresses.get(i));
        }
        return f.flip();
    }

    private static ClientResponse.Members readMembers(ByteBuffer b) {
        long requestId = b.getLong();
        long clusterId = b.getLong();
        int nodeId = b.getInt();
        int leaderId = b.getInt();
        long configIndex = b.getLong();
        int count = b.getInt();
        if (count < 0 || count > MEMBERS_MAX) {
            throw bad("a count of " + Integer.toUnsignedString(count) + " members is over the limit of " + MEMBERS_MAX);
        }
        if ((long) count * (MEMBER_BYTES_MIN + 3) > b.remaining()) throw bad("a count of " + count + " members does not fit the frame");
        List<MemberInfo> members = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int id = b.getInt();
            if (i > 0 && id <= members.get(i - 1).id()) throw bad("members must ascend by id: " + id + " after " + members.get(i - 1).id());
            boolean learner = learner(b);
            members.add(new MemberInfo(id, readAddress(b), learner));
        }
        return new ClientResponse.Members(requestId, clusterId, nodeId, leaderId, configIndex, members);
    }

    /** The UTF-8 of an address to write; one {@link MemberInfo#addressProblem} refuses is a bug of the caller. */
    private static byte[] address(String address) {
        String problem = MemberInfo.addressProblem(address);
        if (problem != null) throw new IllegalArgumentException(problem);
        return address.getBytes(StandardCharsets.UTF_8);
    }

    /** An address field, {@code [u16 n][n bytes of UTF-8 host:port]}, checked as {@link MemberInfo#addressProblem} says. */
    private static String readAddress(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        if (n > MemberInfo.ADDRESS_BYTES_MAX) throw bad("an address of " + n + " bytes is over the limit of " + MemberInfo.ADDRESS_BYTES_MAX);
        if (n > b.remaining()) throw bad("an address of " + n + " bytes does not fit the frame");
        String address;
        try {
            address = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(Frames.slice(b, n)).toString();
        } catch (CharacterCodingException e) {
            throw bad("an address of " + n + " bytes is not UTF-8");
        }
        String problem = MemberInfo.addressProblem(address);
        if (problem != null) throw bad(problem);
        return address;
    }

    /** The learner flag of a member: 0 or 1. */
    private static boolean learner(ByteBuffer b) {
        byte v = b.get();
        if (v != 0 && v != 1) throw bad("learner flag " + Byte.toUnsignedInt(v) + " is neither 0 nor 1");
        return v == 1;
    }

    private static BodyWriter withHeader(BodyWriter w, long requestId, ResponseHeader header) {
        KvCodec.writeHeader(w.i64(requestId), header);
        return w;
    }
}
