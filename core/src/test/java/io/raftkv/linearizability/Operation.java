package io.raftkv.linearizability;

import java.util.Objects;

/**
 * One client call on the key/value store as the client saw it: what it asked, what it got back,
 * and the logical times at which it sent the request and received the answer.
 *
 * <p>A history holds only calls that may have taken effect; the caller leaves out calls the
 * server definitely rejected. A call whose answer never came (timeout, dead connection) has
 * {@code completeTime == UNKNOWN}: it may have taken effect at any time after its invocation,
 * or never.
 *
 * <p>A CAS is a compare-and-swap that succeeded: it found {@code output} in the register and wrote
 * {@code input}, atomically. One that failed observed the register instead, so it is recorded as a GET of
 * what it found. One whose outcome is unknown is checked as an unknown PUT of {@code input}: a weaker
 * check (it lets it apply whatever the register held), never a false alarm.
 *
 * @param input the value a PUT or a CAS writes; null for DELETE and GET
 * @param output the value a GET returned (null when the key was absent), or the value a CAS expected; ignored for PUT and DELETE
 */
public record Operation(
        int clientId, Kind kind, String key, String input, String output, long invokeTime, long completeTime) {

    public enum Kind { PUT, DELETE, GET, CAS }

    /** The completeTime of a call whose outcome the client never learned. */
    public static final long UNKNOWN = Long.MAX_VALUE;

    // Failure reports print whole histories; a long value would bury the interesting part.
    private static final int VALUE_CHARS_SHOWN_MAX = 40;

    public Operation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
        if ((kind == Kind.PUT || kind == Kind.CAS) && input == null) {
            // null means "absent" in the register model, so a PUT of null would be a DELETE in disguise.
            throw new IllegalArgumentException(kind + " needs a non-null value: " + key);
        }
        if (kind == Kind.CAS && output == null) {
            throw new IllegalArgumentException("CAS needs the non-null value it expected: " + key);
        }
        if (kind != Kind.PUT && kind != Kind.CAS && input != null) {
            throw new IllegalArgumentException(kind + " takes no input value: " + key);
        }
        if (invokeTime == UNKNOWN) {
            throw new IllegalArgumentException("invokeTime must be a real time, not UNKNOWN: " + key);
        }
        if (completeTime < invokeTime) {
            throw new IllegalArgumentException(
                    "completeTime " + completeTime + " is before invokeTime " + invokeTime + ": " + key);
        }
    }

    public static Operation put(int clientId, String key, String value, long invokeTime, long completeTime) {
        return new Operation(clientId, Kind.PUT, key, value, null, invokeTime, completeTime);
    }

    public static Operation putUnknown(int clientId, String key, String value, long invokeTime) {
        return put(clientId, key, value, invokeTime, UNKNOWN);
    }

    public static Operation delete(int clientId, String key, long invokeTime, long completeTime) {
        return new Operation(clientId, Kind.DELETE, key, null, null, invokeTime, completeTime);
    }

    public static Operation deleteUnknown(int clientId, String key, long invokeTime) {
        return delete(clientId, key, invokeTime, UNKNOWN);
    }

    /** @param valueRead what the GET returned, null when the key was absent */
    public static Operation get(int clientId, String key, String valueRead, long invokeTime, long completeTime) {
        return new Operation(clientId, Kind.GET, key, null, valueRead, invokeTime, completeTime);
    }

    /** A GET that never answered; the checker drops it because it observed nothing. */
    public static Operation getUnknown(int clientId, String key, long invokeTime) {
        return get(clientId, key, null, invokeTime, UNKNOWN);
    }

    /** A compare-and-swap that found {@code expected} and wrote {@code value}. */
    public static Operation cas(int clientId, String key, String expected, String value, long invokeTime, long completeTime) {
        return new Operation(clientId, Kind.CAS, key, value, expected, invokeTime, completeTime);
    }

    /** True when the client never learned whether this call took effect. */
    public boolean unknown() {
        return completeTime == UNKNOWN;
    }

    public Operation withOutput(String newOutput) {
        return new Operation(clientId, kind, key, input, newOutput, invokeTime, completeTime);
    }

    /** For example {@code client 3 PUT "k" = "v7" [12, 15]} or {@code client 1 GET "k" -> absent [4, 9]}. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder(64);
        text.append("client ").append(clientId).append(' ').append(kind).append(' ').append(quote(key));
        switch (kind) {
            case PUT -> text.append(" = ").append(quote(input));
            case CAS -> text.append(" ").append(quote(output)).append(" -> ").append(quote(input));
            case GET -> text.append(" -> ").append(unknown() ? "?" : showValue(output));
            case DELETE -> { }
        }
        text.append(" [").append(invokeTime).append(", ").append(unknown() ? "unknown" : completeTime).append(']');
        return text.toString();
    }

    /** A register value for humans: quoted, shortened, or "absent" for null. */
    static String showValue(String value) {
        return value == null ? "absent" : quote(value);
    }

    private static String quote(String value) {
        if (value.length() <= VALUE_CHARS_SHOWN_MAX) {
            return '"' + value + '"';
        }
        return '"' + value.substring(0, VALUE_CHARS_SHOWN_MAX) + "...\" (" + value.length() + " chars)";
    }
}
