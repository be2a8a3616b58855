package io.raftkv.bench.jmh;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.net.PeerCodec;
import io.raftkv.protocol.BodyWriter;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.FrameDecoder;
import io.raftkv.protocol.FrameType;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Message;
import io.raftkv.raft.MessageType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Frame encode and decode ({@link ClientCodec}, {@link PeerCodec}, {@link FrameDecoder}), one frame per operation:
 * <ul>
 *   <li>a RAFT frame carrying an APPEND of {@value #ENTRIES_PER_APPEND} entries of {@value #ENTRY_BYTES} B
 *       (the leader's batch to one follower),</li>
 *   <li>a client PUT request (16 B key, 256 B value) and its OK response.</li>
 * </ul>
 * Encoding allocates the frame's buffer, as the node does. Decoding goes the way of a connection's read: the
 * frame's bytes are copied into the reused decoder's read buffer (standing in for {@code channel.read}), the
 * decoder cuts the frame out and the body is decoded into its record, entries and byte arrays copied out.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBenchmark {

    static final int ENTRIES_PER_APPEND = 16;
    static final int ENTRY_BYTES = 256;
    static final int KEY_BYTES = 16;
    static final int VALUE_BYTES = 256;
    /** The node's default frame limit (NodeOptions.frameBytesMax). */
    static final int FRAME_BYTES_MAX = 4 << 20;

    private Message append;
    private ClientRequest.Put put;
    private ClientResponse.Ok ok;
    private ClientResponse.Value value;
    private final BodyWriter scratch = new BodyWriter(64 * 1024);
    private final ByteBuffer direct = ByteBuffer.allocateDirect(64 * 1024);

    private ByteBuffer appendFrame;
    private ByteBuffer putFrame;
    private ByteBuffer okFrame;

    private FrameDecoder decoder;
    private final LastFrame last = new LastFrame();

    /** Decodes each frame the decoder cuts out and keeps the result, so the benchmark can return it. */
    private static final class LastFrame implements FrameDecoder.Handler {
        Object decoded;

        @Override
        public void onFrame(byte type, ByteBuffer body) {
            decoded = switch (type) {
                case FrameType.RAFT -> PeerCodec.decodeRaft(body);
                case FrameType.PUT -> ClientCodec.decodeRequest(type, body);
                default -> ClientCodec.decodeResponse(type, body);
            };
        }
    }

    @Setup
    public void setUp() {
        Random random = new Random(42);
        long term = 7;
        long prevIndex = 1_000;
        List<Entry> entries = new ArrayList<>(ENTRIES_PER_APPEND);
        for (int i = 1; i <= ENTRIES_PER_APPEND; i++) entries.add(new Entry(term, prevIndex + i, bytes(random, ENTRY_BYTES)));
        append = new Message(MessageType.APPEND, 1, 2, term, term, prevIndex, entries, prevIndex, false, 0, 0, 0);
        put = new ClientRequest.Put(123_456, bytes(random, KEY_BYTES), bytes(random, VALUE_BYTES));
        ok = new ClientResponse.Ok(123_456, new ResponseHeader(1_000_000, 1, term));
        value = new ClientResponse.Value(123_456, new ResponseHeader(1_000_000, 1, term),
                new KeyValue(bytes(random, KEY_BYTES), 900_000, 999_999, 3, bytes(random, VALUE_BYTES), 0));

        appendFrame = PeerCodec.raft(append);
        putFrame = ClientCodec.request(put);
        okFrame = ClientCodec.response(ok);
        decoder = new FrameDecoder(FRAME_BYTES_MAX);

        // Check the round trip once, so a broken codec fails the run instead of measuring garbage.
        if (!(decode(appendFrame) instanceof Message m) || m.entries().size() != ENTRIES_PER_APPEND) {
            throw new IllegalStateException("APPEND frame did not decode to " + ENTRIES_PER_APPEND + " entries");
        }
        if (!(decode(putFrame) instanceof ClientRequest.Put p) || p.value().length != VALUE_BYTES) {
            throw new IllegalStateException("PUT frame did not decode");
        }
        if (!(decode(okFrame) instanceof ClientResponse.Ok)) throw new IllegalStateException("OK frame did not decode");
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Copies one frame into the decoder's read buffer, as a channel read would, and decodes it. */
    private Object decode(ByteBuffer frame) {
        last.decoded = null;
        decoder.readBuffer().put(frame.duplicate());
        decoder.decode(last);
        return last.decoded;
    }

    @Benchmark
    public ByteBuffer encodeRaftAppend() {
        return PeerCodec.raft(append);
    }

    @Benchmark
    public Object decodeRaftAppend() {
        return decode(appendFrame);
    }

    @Benchmark
    public ByteBuffer encodePutRequest() {
        return ClientCodec.request(put);
    }

    @Benchmark
    public Object decodePutRequest() {
        return decode(putFrame);
    }

    @Benchmark
    public ByteBuffer encodeOkResponse() {
        return ClientCodec.response(ok);
    }

    @Benchmark
    public Object decodeOkResponse() {
        return decode(okFrame);
    }

    /** A get's answer on its way to the socket, as a node sent it until 2026-12-01: an array of its own, copied to direct memory. */
    @Benchmark
    public ByteBuffer encodeValueAndCopyOut() {
        return direct.clear().put(ClientCodec.response(value));
    }

    /** The same as a node sends it now: encoded into a reused array, copied into a direct chunk ({@code Connection.sendCopy}). */
    @Benchmark
    public ByteBuffer encodeValueInScratchAndCopyOut() {
        ByteBuffer frame = ClientCodec.response(scratch, value);
        return direct.clear().put(0, frame, frame.position(), frame.remaining());
    }

    /** An APPEND on its way to a follower's socket, as a node sent it until 2026-12-01: an array of its own, copied to direct memory. */
    @Benchmark
    public ByteBuffer encodeRaftAppendAndCopyOut() {
        return direct.clear().put(PeerCodec.raft(append));
    }

    /** The same as a node sends it now: encoded into the loop's reused array, copied into a direct chunk. */
    @Benchmark
    public ByteBuffer encodeRaftAppendInScratchAndCopyOut() {
        ByteBuffer frame = PeerCodec.raft(scratch, append);
        return direct.clear().put(0, frame, frame.position(), frame.remaining());
    }
}
