package io.raftkv.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A member of the cluster as a MEMBERS answer lists it: its node id, the one address it serves peers and clients
 * on ({@code host:port}), and whether it is a learner (it receives the log but does not vote).
 */
public record MemberInfo(int id, String address, boolean learner) {

    /** The longest address a member may have, in UTF-8 bytes. */
    public static final int ADDRESS_BYTES_MAX = 255;

    public MemberInfo {
        Objects.requireNonNull(address, "address");
    }

    /**
     * Null when {@code address} is one a member may have, else why not: {@code host:port}, at most
     * {@link #ADDRESS_BYTES_MAX} bytes of UTF-8, the port a decimal number from 1 to 65535, the host not empty and
     * without spaces, control characters, commas or slashes (a list of endpoints is comma-separated). The port is what
     * follows the last colon, so an IPv6 host may come with or without brackets ({@code [::1]:2379}, {@code ::1:2379}).
     */
    public static String addressProblem(String address) {
        byte[] utf8 = address.getBytes(StandardCharsets.UTF_8);
        if (utf8.length > ADDRESS_BYTES_MAX) return "an address of " + utf8.length + " bytes is over the limit of " + ADDRESS_BYTES_MAX;
        String shown = Frames.printable(utf8);
        int colon = address.lastIndexOf(':');
        if (colon <= 0) return "address " + shown + " is not host:port";
        String host = address.substring(0, colon);
        String port = address.substring(colon + 1);
        if (port.isEmpty() || port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9')
                || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            return "address " + shown + " is not host:port with a port from 1 to 65535";
        }
        if (host.codePoints().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c) || c == ',' || c == '/')) {
            return "address " + shown + ": the host has a space, control character, comma or slash";
        }
        boolean bracketed = host.length() > 2 && host.startsWith("[") && host.endsWith("]");
        String inner = bracketed ? host.substring(1, host.length() - 1) : host;
        if (inner.contains("[") || inner.contains("]")) return "address " + shown + " is not host:port";
        return null;
    }

    /** {@code address}'s host, without the brackets of an IPv6 host; for an address {@link #addressProblem} accepts. */
    public String host() {
        String host = address.substring(0, address.lastIndexOf(':'));
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /** {@code address}'s port; for an address {@link #addressProblem} accepts. */
    public int port() {
        return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
    }
}
