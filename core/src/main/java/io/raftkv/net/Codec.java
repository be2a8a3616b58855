package io.raftkv.net;

import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes every frame body, for peers and clients alike. The byte layout of each is in
 * docs/protocol.md; all integers are big-endian. Decoding a body that is short, too long or inconsistent
 * throws {@link FrameException}: the caller answers with an ERROR frame and closes the connection.
 */
public final class Codec {

    public static final int PROTOCOL_VERSION = 1;
    private static final int RAFT_HEADER_BYTES = 1 + 4 + 4 + 8 * 4 + 1 + 8 * 3 + 4;
    private static final int ENTRY_HEADER_BYTES = 8 + 8 + 4;

    private Codec() {
    }

    // ------------------------------------------------------------------ handshake

    public static ByteBuffer helloPeer(long clusterId, int nodeId) {
        return frame(FrameType.HELLO_PEER, 12).putLong(clusterId).putInt(nodeId).flip();
    }

    public static ByteBuffer helloClient() {
        return frame(FrameType.HELLO_CLIENT, 4).putInt(PROTOCOL_VERSION).flip();
    }

    public record PeerHello(long clusterId, int nodeId) { }

    public static PeerHello decodeHelloPeer(ByteBuffer body) {
        return decode(body, b -> new PeerHello(b.getLong(), b.getInt()));
    }

    public static int decodeHelloClient(ByteBuffer body) {
        return decode(body, ByteBuffer::getInt);
    }

    // ------------------------------------------------------------------ raft messages

    public static ByteBuffer raft(Message m) {
        int size = RAFT_HEADER_BYTES;
        for (Entry e : m.entries()) size += ENTRY_HEADER_BYTES + e.data().length;
        ByteBuffer b = frame(FrameType.RAFT, size);
        b.put((byte) m.type().code()).putInt(m.from()).putInt(m.to())
                .putLong(m.term()).putLong(m.logTerm()).putLong(m.index()).putLong(m.commit())
                .put((byte) (m.reject() ? 1 : 0)).putLong(m.hintTerm()).putLong(m.hintIndex()).putLong(m.context())
                .putInt(m.entries().size());
        for (Entry e : m.entries()) b.putLong(e.term()).putLong(e.index()).putInt(e.data().length).put(e.data());
        return b.flip();
    }

    public static Message decodeRaft(ByteBuffer body) {
        return decode(body, b -> {
            MessageType type = MessageType.ofCode(b.get());
            int from = b.getInt();
            int to = b.getInt();
            long term = b.getLong();
            long logTerm = b.getLong();
            long index = b.getLong();
            long commit = b.getLong();
            byte rejectByte = b.get();
            if (rejectByte != 0 && rejectByte != 1) throw bad("reject flag " + rejectByte + " is neither 0 nor 1");
            boolean reject = rejectByte == 1;
            long hintTerm = b.getLong();
            long hintIndex = b.getLong();
            long context = b.getLong();
            int count = b.getInt();
            if (count < 0 || (long) count * ENTRY_HEADER_BYTES > b.remaining()) throw bad("entry count " + count + " does not fit the frame");
            List<Entry> entries = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                long eTerm = b.getLong();
                long eIndex = b.getLong();
                byte[] data = bytes(b);
                if (eTerm < 1 || eIndex < 1) throw bad("entry with term " + eTerm + " and index " + eIndex);
                entries.add(new Entry(eTerm, eIndex, data));
            }
            return new Message(type, from, to, term, logTerm, index, entries, commit, reject, hintTerm, hintIndex, context);
        });
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

    // ------------------------------------------------------------------ helpers

    private interface BodyReader<T> {
        T read(ByteBuffer body);
    }

    private static <T> T decode(ByteBuffer body, BodyReader<T> reader) {
        try {
            T value = reader.read(body);
            if (body.hasRemaining()) throw bad(body.remaining() + " unexpected bytes after the body");
            return value;
        } catch (BufferUnderflowException e) {
            throw bad("frame body is truncated");
        } catch (IllegalArgumentException e) {
            throw bad(e.getMessage());
        }
    }

    /** A new buffer holding the frame header, ready for {@code bodyBytes} of body. */
    private static ByteBuffer frame(byte type, int bodyBytes) {
        return ByteBuffer.allocate(4 + 1 + bodyBytes).putInt(1 + bodyBytes).put(type);
    }

    private static byte[] bytes(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) throw bad("a length of " + Integer.toUnsignedString(n) + " bytes does not fit the frame");
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    private static String string(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        if (n > b.remaining()) throw bad("a string of " + n + " bytes does not fit the frame");
        byte[] out = new byte[n];
        b.get(out);
        return new String(out, StandardCharsets.UTF_8);
    }

    private static byte[] utf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) throw new IllegalArgumentException("string of " + b.length + " bytes is over 65535");
        return b;
    }

    private static FrameException bad(String message) {
        return new FrameException(ErrorCode.BAD_REQUEST, message);
    }
}
