package io.raftkv.raft;

/** The messages Raft nodes exchange. Field use per type is documented on {@link Message}. */
public enum MessageType {
    PRE_VOTE,
    PRE_VOTE_RESP,
    VOTE,
    VOTE_RESP,
    APPEND,
    APPEND_RESP,
    HEARTBEAT,
    HEARTBEAT_RESP,
    READ_INDEX,
    READ_INDEX_RESP;

    private static final MessageType[] VALUES = values();

    public static MessageType ofCode(int code) {
        if (code < 0 || code >= VALUES.length) throw new IllegalArgumentException("unknown raft message type " + code);
        return VALUES[code];
    }
}
