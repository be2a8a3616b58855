package io.raftkv.protocol;

/** Frame type codes, one table for peers and clients; every body is specified in docs/protocol.md. */
public final class FrameType {

    public static final byte HELLO_PEER = 0x01;
    public static final byte HELLO_CLIENT = 0x02;
    public static final byte RAFT = 0x03;
    public static final byte SNAPSHOT_CHUNK = 0x04;
    public static final byte PEER_PING = 0x05;
    public static final byte PEER_PONG = 0x06;

    public static final byte PUT = 0x10;
    public static final byte DELETE = 0x11;
    public static final byte GET = 0x12;
    public static final byte STATUS = 0x13;
    public static final byte RANGE = 0x14;
    public static final byte TXN = 0x15;
    public static final byte COMPACT = 0x16;
    public static final byte SNAPSHOT = 0x17;
    public static final byte MEMBER_LIST = 0x18;
    public static final byte MEMBER_ADD = 0x19;
    public static final byte MEMBER_REMOVE = 0x1A;
    public static final byte MEMBER_PROMOTE = 0x1B;
    public static final byte MOVE_LEADER = 0x1C;
    public static final byte WATCH_CREATE = 0x1D;
    public static final byte WATCH_CANCEL = 0x1E;
    public static final byte LEASE_GRANT = 0x30;
    public static final byte LEASE_REVOKE = 0x31;
    public static final byte LEASE_KEEPALIVE = 0x32;
    public static final byte LEASE_TIMETOLIVE = 0x33;
    public static final byte LEASE_LEASES = 0x34;
    /** Every auth request: an op byte says which (docs/protocol.md, "Authentication and authorisation"). */
    public static final byte AUTH = 0x40;
    public static final byte AUTH_STATUS = 0x41;
    public static final byte NAMES = 0x42;
    public static final byte PERMISSIONS = 0x43;

    public static final byte OK = 0x20;
    public static final byte VALUE = 0x21;
    public static final byte NOT_FOUND = 0x22;
    public static final byte NOT_LEADER = 0x23;
    public static final byte ERROR = 0x24;
    public static final byte STATUS_RESULT = 0x25;
    public static final byte RANGE_RESULT = 0x26;
    public static final byte TXN_RESULT = 0x27;
    public static final byte SNAPSHOT_DATA = 0x28;
    public static final byte MEMBERS = 0x29;
    public static final byte WATCH_EVENTS = 0x2A;
    public static final byte WATCH_CANCELED = 0x2B;
    public static final byte LEASE_RESULT = 0x2C;
    public static final byte LEASES = 0x2D;

    private FrameType() {
    }

    public static String name(byte type) {
        return switch (type) {
            case HELLO_PEER -> "HELLO_PEER";
            case HELLO_CLIENT -> "HELLO_CLIENT";
            case RAFT -> "RAFT";
            case SNAPSHOT_CHUNK -> "SNAPSHOT_CHUNK";
            case PEER_PING -> "PEER_PING";
            case PEER_PONG -> "PEER_PONG";
            case PUT -> "PUT";
            case DELETE -> "DELETE";
            case GET -> "GET";
            case STATUS -> "STATUS";
            case RANGE -> "RANGE";
            case TXN -> "TXN";
            case COMPACT -> "COMPACT";
            case SNAPSHOT -> "SNAPSHOT";
            case MEMBER_LIST -> "MEMBER_LIST";
            case MEMBER_ADD -> "MEMBER_ADD";
            case MEMBER_REMOVE -> "MEMBER_REMOVE";
            case MEMBER_PROMOTE -> "MEMBER_PROMOTE";
            case MOVE_LEADER -> "MOVE_LEADER";
            case WATCH_CREATE -> "WATCH_CREATE";
            case WATCH_CANCEL -> "WATCH_CANCEL";
            case LEASE_GRANT -> "LEASE_GRANT";
            case LEASE_REVOKE -> "LEASE_REVOKE";
            case LEASE_KEEPALIVE -> "LEASE_KEEPALIVE";
            case LEASE_TIMETOLIVE -> "LEASE_TIMETOLIVE";
            case LEASE_LEASES -> "LEASE_LEASES";
            case AUTH -> "AUTH";
            case AUTH_STATUS -> "AUTH_STATUS";
            case NAMES -> "NAMES";
            case PERMISSIONS -> "PERMISSIONS";
            case OK -> "OK";
            case VALUE -> "VALUE";
            case NOT_FOUND -> "NOT_FOUND";
            case NOT_LEADER -> "NOT_LEADER";
            case ERROR -> "ERROR";
            case STATUS_RESULT -> "STATUS_RESULT";
            case RANGE_RESULT -> "RANGE_RESULT";
            case TXN_RESULT -> "TXN_RESULT";
            case SNAPSHOT_DATA -> "SNAPSHOT_DATA";
            case MEMBERS -> "MEMBERS";
            case WATCH_EVENTS -> "WATCH_EVENTS";
            case WATCH_CANCELED -> "WATCH_CANCELED";
            case LEASE_RESULT -> "LEASE_RESULT";
            case LEASES -> "LEASES";
            default -> String.format("0x%02x", type);
        };
    }
}
