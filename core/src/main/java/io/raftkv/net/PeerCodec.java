package io.raftkv.net;

import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.FrameType;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.protocol.Frames.bad;
import static io.raftkv.protocol.Frames.bool;
import static io.raftkv.protocol.Frames.bytes;
import static io.raftkv.protocol.Frames.decode;
import static io.raftkv.protocol.Frames.frame;
import static io.raftkv.protocol.Frames.slice;

/**
 * Encodes and decodes the peer side of the protocol: a node's hello to its peer and Raft messages, in the
 * frame layout clients use too ({@link io.raftkv.protocol.Frames}). Byte layouts are in docs/protocol.md;
 * a bad body throws {@link io.raftkv.protocol.FrameException}.
 */
public final class PeerCodec {

    private static final int RAFT_HEADER_BYTES = 1 + 4 + 4 + 8 * 4 + 1 + 8 * 3 + 4;
    private static final int ENTRY_HEADER_BYTES = 8 + 8 + 4;

    /** Bytes a RAFT frame adds around its entries' data: what a frame limit must leave for them. */
    public static final int RAFT_FRAME_OVERHEAD_BYTES = 4 + 1 + RAFT_HEADER_BYTES;
    public static final int ENTRY_OVERHEAD_BYTES = ENTRY_HEADER_BYTES;

    private PeerCodec() {
    }

    public record PeerHello(long clusterId, int nodeId) { }

    /**
     * A piece of a snapshot file on its way to a follower: bytes [offset, offset + data.remaining()) of a file of
     * {@code totalBytes}. {@code data} is a view of the frame: valid only while the frame is handled.
     */
    public record SnapshotChunk(long index, long term, long offset, long totalBytes, ByteBuffer data) { }

    private static final int SNAPSHOT_CHUNK_HEADER_BYTES = 8 * 4 + 4;

    /** Bytes a SNAPSHOT_CHUNK frame adds around its data. */
    public static final int SNAPSHOT_CHUNK_OVERHEAD_BYTES = 4 + 1 + SNAPSHOT_CHUNK_HEADER_BYTES;

    public static ByteBuffer helloPeer(long clusterId, int nodeId) {
        return frame(FrameType.HELLO_PEER, 12).putLong(clusterId).putInt(nodeId).flip();
    }

    public static PeerHello decodeHelloPeer(ByteBuffer body) {
        return decode(body, b -> new PeerHello(b.getLong(), b.getInt()));
    }

    /**
     * A dialled link's probe: the peer answers {@link #peerPong} with the same token on the same connection, which is
     * how a link that only sends learns that the other side still hears it.
     */
    public static ByteBuffer peerPing(long token) {
        return frame(FrameType.PEER_PING, 8).putLong(token).flip();
    }

    public static ByteBuffer peerPong(long token) {
        return frame(FrameType.PEER_PONG, 8).putLong(token).flip();
    }

    /** The token of a PEER_PING or PEER_PONG. */
    public static long decodePeerProbe(ByteBuffer body) {
        return decode(body, ByteBuffer::getLong);
    }

    public static ByteBuffer snapshotChunk(long index, long term, long offset, long totalBytes, ByteBuffer data) {
        return frame(FrameType.SNAPSHOT_CHUNK, SNAPSHOT_CHUNK_HEADER_BYTES + data.remaining())
                .putLong(index).putLong(term).putLong(offset).putLong(totalBytes).putInt(data.remaining()).put(data).flip();
    }

    public static SnapshotChunk decodeSnapshotChunk(ByteBuffer body) {
        return decode(body, b -> {
            long index = b.getLong();
            long term = b.getLong();
            long offset = b.getLong();
            long total = b.getLong();
            int length = b.getInt();
            if (index < 1 || term < 1 || offset < 0 || length < 0 || length > b.remaining() || offset + length > total) {
                throw bad("snapshot chunk " + index + "@t" + term + " [" + offset + ", +" + length + ") of " + total + " bytes does not add up");
            }
            return new SnapshotChunk(index, term, offset, total, slice(b, length));
        });
    }

    /** A RAFT frame of its own: a snapshot's message, tests. The loop's sends use {@link #raft(BodyWriter, Message)}. */
    public static ByteBuffer raft(Message m) {
        int size = RAFT_HEADER_BYTES;
        for (Entry e : m.entries()) size += ENTRY_HEADER_BYTES + e.data().length;
        return raft(new BodyWriter(size), m);
    }

    /**
     * The RAFT frame of {@code m} encoded into {@code scratch} (emptied first): a view of its array, valid until it is
     * written again, so the caller copies it out ({@code Connection.sendCopy}). No array per message.
     */
    public static ByteBuffer raft(BodyWriter scratch, Message m) {
        scratch.reset();
        scratch.u8(m.type().code()).u32(m.from()).u32(m.to())
                .i64(m.term()).i64(m.logTerm()).i64(m.index()).i64(m.commit())
                .bool(m.reject()).i64(m.hintTerm()).i64(m.hintIndex()).i64(m.context())
                .u32(m.entries().size());
        for (Entry e : m.entries()) scratch.i64(e.term()).i64(e.index()).bytes(e.data());
        return scratch.frameView(FrameType.RAFT);
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
            boolean reject = bool(b);
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
}
