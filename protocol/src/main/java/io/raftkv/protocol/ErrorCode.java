package io.raftkv.protocol;

/** The codes an ERROR frame carries. */
public final class ErrorCode {

    public static final int BAD_REQUEST = 1;
    public static final int TOO_LARGE = 2;
    public static final int TIMEOUT = 3;
    public static final int UNAVAILABLE = 4;
    public static final int OVERLOADED = 5;
    public static final int UNKNOWN_TYPE = 6;
    public static final int REFUSED = 7;
    /** A read or compaction at a revision below the compaction point; the message names the compact revision. */
    public static final int COMPACTED = 8;
    /** A read or compaction at a revision the store has not reached. */
    public static final int FUTURE_REVISION = 9;
    /** A peer link from a node the cluster removed: it must stop (docs/membership.md). */
    public static final int REMOVED = 10;
    /** A lease that does not exist (never granted, revoked, or expired): etcd's "requested lease not found". */
    public static final int LEASE_NOT_FOUND = 11;
    /** A grant of a lease id that is in use: etcd's "lease already exists". */
    public static final int LEASE_EXISTS = 12;
    /** A grant past the node's leasesMax, or a put past keysPerLeaseMax: the message says which. */
    public static final int LEASE_LIMIT = 13;

    private ErrorCode() {
    }

    public static String name(int code) {
        return switch (code) {
            case BAD_REQUEST -> "BAD_REQUEST";
            case TOO_LARGE -> "TOO_LARGE";
            case TIMEOUT -> "TIMEOUT";
            case UNAVAILABLE -> "UNAVAILABLE";
            case OVERLOADED -> "OVERLOADED";
            case UNKNOWN_TYPE -> "UNKNOWN_TYPE";
            case REFUSED -> "REFUSED";
            case COMPACTED -> "COMPACTED";
            case FUTURE_REVISION -> "FUTURE_REVISION";
            case REMOVED -> "REMOVED";
            case LEASE_NOT_FOUND -> "LEASE_NOT_FOUND";
            case LEASE_EXISTS -> "LEASE_EXISTS";
            case LEASE_LIMIT -> "LEASE_LIMIT";
            default -> "ERROR_" + code;
        };
    }
}
