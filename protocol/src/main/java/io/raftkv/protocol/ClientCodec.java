package io.raftkv.protocol;

import java.nio.ByteBuffer;

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

    /** 2: key/value answers carry a header; RANGE, TXN and COMPACT. */
    public static final int PROTOCOL_VERSION = 2;

    /** Bytes a PUT frame adds to its key and value: length, type, request id and the two length fields. */
    public static final int PUT_FRAME_OVERHEAD_BYTES = Frames.LENGTH_BYTES + 1 + 8 + 4 + 4;

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
        return frame(FrameType.STATUS, 8).putLong(r.requestId()).flip();
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
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown request type " + FrameType.name(type));
        });
    }

    // ------------------------------------------------------------------ client responses

    public static ByteBuffer response(ClientResponse r) {
        if (r instanceof ClientResponse.Ok ok) return withHeader(ok.requestId(), ok.header(), 0).toFrame(FrameType.OK);
        if (r instanceof ClientResponse.NotFound nf) return withHeader(nf.requestId(), nf.header(), 0).toFrame(FrameType.NOT_FOUND);
        if (r instanceof ClientResponse.Value v) {
            BodyWriter w = withHeader(v.requestId(), v.header(), 64 + v.kv().key().length + v.kv().value().length);
            KvCodec.writeKeyValue(w, v.kv());
            return w.toFrame(FrameType.VALUE);
        }
        if (r instanceof ClientResponse.RangeResult range) {
            long kvBytes = 0;
            for (KeyValue kv : range.kvs()) kvBytes += KvCodec.keyValueBytes(kv);
            // Sized exactly (count, key-values, more, count), so the answer's array is sent as it is, not copied.
            BodyWriter w = withHeader(range.requestId(), range.header(), (int) Math.min(Integer.MAX_VALUE - 64, 4 + kvBytes + 1 + 8));
            KvCodec.writeKeyValues(w, range.kvs());
            return w.bool(range.more()).i64(range.count()).toFrame(FrameType.RANGE_RESULT);
        }
        if (r instanceof ClientResponse.TxnResult txn) {
            BodyWriter w = withHeader(txn.requestId(), txn.header(), 256).bool(txn.succeeded());
            KvCodec.writeOpResults(w, txn.results());
            return w.toFrame(FrameType.TXN_RESULT);
        }
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
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown response type " + FrameType.name(type));
        });
    }

    private static BodyWriter withHeader(long requestId, ResponseHeader header, int moreBytes) {
        BodyWriter w = new BodyWriter(8 + 20 + moreBytes).i64(requestId);
        KvCodec.writeHeader(w, header);
        return w;
    }
}
