package io.raftkv.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lease frames and the lease fields of key-values and puts, as docs/protocol.md lays them out. */
class LeaseCodecTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The frame's type and body, checked against its length field. */
    private static ByteBuffer body(ByteBuffer frame, byte type) {
        ByteBuffer f = frame.duplicate();
        assertEquals(f.remaining() - 4, f.getInt(), "the length counts the type and the body");
        assertEquals(type, f.get());
        return f.slice();
    }

    private static String hex(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.duplicate().get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Test
    void leaseRequestsByteByByte() {
        assertEquals("0000000000000001" + "694d5765fc71500b" + "000000000000000a",
                hex(body(ClientCodec.request(new ClientRequest.LeaseGrant(1, 0x694d5765fc71500bL, 10)), FrameType.LEASE_GRANT)));
        assertEquals("0000000000000002" + "0000000000000007", hex(body(ClientCodec.request(new ClientRequest.LeaseRevoke(2, 7)), FrameType.LEASE_REVOKE)));
        assertEquals("0000000000000003" + "0000000000000007", hex(body(ClientCodec.request(new ClientRequest.LeaseKeepAlive(3, 7)), FrameType.LEASE_KEEPALIVE)));
        assertEquals("0000000000000004" + "0000000000000007" + "01",
                hex(body(ClientCodec.request(new ClientRequest.LeaseTimeToLive(4, 7, true)), FrameType.LEASE_TIMETOLIVE)));
        assertEquals("0000000000000005", hex(body(ClientCodec.request(new ClientRequest.LeaseLeases(5)), FrameType.LEASE_LEASES)));
        for (ClientRequest r : List.of(new ClientRequest.LeaseGrant(1, 0, 60), new ClientRequest.LeaseRevoke(2, 7), new ClientRequest.LeaseKeepAlive(3, 7),
                new ClientRequest.LeaseTimeToLive(4, 7, false), new ClientRequest.LeaseLeases(5))) {
            ByteBuffer frame = ClientCodec.request(r);
            byte type = frame.get(4);
            assertEquals(r, ClientCodec.decodeRequest(type, body(frame, type)));
        }
        FrameException flag = assertThrows(FrameException.class,
                () -> ClientCodec.decodeRequest(FrameType.LEASE_TIMETOLIVE, ByteBuffer.wrap(HexFormat.of().parseHex("0000000000000004000000000000000702"))));
        assertEquals(ErrorCode.BAD_REQUEST, flag.code());
    }

    @Test
    void leaseAnswersRoundTrip() {
        ResponseHeader h = new ResponseHeader(12, 2, 3);
        ClientResponse.LeaseResult result = new ClientResponse.LeaseResult(9, h, 7, 4, 10, List.of(b("a"), b("bc")));
        ByteBuffer body = body(ClientCodec.response(result), FrameType.LEASE_RESULT);
        assertEquals("0000000000000009" + "000000000000000c" + "00000002" + "0000000000000003" + "0000000000000007" + "0000000000000004"
                + "000000000000000a" + "00000002" + "0000000161" + "000000026263", hex(body));
        ClientResponse.LeaseResult back = (ClientResponse.LeaseResult) ClientCodec.decodeResponse(FrameType.LEASE_RESULT, body);
        assertEquals(List.of(9L, 7L, 4L, 10L), List.of(back.requestId(), back.leaseId(), back.ttlSeconds(), back.grantedTtlSeconds()));
        assertArrayEquals(b("bc"), back.keys().get(1));

        ClientResponse.Leases leases = new ClientResponse.Leases(8, h, List.of(1L, 0x694d5765fc71500bL));
        ByteBuffer frame = ClientCodec.response(leases);
        assertEquals(ClientCodec.leasesFrameBytes(2), frame.remaining());
        assertEquals(leases, ClientCodec.decodeResponse(FrameType.LEASES, body(frame, FrameType.LEASES)));
        FrameException tooMany = assertThrows(FrameException.class, () -> ClientCodec.decodeResponse(FrameType.LEASES,
                ByteBuffer.wrap(HexFormat.of().parseHex("0000000000000008" + "00".repeat(20) + "00000002" + "0000000000000001"))));
        assertTrue(tooMany.getMessage().contains("does not fit"), tooMany.getMessage());
    }

    @Test
    void aKeyValueEndsWithItsLeaseAndAPutWithALeaseIsKindFour() {
        KeyValue kv = new KeyValue(b("k"), 2, 3, 1, b("v"), 0x0102030405060708L);
        BodyWriter w = new BodyWriter(64);
        KvCodec.writeKeyValue(w, kv);
        assertEquals("000000016b" + "0000000000000002" + "0000000000000003" + "0000000000000001" + "0000000176" + "0102030405060708",
                HexFormat.of().formatHex(w.toBytes()));
        assertEquals(kv, KvCodec.readKeyValue(ByteBuffer.wrap(w.toBytes())));
        assertEquals(w.toBytes().length, KvCodec.keyValueBytes(kv));

        TxnRequest t = new TxnRequest(List.of(), List.of(new TxnOp.Put(b("k"), b("v"), false), new TxnOp.Put(b("l"), b("w"), true, 5)), List.of());
        w = new BodyWriter(64);
        KvCodec.writeTxn(w, t);
        assertEquals("00000000" + "00000002"
                + "02" + "000000016b" + "0000000176" + "00"
                + "04" + "000000016c" + "0000000177" + "01" + "0000000000000005"
                + "00000000", HexFormat.of().formatHex(w.toBytes()), "a put without a lease keeps the layout logs before leases hold");
        TxnRequest back = KvCodec.readTxn(ByteBuffer.wrap(w.toBytes()));
        assertEquals(5, ((TxnOp.Put) back.success().get(1)).lease());
        assertEquals(0, ((TxnOp.Put) back.success().get(0)).lease());

        byte[] leaseZero = HexFormat.of().parseHex("00000000" + "00000001" + "04" + "000000016b" + "0000000176" + "00" + "0000000000000000" + "00000000");
        FrameException e = assertThrows(FrameException.class, () -> Frames.decode(ByteBuffer.wrap(leaseZero), KvCodec::readTxn));
        assertTrue(e.getMessage().contains("lease 0 must be written as a plain put"), e.getMessage());
    }
}
