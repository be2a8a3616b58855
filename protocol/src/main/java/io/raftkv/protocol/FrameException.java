package io.raftkv.protocol;

/** A frame that cannot be decoded: the connection that sent it is answered with an ERROR frame and closed. */
public final class FrameException extends RuntimeException {

    private final int code;

    public FrameException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** One of the {@link ErrorCode} values. */
    public int code() {
        return code;
    }
}
