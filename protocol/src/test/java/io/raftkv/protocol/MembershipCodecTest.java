package io.raftkv.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The member frames (MEMBER_LIST, MEMBER_ADD, MEMBER_REMOVE, MEMBER_PROMOTE, MOVE_LEADER, MEMBERS) as docs/protocol.md lays them out. */
class MembershipCodecTest {

    private record Frame(byte type, byte[] body) { }

    private static List<Frame> decodeAll(ByteBuffer input) {
        List<Frame> frames = new ArrayList<>();
        new FrameDecoder(1 << 20).feed(input, (type, body) -> {
            byte[] copy = new byte[body.remaining()];
            body.get(copy);
            frames.add(new Frame(type, copy));
        });
        return frames;
    }

    private static Frame only(ByteBuffer frame) {
        List<Frame> frames = decodeAll(frame.duplicate());
        assertEquals(1, frames.size());
        return frames.get(0);
    }

    private static ClientRequest decodeRequest(ByteBuffer frame) {
        Frame f = only(frame);
        return ClientCodec.decodeRequest(f.type(), ByteBuffer.wrap(f.body()));
    }

    private static ClientResponse decodeResponse(ByteBuffer frame) {
        Frame f = only(frame);
        return ClientCodec.decodeResponse(f.type(), ByteBuffer.wrap(f.body()));
    }

    private static byte[] body(ByteBuffer frame) {
        return only(frame).body();
    }

    private static String refusedRequest(byte type, byte[] body) {
        FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(type, ByteBuffer.wrap(body)));
        assertEquals(ErrorCode.BAD_REQUEST, e.code(), e.getMessage());
        return e.getMessage();
    }

    private static String refusedResponse(byte[] body) {
        FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeResponse(FrameType.MEMBERS, ByteBuffer.wrap(body)));
        assertEquals(ErrorCode.BAD_REQUEST, e.code(), e.getMessage());
        return e.getMessage();
    }

    private static ClientResponse.Members threeMembers() {
        return new ClientResponse.Members(9, 0x1a2b3c4dL, 2, 1, 17, List.of(new MemberInfo(1, "127.0.0.1:7001", false),
                new MemberInfo(2, "node-two.example:7002", false), new MemberInfo(4, "[::1]:7004", true)));
    }

    // ------------------------------------------------------------------ round trips and exact bytes

    @Test
    void memberRequestsAndMembersRoundTrip() {
        List<ClientRequest> requests = List.of(new ClientRequest.MemberList(1), new ClientRequest.MemberAdd(2, 4, "127.0.0.1:7004", false),
                new ClientRequest.MemberAdd(3, 5, "host.example:65535", true), new ClientRequest.MemberRemove(4, 3),
                new ClientRequest.MemberPromote(5, 4), new ClientRequest.MoveLeader(6, 2), new ClientRequest.MemberAdd(Long.MIN_VALUE, -1, "é:1", true));
        for (ClientRequest r : requests) {
            ClientRequest back = decodeRequest(ClientCodec.request(r));
            assertEquals(r, back, "every field survives");
            assertArrayEquals(ClientCodec.request(r).array(), ClientCodec.request(back).array(), r.toString());
        }
        List<ClientResponse.Members> answers = List.of(threeMembers(),
                new ClientResponse.Members(7, -1L, 3, 0, 0, List.of()),
                new ClientResponse.Members(8, 42, Integer.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE, List.of(new MemberInfo(Integer.MIN_VALUE, "a:1", true))));
        for (ClientResponse.Members m : answers) assertEquals(m, decodeResponse(ClientCodec.response(m)));
    }

    @Test
    void memberRequestsAreTheBytesTheDocumentShows() {
        assertEquals(List.of(FrameType.MEMBER_LIST, FrameType.MEMBER_ADD, FrameType.MEMBER_REMOVE, FrameType.MEMBER_PROMOTE, FrameType.MOVE_LEADER,
                        FrameType.MEMBERS), List.of((byte) 0x18, (byte) 0x19, (byte) 0x1A, (byte) 0x1B, (byte) 0x1C, (byte) 0x29));
        assertEquals(List.of("MEMBER_LIST", "MEMBER_ADD", "MEMBER_REMOVE", "MEMBER_PROMOTE", "MOVE_LEADER", "MEMBERS"),
                List.of(FrameType.name(FrameType.MEMBER_LIST), FrameType.name(FrameType.MEMBER_ADD), FrameType.name(FrameType.MEMBER_REMOVE),
                        FrameType.name(FrameType.MEMBER_PROMOTE), FrameType.name(FrameType.MOVE_LEADER), FrameType.name(FrameType.MEMBERS)));

        assertArrayEquals(new byte[] {0, 0, 0, 9, 0x18, 0, 0, 0, 0, 0, 0, 0, 7}, ClientCodec.request(new ClientRequest.MemberList(7)).array());
        // [u64 requestId][u32 nodeId][u8 learner][u16 addressLength][address]
        assertArrayEquals(concat(new byte[] {0, 0, 0, 22, 0x19, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 4, 1, 0, 6}, utf8("h:7004")),
                ClientCodec.request(new ClientRequest.MemberAdd(7, 4, "h:7004", true)).array());
        byte[] idAndNode = {0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3};
        assertArrayEquals(concat(new byte[] {0, 0, 0, 13, 0x1A}, idAndNode), ClientCodec.request(new ClientRequest.MemberRemove(7, 3)).array());
        assertArrayEquals(concat(new byte[] {0, 0, 0, 13, 0x1B}, idAndNode), ClientCodec.request(new ClientRequest.MemberPromote(7, 3)).array());
        assertArrayEquals(concat(new byte[] {0, 0, 0, 13, 0x1C}, idAndNode), ClientCodec.request(new ClientRequest.MoveLeader(7, 3)).array());
    }

    @Test
    void membersIsTheBytesTheDocumentShows() {
        ClientResponse.Members m = new ClientResponse.Members(7, 0x1a2b3c4dL, 2, 1, 17,
                List.of(new MemberInfo(1, "a:1", false), new MemberInfo(3, "b:2", true)));
        byte[] expected = concat(
                new byte[] {0, 0, 0, 57, 0x29},
                new byte[] {0, 0, 0, 0, 0, 0, 0, 7},                  // requestId
                new byte[] {0, 0, 0, 0, 0x1a, 0x2b, 0x3c, 0x4d},      // clusterId
                new byte[] {0, 0, 0, 2},                              // answeringNodeId
                new byte[] {0, 0, 0, 1},                              // leaderId
                new byte[] {0, 0, 0, 0, 0, 0, 0, 17},                 // configIndex
                new byte[] {0, 0, 0, 2},                              // count
                new byte[] {0, 0, 0, 1, 0, 0, 3}, utf8("a:1"),        // id, learner, addressLength, address
                new byte[] {0, 0, 0, 3, 1, 0, 3}, utf8("b:2"));
        assertArrayEquals(expected, ClientCodec.response(m).array());
    }

    @Test
    void theLargestMembersAnswerRoundTripsAndIsAsLargeAsItsLimitSays() {
        List<MemberInfo> members = new ArrayList<>();
        for (int id = 1; id <= ClientCodec.MEMBERS_MAX; id++) {
            String port = ":" + (1000 + id);
            members.add(new MemberInfo(id, "h".repeat(MemberInfo.ADDRESS_BYTES_MAX - port.length()) + port, id % 2 == 0));
        }
        ClientResponse.Members m = new ClientResponse.Members(1, 2, 3, 4, 5, members);
        ByteBuffer frame = ClientCodec.response(m);
        assertEquals(ClientCodec.MEMBERS_FRAME_BYTES_MAX, frame.remaining());
        assertEquals(m, decodeResponse(frame));
    }

    // ------------------------------------------------------------------ malformed bodies

    @Test
    void aMemberAddWithABadLearnerByteOrAddressIsRefusedSayingWhy() {
        byte[] good = body(ClientCodec.request(new ClientRequest.MemberAdd(1, 4, "h:7004", false)));
        byte[] learner = good.clone();
        learner[12] = 2;
        assertEquals("learner flag 2 is neither 0 nor 1", refusedRequest(FrameType.MEMBER_ADD, learner));
        learner[12] = (byte) 0xFF;
        assertEquals("learner flag 255 is neither 0 nor 1", refusedRequest(FrameType.MEMBER_ADD, learner));

        assertEquals("an address of 256 bytes is over the limit of 255",
                refusedRequest(FrameType.MEMBER_ADD, memberAddBody(new byte[256])));
        assertEquals("an address of 65535 bytes is over the limit of 255",
                refusedRequest(FrameType.MEMBER_ADD, ByteBuffer.allocate(15).putLong(1).putInt(4).put((byte) 0).putShort((short) -1).array()));
        assertEquals("an address of 200 bytes does not fit the frame",
                refusedRequest(FrameType.MEMBER_ADD, ByteBuffer.allocate(20).putLong(1).putInt(4).put((byte) 0).putShort((short) 200).array()));
        assertEquals("an address of 3 bytes is not UTF-8", refusedRequest(FrameType.MEMBER_ADD, memberAddBody(new byte[] {'h', ':', (byte) 0xFF})));
        for (String bad : List.of("", "host", "host:", ":7001", "host:0", "host:65536", "host:+80", "host:80a", "host:123456",
                "ho st:80", "a,b:80", "a/b:80", "h\n:80", "[::1:80", "h]:80", "[]:80")) {
            String message = refusedRequest(FrameType.MEMBER_ADD, memberAddBody(utf8(bad)));
            assertTrue(message.startsWith("address "), message);
        }
        assertEquals("address \"host\" is not host:port", refusedRequest(FrameType.MEMBER_ADD, memberAddBody(utf8("host"))));
        assertEquals("address \"host:0\" is not host:port with a port from 1 to 65535",
                refusedRequest(FrameType.MEMBER_ADD, memberAddBody(utf8("host:0"))));
    }

    @Test
    void truncatedOrPaddedMemberRequestsAreRefused() {
        for (ClientRequest r : List.of(new ClientRequest.MemberList(1), new ClientRequest.MemberAdd(2, 4, "h:7004", true),
                new ClientRequest.MemberRemove(3, 4), new ClientRequest.MemberPromote(4, 4), new ClientRequest.MoveLeader(5, 4))) {
            Frame f = only(ClientCodec.request(r));
            for (int cut = 0; cut < f.body().length; cut++) {
                String message = refusedRequest(f.type(), Arrays.copyOf(f.body(), cut));
                assertTrue(message.equals("frame body is truncated") || message.endsWith("does not fit the frame"), r + " cut at " + cut + ": " + message);
            }
            assertEquals("1 unexpected bytes after the body", refusedRequest(f.type(), Arrays.copyOf(f.body(), f.body().length + 1)));
        }
    }

    @Test
    void aMalformedMembersAnswerIsRefusedSayingWhy() {
        byte[] good = body(ClientCodec.response(threeMembers()));
        int count = 8 + 8 + 4 + 4 + 8;
        byte[] over = good.clone();
        ByteBuffer.wrap(over).putInt(count, ClientCodec.MEMBERS_MAX + 1);
        assertEquals("a count of 1025 members is over the limit of 1024", refusedResponse(over));
        ByteBuffer.wrap(over).putInt(count, -1);
        assertEquals("a count of 4294967295 members is over the limit of 1024", refusedResponse(over));
        ByteBuffer.wrap(over).putInt(count, 1000);
        assertEquals("a count of 1000 members does not fit the frame", refusedResponse(over));

        byte[] learner = good.clone();
        learner[count + 4 + 4] = 7; // the first member's learner flag
        assertEquals("learner flag 7 is neither 0 nor 1", refusedResponse(learner));

        byte[] unordered = good.clone();
        ByteBuffer.wrap(unordered).putInt(count + 4, 2); // the first member's id, now equal to the second's
        assertEquals("members must ascend by id: 2 after 2", refusedResponse(unordered));

        byte[] badAddress = good.clone();
        badAddress[count + 4 + 4 + 1 + 2 + 9] = ','; // "127.0.0.1:7001" -> "127.0.0.1,7001"
        assertEquals("address \"127.0.0.1,7001\" is not host:port", refusedResponse(badAddress));

        assertEquals("1 unexpected bytes after the body", refusedResponse(Arrays.copyOf(good, good.length + 1)));
        for (int cut = 0; cut < good.length; cut++) {
            String message = refusedResponse(Arrays.copyOf(good, cut));
            assertTrue(message.equals("frame body is truncated") || message.endsWith("does not fit the frame"), "cut at " + cut + ": " + message);
        }
    }

    @Test
    void theEncoderRefusesWhatTheDecoderWould() {
        assertThrows(IllegalArgumentException.class, () -> ClientCodec.request(new ClientRequest.MemberAdd(1, 4, "no-port", false)));
        assertThrows(IllegalArgumentException.class, () -> ClientCodec.request(new ClientRequest.MemberAdd(1, 4, "h".repeat(256) + ":1", false)));
        assertThrows(IllegalArgumentException.class, () -> ClientCodec.response(new ClientResponse.Members(1, 1, 1, 1, 1,
                List.of(new MemberInfo(2, "a:1", false), new MemberInfo(1, "b:1", false)))));
        assertThrows(IllegalArgumentException.class, () -> ClientCodec.response(new ClientResponse.Members(1, 1, 1, 1, 1,
                List.of(new MemberInfo(1, "a:1", false), new MemberInfo(1, "b:1", false)))));
        List<MemberInfo> tooMany = new ArrayList<>();
        for (int id = 1; id <= ClientCodec.MEMBERS_MAX + 1; id++) tooMany.add(new MemberInfo(id, "h:" + id, false));
        assertThrows(IllegalArgumentException.class, () -> ClientCodec.response(new ClientResponse.Members(1, 1, 1, 1, 1, tooMany)));
    }

    @Test
    void aMembersFrameSentAsARequestIsAnUnknownType() {
        FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.MEMBERS, ByteBuffer.wrap(body(
                ClientCodec.response(threeMembers())))));
        assertEquals(ErrorCode.UNKNOWN_TYPE, e.code());
        e = assertThrows(FrameException.class, () -> ClientCodec.decodeResponse(FrameType.MEMBER_LIST, ByteBuffer.allocate(8)));
        assertEquals(ErrorCode.UNKNOWN_TYPE, e.code());
    }

    // ------------------------------------------------------------------ addresses

    @Test
    void addressesAreHostColonPort() {
        for (String ok : List.of("127.0.0.1:2379", "localhost:1", "node-1.example.com:65535", "[::1]:2379", "::1:2379", "[fe80::1%eth0]:80", "é:1",
                "h".repeat(MemberInfo.ADDRESS_BYTES_MAX - 2) + ":1")) {
            assertNull(MemberInfo.addressProblem(ok), ok);
        }
        assertEquals("an address of 256 bytes is over the limit of 255", MemberInfo.addressProblem("h".repeat(MemberInfo.ADDRESS_BYTES_MAX - 2) + ":12"));
        assertEquals("::1", new MemberInfo(1, "[::1]:2379", false).host());
        assertEquals("::1", new MemberInfo(1, "::1:2379", false).host());
        assertEquals(2379, new MemberInfo(1, "[::1]:2379", false).port());
        assertEquals("127.0.0.1", new MemberInfo(1, "127.0.0.1:7001", false).host());
    }

    @Test
    void aClusterConfigWhoseAddressNoMembersAnswerCouldListIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterConfig.parse("1 a,b 2379\n", "test"));
        assertEquals("test:1: address \"a,b:2379\": the host has a space, control character, comma or slash", e.getMessage());
        assertEquals(2, ClusterConfig.parse("1 ::1 2379\n2 [::1] 2380\n", "test").members().size());
    }

    private static byte[] memberAddBody(byte[] address) {
        return ByteBuffer.allocate(8 + 4 + 1 + 2 + address.length).putLong(1).putInt(4).put((byte) 0).putShort((short) address.length).put(address).array();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) b.put(p);
        return b.array();
    }
}
