package io.raftkv.protocol;

import java.nio.ByteBuffer;

/**
 * Cuts a byte stream into frames {@code [u32 length][u8 type][body]} (big-endian; length counts type and
 * body). Bytes may arrive in any pieces: a frame split over many reads, many frames in one read. The
 * buffer grows to hold the largest frame seen, never past {@code frameBytesMax} plus the length field.
 */
public final class FrameDecoder {

    /** Receives each whole frame; {@code body} is only valid during the call. */
    public interface Handler {
        void onFrame(byte type, ByteBuffer body);
    }

    private static final int INITIAL_BYTES = 16 * 1024;

    private final int frameBytesMax;
    private ByteBuffer buffer;

    public FrameDecoder(int frameBytesMax) {
        if (frameBytesMax < 1) throw new IllegalArgumentException("frameBytesMax must be at least 1");
        this.frameBytesMax = frameBytesMax;
        this.buffer = ByteBuffer.allocate(Math.min(INITIAL_BYTES, frameBytesMax + 4));
    }

    /** The buffer to read into (in write mode); it always has room for at least one byte. */
    public ByteBuffer readBuffer() {
        if (!buffer.hasRemaining()) grow();
        return buffer;
    }

    /** Feeds bytes directly (tests, or callers that do not read from a channel). */
    public void feed(ByteBuffer bytes, Handler handler) {
        while (bytes.hasRemaining()) {
            ByteBuffer target = readBuffer();
            int n = Math.min(target.remaining(), bytes.remaining());
            ByteBuffer piece = bytes.slice();
            piece.limit(n);
            target.put(piece);
            bytes.position(bytes.position() + n);
            decode(handler);
        }
    }

    /** Hands every whole frame in the buffer to {@code handler}; throws {@link FrameException} on a bad length. */
    public void decode(Handler handler) {
        buffer.flip();
        try {
            while (buffer.remaining() >= 4) {
                int start = buffer.position();
                long length = Integer.toUnsignedLong(buffer.getInt(start));
                if (length < 1) throw new FrameException(ErrorCode.BAD_REQUEST, "frame length 0: a frame holds at least its type byte");
                if (length > frameBytesMax) throw new FrameException(ErrorCode.TOO_LARGE, "frame of " + length + " bytes is over the limit of " + frameBytesMax);
                if (buffer.remaining() < 4 + length) break;
                byte type = buffer.get(start + 4);
                ByteBuffer body = buffer.slice(start + 5, (int) length - 1);
                buffer.position(start + 4 + (int) length);
                handler.onFrame(type, body);
            }
        } finally {
            buffer.compact();
        }
    }

    private void grow() {
        // Called with the buffer full: the frame at its head is bigger than the buffer. Its length was
        // validated, so growing to it (plus its length field) stays within frameBytesMax.
        int needed = buffer.capacity() >= 4 ? (int) Math.min((long) frameBytesMax + 4, Integer.toUnsignedLong(buffer.getInt(0)) + 4) : 4;
        int capacity = Math.max(needed, Math.min(buffer.capacity() * 2, frameBytesMax + 4));
        if (capacity <= buffer.capacity()) throw new IllegalStateException("frame decoder buffer full at " + buffer.capacity() + " bytes");
        ByteBuffer bigger = ByteBuffer.allocate(capacity);
        buffer.flip();
        bigger.put(buffer);
        buffer = bigger;
    }
}
