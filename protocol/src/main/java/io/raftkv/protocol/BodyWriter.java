package io.raftkv.protocol;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A growable big-endian buffer for bodies whose size is not known up front (ranges, transactions, results). It
 * keeps room for a frame's length and type in front of the body, so that {@link #toFrame} wraps its array
 * instead of copying a large answer once more; a caller that can estimate the body's size avoids the regrowths.
 */
public final class BodyWriter {

    private static final int HEADER_BYTES = Frames.LENGTH_BYTES + 1;
    // One store per number instead of one per byte, which the JIT does not merge: a range's answer has 6 numbers a key.
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    /** What {@link #reset} keeps of a writer that grew: one huge answer does not pin its array for good. */
    private static final int RETAINED_BYTES_MAX = 1 << 20;

    private final int initialBytes;
    private byte[] bytes;
    private int size = HEADER_BYTES;

    public BodyWriter(int initialBytes) {
        this.initialBytes = HEADER_BYTES + Math.max(16, initialBytes);
        bytes = new byte[this.initialBytes];
    }

    /** Empties the writer for the next body (a writer reused as scratch, see {@link #frameView}). */
    public BodyWriter reset() {
        size = HEADER_BYTES;
        if (bytes.length > RETAINED_BYTES_MAX) bytes = new byte[initialBytes];
        return this;
    }

    private void room(int n) {
        if (size + n > bytes.length) bytes = Arrays.copyOf(bytes, Math.max(size + n, bytes.length * 2));
    }

    public BodyWriter u8(int v) {
        room(1);
        bytes[size++] = (byte) v;
        return this;
    }

    public BodyWriter u32(int v) {
        room(4);
        INT.set(bytes, size, v);
        size += 4;
        return this;
    }

    public BodyWriter i64(long v) {
        room(8);
        LONG.set(bytes, size, v);
        size += 8;
        return this;
    }

    /** A {@code [u32 length][bytes]} field. */
    public BodyWriter bytes(byte[] b) {
        u32(b.length);
        room(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    /** Bytes as they are, no length: a body that ends with another body. */
    public BodyWriter raw(byte[] b) {
        room(b.length);
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    /** A {@code [u16 length][UTF-8]} field; a string over 65535 bytes is refused with IllegalArgumentException. */
    public BodyWriter str(String s) {
        byte[] b = Frames.utf8(s);
        room(2 + b.length);
        bytes[size++] = (byte) (b.length >>> 8);
        bytes[size++] = (byte) b.length;
        System.arraycopy(b, 0, bytes, size, b.length);
        size += b.length;
        return this;
    }

    public BodyWriter bool(boolean v) {
        return u8(v ? 1 : 0);
    }

    /** Writes the body written so far to {@code out} and {@link #reset}s: a writer used as a stream's buffer. */
    public void drainTo(OutputStream out) throws IOException {
        out.write(bytes, HEADER_BYTES, size - HEADER_BYTES);
        reset();
    }

    /** Bytes of body written so far. */
    public int size() {
        return size - HEADER_BYTES;
    }

    /** The body written so far. */
    public byte[] toBytes() {
        return Arrays.copyOfRange(bytes, HEADER_BYTES, size);
    }

    /**
     * A whole frame of {@code type} around the body written so far, ready to send, backed by an array of exactly its
     * size: a writer sized right up front hands over its own array, others copy it once. The writer is done with.
     */
    public ByteBuffer toFrame(byte type) {
        if (bytes.length != size) bytes = Arrays.copyOf(bytes, size);
        return frameView(type);
    }

    /**
     * A whole frame of {@code type} around the body written so far, over the writer's own array: valid until the writer
     * is written to or reset, so the caller copies it out before that. No array per frame.
     */
    public ByteBuffer frameView(byte type) {
        ByteBuffer frame = ByteBuffer.wrap(bytes, 0, size);
        frame.putInt(0, size - Frames.LENGTH_BYTES).put(Frames.LENGTH_BYTES, type);
        return frame;
    }
}
