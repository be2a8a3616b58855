package io.raftkv.kv;

/**
 * A request the store cannot serve as asked, with the {@link io.raftkv.protocol.ErrorCode} that tells the
 * client why: a revision compacted away or not reached yet. Deterministic: every replica that applies the same
 * command throws the same one, so a transaction that meets it is refused everywhere and changes nothing.
 */
public final class KvException extends RuntimeException {

    private final int code;

    public KvException(int code, String message) {
        super(message);
        this.code = code;
    }

    public int code() {
        return code;
    }
}
