package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The client library's own contract, against a fake node that accepts requests and never answers. */
class RaftKvClientTest {

    /** HELLO_CLIENT: length, type, version. */
    private static final int HELLO_FRAME_BYTES = 4 + 1 + 4;
    /** A PUT of a 1-byte key and a 1-byte value. */
    private static final int PUT_FRAME_BYTES = ClientCodec.PUT_FRAME_OVERHEAD_BYTES + 1 + 1;

    @Test
    void closingTheClientFailsWhatIsInFlightInsteadOfLeavingItHanging() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress("127.0.0.1", 0));
            AtomicLong received = new AtomicLong();
            Thread sink = new Thread(() -> {
                try (Socket s = silent.accept(); InputStream in = s.getInputStream()) {
                    byte[] buffer = new byte[4096];
                    for (int n; (n = in.read(buffer)) >= 0; ) received.addAndGet(n);
                } catch (Exception ignored) {
                    // The test is over.
                }
            });
            sink.setDaemon(true);
            sink.start();
            RaftKvClient client = new RaftKvClient(List.of(new InetSocketAddress("127.0.0.1", silent.getLocalPort())), Duration.ofSeconds(60));
            CompletableFuture<Void> write = client.putAsync(new byte[]{1}, new byte[]{2});
            CompletableFuture<?> read = client.getAsync(new byte[]{1}, false);
            // Close only once the PUT is on the wire: closed before it was sent, it was surely not applied, and the
            // client rightly says UNAVAILABLE (this test once failed that way: the close won the race).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (received.get() < HELLO_FRAME_BYTES + PUT_FRAME_BYTES) {
                if (System.nanoTime() > deadline) throw new AssertionError("the PUT never reached the fake node: " + received.get() + " bytes");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            client.close();
            ExecutionException w = assertThrows(ExecutionException.class, () -> write.get(10, TimeUnit.SECONDS));
            assertEquals(RaftKvException.Kind.OUTCOME_UNKNOWN, assertInstanceOf(RaftKvException.class, w.getCause()).kind(),
                    "a write that may have been sent has an unknown outcome");
            ExecutionException r = assertThrows(ExecutionException.class, () -> read.get(10, TimeUnit.SECONDS));
            assertEquals(RaftKvException.Kind.UNAVAILABLE, assertInstanceOf(RaftKvException.class, r.getCause()).kind());
            CompletableFuture<Void> late = client.putAsync(new byte[]{1}, new byte[]{2});
            assertThrows(ExecutionException.class, () -> late.get(10, TimeUnit.SECONDS), "a closed client refuses new work at once");
        }
    }
}
