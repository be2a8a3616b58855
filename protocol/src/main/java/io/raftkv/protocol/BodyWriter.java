package io.raftkv.protocol;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** A growable big-endian buffer for bodies whose size is not known up front (ranges, transactions, results). */
public final class BodyWriter {

    private byte[] bytes;
    private int size;

    public BodyWriter(int initialBytes) {
        bytes = new byte[Math.max(16, initialBytes)];
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
        for (int shift = 24; shift >= 0; shift -= 8) bytes[size++] = (byte) (v >>> shift);
        return this;
    }

    public BodyWriter i64(long v) {
        room(8);
        for (int shift = 56; shift >= 0; shift -= 8) bytes[size++] = (byte) (v >>> shift);
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

    public BodyWriter bool(boolean v) {
        return u8(v ? 1 : 0);
    }

    public int size() {
        return size;
    }

    /** The body written so far. */
    public byte[] toBytes() {
        return Arrays.copyOf(bytes, size);
    }

    /** A whole frame of {@code type} around the body written so far, ready to send. */
    public ByteBuffer toFrame(byte type) {
        return Frames.frame(type, size).put(bytes, 0, size).flip();
    }
}
