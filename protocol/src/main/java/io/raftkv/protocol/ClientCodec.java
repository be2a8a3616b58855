package io.raftkv.protocol;

import java.nio.ByteBuffer;

import static io.raftkv.protocol.Frames.bad;
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

    public static final int PROTOCOL_VERSION = 1;

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
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown request type " + FrameType.name(type));
        });
    }

    // ------------------------------------------------------------------ client responses

    public static ByteBuffer response(ClientResponse r) {
        if (r instanceof ClientResponse.Ok) return frame(FrameType.OK, 8).putLong(r.requestId()).flip();
        if (r instanceof ClientResponse.NotFound) return frame(FrameType.NOT_FOUND, 8).putLong(r.requestId()).flip();
        if (r instanceof ClientResponse.Value v) {
            return frame(FrameType.VALUE, 8 + 4 + v.value().length).putLong(v.requestId()).putInt(v.value().length).put(v.value()).flip();
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
            case FrameType.OK -> new ClientResponse.Ok(b.getLong());
            case FrameType.NOT_FOUND -> new ClientResponse.NotFound(b.getLong());
            case FrameType.VALUE -> new ClientResponse.Value(b.getLong(), bytes(b));
            case FrameType.NOT_LEADER -> new ClientResponse.NotLeader(b.getLong(), b.getInt(), string(b), Short.toUnsignedInt(b.getShort()));
            case FrameType.ERROR -> new ClientResponse.Error(b.getLong(), Short.toUnsignedInt(b.getShort()), string(b));
            case FrameType.STATUS_RESULT -> new ClientResponse.StatusResult(b.getLong(), b.getInt(), string(b), b.getLong(),
                    b.getInt(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
            default -> throw new FrameException(ErrorCode.UNKNOWN_TYPE, "unknown response type " + FrameType.name(type));
        });
    }

}
