package io.raftkv.raft.sim;

import java.nio.charset.StandardCharsets;

/** A client write as the simulated state machine encodes it in a log entry. */
record SimCommand(long opId, boolean delete, String key, String value) {

    byte[] encode() {
        String s = (delete ? "D" : "P") + "|" + opId + "|" + key + (delete ? "" : "|" + value);
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static SimCommand decode(byte[] data) {
        String[] parts = new String(data, StandardCharsets.UTF_8).split("\\|", 4);
        boolean delete = parts[0].equals("D");
        return new SimCommand(Long.parseLong(parts[1]), delete, parts[2], delete ? null : parts[3]);
    }
}
