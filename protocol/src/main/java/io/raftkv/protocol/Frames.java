package io.raftkv.protocol;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The frame layout every codec shares, peers' and clients' alike: {@code [u32 length][u8 type][body]},
 * big-endian, the length counting the type byte and the body (docs/protocol.md). Helpers to build a frame and
 * to read the length-prefixed fields bodies are made of; a body that is short, too long or inconsistent
 * throws {@link FrameException} with {@link ErrorCode#BAD_REQUEST}.
 */
public final class Frames {

    /** The length field in front of every frame. */
    public static final int LENGTH_BYTES = 4;

    private Frames() {
    }

    /** Reads one value from a frame body. */
    public interface BodyReader<T> {
        T read(ByteBuffer body);
    }

    /** Decodes a whole body with {@code reader}: a body that is short or has bytes left over is refused. */
    public static <T> T decode(ByteBuffer body, BodyReader<T> reader) {
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
    public static ByteBuffer frame(byte type, int bodyBytes) {
        return ByteBuffer.allocate(LENGTH_BYTES + 1 + bodyBytes).putInt(1 + bodyBytes).put(type);
    }

    /** A {@code [u32 length][bytes]} field. */
    public static byte[] bytes(ByteBuffer b) {
        int n = b.getInt();
        if (n < 0 || n > b.remaining()) throw bad("a length of " + Integer.toUnsignedString(n) + " bytes does not fit the frame");
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /**
     * The next {@code n} bytes of {@code b} as a view (no copy), {@code b} moved past them: a chunk of data that is
     * written out while its frame is handled.
     */
    public static ByteBuffer slice(ByteBuffer b, int n) {
        ByteBuffer data = b.slice(b.position(), n);
        b.position(b.position() + n);
        return data;
    }

    /** A {@code bool} field: one byte, 0 or 1; anything else is refused. */
    public static boolean bool(ByteBuffer b) {
        byte v = b.get();
        if (v != 0 && v != 1) throw bad("flag " + v + " is neither 0 nor 1");
        return v == 1;
    }

    /** A {@code [u16 length][UTF-8]} field. */
    public static String string(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        if (n > b.remaining()) throw bad("a string of " + n + " bytes does not fit the frame");
        byte[] out = new byte[n];
        b.get(out);
        return new String(out, StandardCharsets.UTF_8);
    }

    /** The UTF-8 bytes of a string field, which must fit its u16 length. */
    public static byte[] utf8(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) throw new IllegalArgumentException("string of " + b.length + " bytes is over 65535");
        return b;
    }

    /** The bytes of a key or value an error message shows at most: its message must fit a {@code str} field. */
    private static final int PRINTABLE_BYTES_MAX = 64;

    /** A key or value for messages and logs: as text when it is printable ASCII, else as hex; long ones cut. */
    public static String printable(byte[] b) {
        if (b == null) return "null";
        int shown = Math.min(b.length, PRINTABLE_BYTES_MAX);
        String more = shown < b.length ? "... (" + b.length + " bytes)" : "";
        boolean text = true;
        for (int i = 0; i < shown; i++) if (b[i] < 0x20 || b[i] > 0x7e) text = false;
        if (text) return '"' + new String(b, 0, shown, StandardCharsets.US_ASCII) + '"' + more;
        StringBuilder hex = new StringBuilder("0x");
        for (int i = 0; i < shown; i++) hex.append(String.format("%02x", b[i]));
        return hex + more;
    }

    /** A count of elements read from a body, each at least {@code elementBytesMin} long, that must fit what is left. */
    public static int count(ByteBuffer b, int elementBytesMin) {
        int n = b.getInt();
        if (n < 0 || (long) n * elementBytesMin > b.remaining()) throw bad("a count of " + Integer.toUnsignedString(n) + " does not fit the frame");
        return n;
    }

    public static FrameException bad(String message) {
        return new FrameException(ErrorCode.BAD_REQUEST, message);
    }
}
