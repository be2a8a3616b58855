package io.raftkv.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The watch frames (WATCH_CREATE, WATCH_CANCEL, WATCH_EVENTS, WATCH_CANCELED) as docs/protocol.md lays them out. */
class WatchCodecTest {

    private static ByteBuffer body(ByteBuffer frame, byte expectedType) {
        ByteBuffer f = frame.duplicate();
        assertEquals(f.remaining() - 4, f.getInt(), "the length counts the type and the body");
        assertEquals(expectedType, f.get());
        return f.slice();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void watchCreateRoundTripsWithEveryFlag() {
        WatchRequest w = new WatchRequest(7, b("svc/"), b("svc0"), 42, true, false, true, true);
        ByteBuffer frame = ClientCodec.request(new ClientRequest.WatchCreate(3, w));
        ByteBuffer body = body(frame, FrameType.WATCH_CREATE);
        // u64 requestId, u64 watchId, bytes key, bytes end, i64 start, u8 flags
        assertEquals(8 + 8 + 4 + 4 + 4 + 4 + 8 + 1, body.remaining());
        assertEquals(1 | 4 | 8, body.get(body.limit() - 1), "prevKv | noDelete | progressNotify");
        ClientRequest.WatchCreate back = (ClientRequest.WatchCreate) ClientCodec.decodeRequest(FrameType.WATCH_CREATE, body);
        assertEquals(3, back.requestId());
        assertEquals(7, back.watch().watchId());
        assertArrayEquals(b("svc/"), back.watch().key());
        assertArrayEquals(b("svc0"), back.watch().rangeEnd());
        assertEquals(42, back.watch().startRevision());
        assertTrue(back.watch().prevKv() && !back.watch().noPut() && back.watch().noDelete() && back.watch().progressNotify());
    }

    @Test
    void unknownWatchFlagsAreRefused() {
        ByteBuffer frame = ClientCodec.request(new ClientRequest.WatchCreate(1, WatchRequest.key(1, b("k"))));
        ByteBuffer body = body(frame, FrameType.WATCH_CREATE);
        body.put(body.limit() - 1, (byte) 0x40);
        FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.WATCH_CREATE, body));
        assertTrue(e.getMessage().contains("unknown watch flags"), e.getMessage());
    }

    @Test
    void watchCancelRoundTrips() {
        ByteBuffer body = body(ClientCodec.request(new ClientRequest.WatchCancel(5, 9)), FrameType.WATCH_CANCEL);
        assertEquals(16, body.remaining());
        assertEquals(new ClientRequest.WatchCancel(5, 9), ClientCodec.decodeRequest(FrameType.WATCH_CANCEL, body));
    }

    @Test
    void watchEventsRoundTripWithAndWithoutPrevKv() {
        KeyValue prev = new KeyValue(b("a"), 2, 2, 1, b("old"));
        KeyValue now = new KeyValue(b("a"), 2, 5, 2, b("new"));
        KeyValue gone = new KeyValue(b("b"), 0, 5, 0, new byte[0]);
        List<WatchEvent> events = List.of(new WatchEvent(WatchEvent.Type.PUT, now, prev), new WatchEvent(WatchEvent.Type.DELETE, gone, null));
        ResponseHeader header = new ResponseHeader(5, 2, 3);
        ByteBuffer frame = ClientCodec.response(new ClientResponse.WatchEvents(11, header, true, events));
        ByteBuffer body = body(frame, FrameType.WATCH_EVENTS);
        long expected = 8 + 20 + 1 + 4;
        for (WatchEvent e : events) expected += KvCodec.watchEventBytes(e);
        assertEquals(expected, body.remaining(), "watchEventBytes sizes the frame exactly");
        ClientResponse.WatchEvents back = (ClientResponse.WatchEvents) ClientCodec.decodeResponse(FrameType.WATCH_EVENTS, body);
        assertEquals(11, back.watchId());
        assertEquals(header, back.header());
        assertTrue(back.fragment());
        assertEquals(2, back.events().size());
        assertEquals(WatchEvent.Type.PUT, back.events().get(0).type());
        assertEquals(now, back.events().get(0).kv());
        assertEquals(prev, back.events().get(0).prevKv());
        assertEquals(WatchEvent.Type.DELETE, back.events().get(1).type());
        assertEquals(gone, back.events().get(1).kv());
        assertNull(back.events().get(1).prevKv());
        assertEquals(0, back.requestId(), "events answer no request");
    }

    @Test
    void watchCanceledRoundTrips() {
        ClientResponse.WatchCanceled c = new ClientResponse.WatchCanceled(4, 100, ErrorCode.COMPACTED, "revision 50 has been compacted");
        ByteBuffer body = body(ClientCodec.response(c), FrameType.WATCH_CANCELED);
        assertEquals(c, ClientCodec.decodeResponse(FrameType.WATCH_CANCELED, body));
    }

    @Test
    void anUnknownEventTypeIsRefused() {
        ByteBuffer frame = ClientCodec.response(new ClientResponse.WatchEvents(1, new ResponseHeader(2, 1, 1), false,
                List.of(new WatchEvent(WatchEvent.Type.PUT, new KeyValue(b("k"), 2, 2, 1, b("v")), null))));
        ByteBuffer body = body(frame, FrameType.WATCH_EVENTS);
        body.put(8 + 20 + 1 + 4, (byte) 7);
        assertThrows(FrameException.class, () -> ClientCodec.decodeResponse(FrameType.WATCH_EVENTS, body));
    }
}
