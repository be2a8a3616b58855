package io.raftkv.protocol;

import java.util.Arrays;

/**
 * A permission of a role (etcd's authpb.Permission): {@code type} on the keys of {@code [key, rangeEnd)} by the range
 * conventions of {@link RangeRequest} (no end: {@code key} alone; {@code "\0"}: every key from {@code key} on; etcdctl's
 * {@code --prefix} is {@code rangeEnd = RangeRequest.prefixEnd(key)}). An empty key is allowed only with an end: with
 * {@code "\0"} it names every key.
 */
public record Permission(Type type, byte[] key, byte[] rangeEnd) {

    /** etcd's codes: READ 0, WRITE 1, READWRITE 2. */
    public enum Type {
        READ(0), WRITE(1), READWRITE(2);

        public final int code;

        Type(int code) {
            this.code = code;
        }

        public static Type ofCode(int code) {
            for (Type t : values()) if (t.code == code) return t;
            throw new IllegalArgumentException("unknown permission type " + code);
        }

        public boolean reads() {
            return this != WRITE;
        }

        public boolean writes() {
            return this != READ;
        }
    }

    /** The same keys: the permission a revoke names. */
    public boolean sameKeys(byte[] otherKey, byte[] otherRangeEnd) {
        return Arrays.equals(key, otherKey) && Arrays.equals(rangeEnd, otherRangeEnd);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Permission p && p.type == type && sameKeys(p.key, p.rangeEnd);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * type.hashCode() + Arrays.hashCode(key)) + Arrays.hashCode(rangeEnd);
    }

    @Override
    public String toString() {
        return type + " " + (rangeEnd.length == 0 ? Frames.printable(key) : "[" + Frames.printable(key) + ", " + Frames.printable(rangeEnd) + ")");
    }
}
