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
            default -> "ERROR_" + code;
        };
    }
}
