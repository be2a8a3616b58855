package io.raftkv.raft;

/**
 * The messages Raft nodes exchange. Field use per type is documented on {@link Message}.
 *
 * <p>Each type has a wire code, written out here and in docs/protocol.md (RAFT body, offset 0). The codes
 * are part of the peer protocol: a constant may be added with a new code, but no code may change or be
 * reused, and the declaration order means nothing on the wire (never {@code ordinal()}).
 */
public enum MessageType {
    PRE_VOTE(0),
    PRE_VOTE_RESP(1),
    VOTE(2),
    VOTE_RESP(3),
    APPEND(4),
    APPEND_RESP(5),
    HEARTBEAT(6),
    HEARTBEAT_RESP(7),
    READ_INDEX(8),
    READ_INDEX_RESP(9),
    SNAPSHOT(10),
    TIMEOUT_NOW(11);

    /** Codes travel in one unsigned byte. */
    private static final int CODE_MAX = 0xFF;

    /** Types indexed by code; null where no type has that code. */
    private static final MessageType[] BY_CODE = indexByCode();

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    /** The code that names this type on the wire, in [0, 255]. */
    public int code() {
        return code;
    }

    /** The type whose {@link #code()} is {@code code}; IllegalArgumentException when no type has it. */
    public static MessageType ofCode(int code) {
        MessageType type = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        if (type == null) throw new IllegalArgumentException("unknown raft message type " + code);
        return type;
    }

    private static MessageType[] indexByCode() {
        int highest = 0;
        for (MessageType t : values()) {
            if (t.code < 0 || t.code > CODE_MAX) throw new IllegalStateException(t + " has code " + t.code + ", outside [0, " + CODE_MAX + "]");
            highest = Math.max(highest, t.code);
        }
        MessageType[] byCode = new MessageType[highest + 1];
        for (MessageType t : values()) {
            if (byCode[t.code] != null) throw new IllegalStateException(t + " and " + byCode[t.code] + " share code " + t.code);
            byCode[t.code] = t;
        }
        return byCode;
    }
}
