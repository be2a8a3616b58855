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
    /** Auth is enabled and the user may not do this: etcd's "permission denied". Nothing was changed. */
    public static final int PERMISSION_DENIED = 14;
    /** AUTHENTICATE with a user that does not exist or a wrong password: etcd's "authentication failed, invalid user ID or password". */
    public static final int AUTH_FAILED = 15;
    /**
     * Auth is enabled and the connection has not authenticated (etcd's "user name is empty"), or the user it authenticated
     * as was deleted or changed its password since (etcd's "invalid auth token"): authenticate again. Nothing was changed.
     */
    public static final int AUTH_REQUIRED = 16;
    /** AUTHENTICATE while auth is disabled: etcd's "authentication is not enabled"; every request is allowed anyway. */
    public static final int AUTH_NOT_ENABLED = 17;

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
            case PERMISSION_DENIED -> "PERMISSION_DENIED";
            case AUTH_FAILED -> "AUTH_FAILED";
            case AUTH_REQUIRED -> "AUTH_REQUIRED";
            case AUTH_NOT_ENABLED -> "AUTH_NOT_ENABLED";
            default -> "ERROR_" + code;
        };
    }
}
