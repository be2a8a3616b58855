package io.raftkv.net;

import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameDecoder;
import io.raftkv.protocol.FrameException;
import io.raftkv.protocol.FrameType;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CodecTest {

    private record Frame(byte type, byte[] body) { }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Frame> decodeAll(FrameDecoder decoder, ByteBuffer input) {
        List<Frame> frames = new ArrayList<>();
        decoder.feed(input, (type, body) -> {
            byte[] copy = new byte[body.remaining()];
            body.get(copy);
            frames.add(new Frame(type, copy));
        });
        return frames;
    }

    private static ByteBuffer concat(List<ByteBuffer> frames) {
        int size = frames.stream().mapToInt(ByteBuffer::remaining).sum();
        ByteBuffer all = ByteBuffer.allocate(size);
        frames.forEach(f -> all.put(f.duplicate()));
        return all.flip();
    }

    private static Message sampleMessage() {
        return new Message(MessageType.APPEND, 1, 2, 7, 6, 41, List.of(new Entry(7, 42, bytes("hello")), new Entry(7, 43, new byte[0])),
                40, true, 5, 30, 99);
    }

    @Test
    void raftMessageRoundTrips() {
        Message m = sampleMessage();
        ByteBuffer frame = PeerCodec.raft(m);
        List<Frame> frames = decodeAll(new FrameDecoder(1 << 20), frame);
        assertEquals(1, frames.size());
        assertEquals(FrameType.RAFT, frames.get(0).type());
        Message back = PeerCodec.decodeRaft(ByteBuffer.wrap(frames.get(0).body()));
        assertEquals(m.toString(), back.toString());
        assertEquals(m.hintIndex(), back.hintIndex());
        assertEquals(m.context(), back.context());
        assertArrayEquals(m.entries().get(0).data(), back.entries().get(0).data());
        assertEquals(m.entries().get(1).index(), back.entries().get(1).index());
    }

    /** The loop encodes every message into one scratch array: a frame there is byte for byte the frame of its own. */
    @Test
    void aRaftFrameEncodedInScratchIsTheFrameOfItsOwnAfterALargerOne() {
        BodyWriter scratch = new BodyWriter(16);
        Message large = new Message(MessageType.APPEND, 2, 3, 7, 6, 41, List.of(new Entry(7, 42, new byte[200_000])), 40, false, 0, 0, 0);
        assertEquals(PeerCodec.raft(large), PeerCodec.raft(scratch, large));
        ByteBuffer view = PeerCodec.raft(scratch, sampleMessage());
        ByteBuffer own = PeerCodec.raft(sampleMessage());
        assertEquals(own, view);
        // [length u32 = 1 + body][type RAFT][message type][from u32][to u32][term u64]...: docs/protocol.md
        assertEquals(own.remaining() - 4, own.getInt(0));
        assertEquals(FrameType.RAFT, own.get(4));
        assertEquals(MessageType.APPEND.code(), own.get(5));
        assertEquals(1, own.getInt(6));
        assertEquals(2, own.getInt(10));
        assertEquals(7, own.getLong(14));
    }

    @Test
    void requestsAndResponsesRoundTrip() {
        RangeRequest range = RangeRequest.prefix(bytes("app/")).withLimit(10).atRevision(7)
                .sortedBy(RangeRequest.SortTarget.MOD, RangeRequest.SortOrder.DESCEND).keysOnly(true).serializable(true);
        TxnRequest txn = new TxnRequest(
                List.of(Compare.modRevision(bytes("k"), Compare.Result.EQUAL, 5), Compare.value(bytes("a"), Compare.Result.NOT_EQUAL, bytes("x"))
                        .withRangeEnd(bytes("b"))),
                List.of(new TxnOp.Put(bytes("k"), bytes("v"), true), new TxnOp.DeleteRange(bytes("d"), bytes("e"), false)),
                List.of(new TxnOp.Range(RangeRequest.key(bytes("k")))));
        List<ClientRequest> requests = List.of(new ClientRequest.Put(1, bytes("k"), bytes("v")), new ClientRequest.Delete(2, bytes("k")),
                new ClientRequest.Get(3, bytes("k"), true), new ClientRequest.Get(4, new byte[0], false), new ClientRequest.Status(5),
                new ClientRequest.Range(6, range), new ClientRequest.Txn(7, txn), new ClientRequest.Compact(8, 42));
        ResponseHeader h = new ResponseHeader(12, 3, 4);
        KeyValue kv = new KeyValue(bytes("k"), 2, 9, 3, bytes("v"));
        List<ClientResponse> responses = List.of(new ClientResponse.Ok(1, h), new ClientResponse.Value(2, h, kv), new ClientResponse.NotFound(3, h),
                new ClientResponse.NotLeader(4, 2, "127.0.0.1", 2380), new ClientResponse.Error(5, ErrorCode.TOO_LARGE, "too big"),
                new ClientResponse.StatusResult(6, 1, "LEADER", 3, 1, 10, 9, 4, 1234567),
                new ClientResponse.RangeResult(7, h, List.of(kv, kv), true, 5),
                new ClientResponse.TxnResult(8, h, false, List.of(new OpResult.Range(List.of(kv), false, 1), new OpResult.Put(kv),
                        new OpResult.Put(null), new OpResult.DeleteRange(2, List.of(kv)))));
        FrameDecoder decoder = new FrameDecoder(1 << 20);
        List<Frame> frames = decodeAll(decoder, concat(requests.stream().map(ClientCodec::request).toList()));
        assertEquals(requests.size(), frames.size());
        for (int i = 0; i < requests.size(); i++) {
            ClientRequest back = ClientCodec.decodeRequest(frames.get(i).type(), ByteBuffer.wrap(frames.get(i).body()));
            assertEquals(requests.get(i).getClass(), back.getClass());
            // Encoded again, the decoded request is the same bytes: every field survived.
            assertArrayEquals(ClientCodec.request(requests.get(i)).array(), ClientCodec.request(back).array(), requests.get(i).toString());
        }
        ClientRequest.Get get = (ClientRequest.Get) ClientCodec.decodeRequest(frames.get(2).type(), ByteBuffer.wrap(frames.get(2).body()));
        assertTrue(get.serializable());
        frames = decodeAll(decoder, concat(responses.stream().map(ClientCodec::response).toList()));
        for (int i = 0; i < responses.size(); i++) {
            ClientResponse back = ClientCodec.decodeResponse(frames.get(i).type(), ByteBuffer.wrap(frames.get(i).body()));
            assertEquals(responses.get(i).getClass(), back.getClass());
            assertArrayEquals(ClientCodec.response(responses.get(i)).array(), ClientCodec.response(back).array(), responses.get(i).toString());
        }
    }

    @Test
    void malformedKeyValueBodiesAreRefused() {
        // A RANGE whose flags byte has an unknown bit, a TXN with an unknown compare target, a count that cannot fit.
        byte[] range = ClientCodec.request(new ClientRequest.Range(1, RangeRequest.key(bytes("k")))).array();
        range[range.length - 1] = 8;
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(FrameException.class,
                () -> ClientCodec.decodeRequest(FrameType.RANGE, ByteBuffer.wrap(range, 5, range.length - 5))).code());
        byte[] txn = ClientCodec.request(new ClientRequest.Txn(1, new TxnRequest(List.of(Compare.version(bytes("k"), Compare.Result.EQUAL, 1)),
                List.of(), List.of()))).array();
        txn[5 + 8 + 4] = 9; // the first compare's target
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(FrameException.class,
                () -> ClientCodec.decodeRequest(FrameType.TXN, ByteBuffer.wrap(txn, 5, txn.length - 5))).code());
        ByteBuffer huge = ByteBuffer.allocate(8 + 4).putLong(1).putInt(1_000_000).flip();
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.TXN, huge)).code());
    }

    @Test
    void framesDeliveredOneByteAtATime() {
        List<ByteBuffer> sent = List.of(PeerCodec.raft(sampleMessage()), ClientCodec.request(new ClientRequest.Put(9, bytes("key"), new byte[5000])), ClientCodec.helloClient());
        ByteBuffer all = concat(sent);
        FrameDecoder decoder = new FrameDecoder(1 << 20);
        List<Frame> frames = new ArrayList<>();
        while (all.hasRemaining()) {
            ByteBuffer one = ByteBuffer.wrap(new byte[]{all.get()});
            frames.addAll(decodeAll(decoder, one));
        }
        assertEquals(List.of(FrameType.RAFT, FrameType.PUT, FrameType.HELLO_CLIENT), frames.stream().map(Frame::type).toList());
        ClientRequest.Put put = (ClientRequest.Put) ClientCodec.decodeRequest(FrameType.PUT, ByteBuffer.wrap(frames.get(1).body()));
        assertEquals(5000, put.value().length);
    }

    @Test
    void manyFramesInOneBufferAndRandomSplits() {
        Random random = new Random(7);
        List<ByteBuffer> sent = new ArrayList<>();
        for (int i = 0; i < 500; i++) sent.add(ClientCodec.request(new ClientRequest.Put(i, bytes("k" + i), new byte[random.nextInt(3000)])));
        ByteBuffer all = concat(sent);
        FrameDecoder decoder = new FrameDecoder(1 << 16);
        List<Frame> frames = new ArrayList<>();
        while (all.hasRemaining()) {
            int n = Math.min(all.remaining(), 1 + random.nextInt(9000));
            ByteBuffer piece = all.slice();
            piece.limit(n);
            all.position(all.position() + n);
            frames.addAll(decodeAll(decoder, piece));
        }
        assertEquals(500, frames.size());
        for (int i = 0; i < 500; i++) assertEquals(i, ClientCodec.decodeRequest(frames.get(i).type(), ByteBuffer.wrap(frames.get(i).body())).requestId());
    }

    @Test
    void oversizedFrameIsRefusedBeforeItsBodyArrives() {
        FrameDecoder decoder = new FrameDecoder(1024);
        ByteBuffer header = ByteBuffer.allocate(5).putInt(1025).put(FrameType.PUT).flip();
        FrameException e = assertThrows(FrameException.class, () -> decodeAll(decoder, header));
        assertEquals(ErrorCode.TOO_LARGE, e.code());
        ByteBuffer huge = ByteBuffer.allocate(4).putInt(0xFFFFFFFF).flip();
        assertEquals(ErrorCode.TOO_LARGE, assertThrows(FrameException.class, () -> decodeAll(new FrameDecoder(1024), huge)).code());
        ByteBuffer zero = ByteBuffer.allocate(4).putInt(0).flip();
        assertEquals(ErrorCode.BAD_REQUEST, assertThrows(FrameException.class, () -> decodeAll(new FrameDecoder(1024), zero)).code());
    }

    @Test
    void frameAtTheLimitIsAccepted() {
        ByteBuffer value = ClientCodec.response(new ClientResponse.Value(1, new ResponseHeader(1, 1, 1), new KeyValue(bytes("k"), 1, 1, 1, new byte[1000])));
        FrameDecoder decoder = new FrameDecoder(value.remaining() - 4);
        List<Frame> frames = decodeAll(decoder, value);
        assertEquals(1, frames.size());
    }

    @Test
    void truncatedOrPaddedBodiesAreRejected() {
        ByteBuffer put = ClientCodec.request(new ClientRequest.Put(1, bytes("key"), bytes("value")));
        byte[] body = new byte[put.remaining() - 5];
        put.position(5);
        put.get(body);
        for (int cut = 0; cut < body.length; cut++) {
            ByteBuffer shorter = ByteBuffer.wrap(body, 0, cut);
            FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.PUT, shorter.slice()), "cut at " + cut);
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        ByteBuffer longer = ByteBuffer.allocate(body.length + 1).put(body).put((byte) 0).flip();
        assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.PUT, longer));
        ByteBuffer lying = ByteBuffer.allocate(8 + 4).putLong(1).putInt(Integer.MAX_VALUE).flip();
        assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.DELETE, lying));
        ByteBuffer manyEntries = PeerCodec.raft(new Message(MessageType.APPEND, 1, 2, 1, 0, 0, List.of(), 0, false, 0, 0, 0));
        manyEntries.putInt(manyEntries.limit() - 4, 1_000_000);
        manyEntries.position(5);
        assertThrows(FrameException.class, () -> PeerCodec.decodeRaft(manyEntries.slice()));
    }

    @Test
    void unknownTypeIsReported() {
        FrameException e = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest((byte) 0x7E, ByteBuffer.allocate(8)));
        assertEquals(ErrorCode.UNKNOWN_TYPE, e.code());
        ByteBuffer unknownRaftType = PeerCodec.raft(sampleMessage());
        unknownRaftType.put(5, (byte) 99);
        unknownRaftType.position(5);
        assertInstanceOf(FrameException.class, assertThrows(FrameException.class, () -> PeerCodec.decodeRaft(unknownRaftType.slice())));
    }
}
