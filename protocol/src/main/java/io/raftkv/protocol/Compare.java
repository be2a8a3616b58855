package io.raftkv.protocol;

/**
 * One condition of a transaction, as etcd's: the {@code target} of every key in {@code [key, rangeEnd)} (one key
 * when {@code rangeEnd} is empty) compared with {@code number} (VERSION, CREATE, MOD) or {@code value} (VALUE).
 * A missing key has version, create and mod revision 0; a VALUE compare on a missing key is false.
 */
public record Compare(byte[] key, byte[] rangeEnd, Target target, Result result, long number, byte[] value) {

    public enum Target {
        VERSION(0), CREATE(1), MOD(2), VALUE(3);

        public final int code;

        Target(int code) {
            this.code = code;
        }

        public static Target ofCode(int code) {
            for (Target t : values()) if (t.code == code) return t;
            throw new IllegalArgumentException("unknown compare target " + code);
        }
    }

    public enum Result {
        EQUAL(0, "="), GREATER(1, ">"), LESS(2, "<"), NOT_EQUAL(3, "!=");

        public final int code;
        public final String symbol;

        Result(int code, String symbol) {
            this.code = code;
            this.symbol = symbol;
        }

        public static Result ofCode(int code) {
            for (Result r : values()) if (r.code == code) return r;
            throw new IllegalArgumentException("unknown compare result " + code);
        }

        /** Whether {@code c}, the sign of a comparison of the key's side with the given side, satisfies this. */
        public boolean holds(int c) {
            return switch (this) {
                case EQUAL -> c == 0;
                case GREATER -> c > 0;
                case LESS -> c < 0;
                case NOT_EQUAL -> c != 0;
            };
        }
    }

    private static final byte[] NONE = new byte[0];

    public static Compare version(byte[] key, Result r, long version) {
        return new Compare(key, NONE, Target.VERSION, r, version, NONE);
    }

    public static Compare createRevision(byte[] key, Result r, long revision) {
        return new Compare(key, NONE, Target.CREATE, r, revision, NONE);
    }

    public static Compare modRevision(byte[] key, Result r, long revision) {
        return new Compare(key, NONE, Target.MOD, r, revision, NONE);
    }

    public static Compare value(byte[] key, Result r, byte[] value) {
        return new Compare(key, NONE, Target.VALUE, r, 0, value);
    }

    /** The same compare over every key in {@code [key, end)}. */
    public Compare withRangeEnd(byte[] end) {
        return new Compare(key, end, target, result, number, value);
    }
}
