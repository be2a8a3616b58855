package io.raftkv.raft;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The wire codes of Raft message types (docs/protocol.md, RAFT body offset 0). */
class MessageTypeTest {

    @Test
    @DisplayName("protocol: every message type keeps the code docs/protocol.md gives it")
    void codesAreTheDocumentedOnes() {
        Map<MessageType, Integer> documented = new EnumMap<>(MessageType.class);
        documented.put(MessageType.PRE_VOTE, 0);
        documented.put(MessageType.PRE_VOTE_RESP, 1);
        documented.put(MessageType.VOTE, 2);
        documented.put(MessageType.VOTE_RESP, 3);
        documented.put(MessageType.APPEND, 4);
        documented.put(MessageType.APPEND_RESP, 5);
        documented.put(MessageType.HEARTBEAT, 6);
        documented.put(MessageType.HEARTBEAT_RESP, 7);
        documented.put(MessageType.READ_INDEX, 8);
        documented.put(MessageType.READ_INDEX_RESP, 9);
        documented.put(MessageType.SNAPSHOT, 10);
        documented.put(MessageType.TIMEOUT_NOW, 11);

        assertEquals(MessageType.values().length, documented.size(), "a new type needs a documented code");
        for (MessageType t : MessageType.values()) assertEquals(documented.get(t), t.code(), t.name());
    }

    @Test
    @DisplayName("protocol: codes are distinct, fit in a byte, and ofCode(code()) gives the type back")
    void codesRoundTrip() {
        Set<Integer> seen = new HashSet<>();
        for (MessageType t : MessageType.values()) {
            assertTrue(t.code() >= 0 && t.code() <= 0xFF, t + " code " + t.code());
            assertTrue(seen.add(t.code()), "code " + t.code() + " used twice");
            assertSame(t, MessageType.ofCode(t.code()));
            assertSame(t, MessageType.ofCode((byte) t.code()), "as the codec reads it back: a signed byte");
        }
    }

    @Test
    @DisplayName("protocol: a code no type has is refused with IllegalArgumentException")
    void unknownCodeIsRefused() {
        for (int code : new int[]{-1, 12, 0x7F, 0xFF, 256, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MessageType.ofCode(code));
            assertTrue(e.getMessage().contains(Integer.toString(code)), e.getMessage());
        }
    }
}
