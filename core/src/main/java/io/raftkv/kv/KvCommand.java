package io.raftkv.kv;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * A write as it travels in a Raft log entry: {@code [u8 op][u32 keyLength][key][u32 valueLength][value]}
 * for PUT (op 1), {@code [u8 op][u32 keyLength][key]} for DELETE (op 2). Big-endian.
 */
public record KvCommand(boolean delete, byte[] key, byte[] value) {

    /** Bytes a PUT command adds to its key and value. */
    public static final int PUT_OVERHEAD_BYTES = 1 + 4 + 4;

    private static final byte PUT = 1;
    private static final byte DELETE = 2;

    public static KvCommand put(byte[] key, byte[] value) {
        return new KvCommand(false, key, value);
    }

    public static KvCommand delete(byte[] key) {
        return new KvCommand(true, key, null);
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(1 + 4 + key.length + (delete ? 0 : 4 + value.length));
        b.put(delete ? DELETE : PUT).putInt(key.length).put(key);
        if (!delete) b.putInt(value.length).put(value);
        return b.array();
    }

    /** Decodes a committed entry; a malformed one means the log is damaged, and the node must stop. */
    public static KvCommand decode(byte[] data) {
        try {
            ByteBuffer b = ByteBuffer.wrap(data);
            byte op = b.get();
            byte[] key = new byte[b.getInt()];
            b.get(key);
            KvCommand c;
            if (op == PUT) {
                byte[] value = new byte[b.getInt()];
                b.get(value);
                c = put(key, value);
            } else if (op == DELETE) {
                c = delete(key);
            } else {
                throw new IllegalStateException("unknown command op " + op);
            }
            if (b.hasRemaining()) throw new IllegalStateException("command has " + b.remaining() + " trailing bytes");
            return c;
        } catch (BufferUnderflowException | NegativeArraySizeException e) {
            throw new IllegalStateException("truncated command of " + data.length + " bytes", e);
        }
    }
}
