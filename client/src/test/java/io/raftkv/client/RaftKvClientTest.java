package io.raftkv.client;

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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The client library's own contract, against a fake node that accepts requests and never answers. */
class RaftKvClientTest {

    @Test
    void closingTheClientFailsWhatIsInFlightInsteadOfLeavingItHanging() throws Exception {
        try (ServerSocket silent = new ServerSocket()) {
            silent.bind(new InetSocketAddress("127.0.0.1", 0));
            Thread sink = new Thread(() -> {
                try (Socket s = silent.accept(); InputStream in = s.getInputStream()) {
                    in.transferTo(java.io.OutputStream.nullOutputStream());
                } catch (Exception ignored) {
                    // The test is over.
                }
            });
            sink.setDaemon(true);
            sink.start();
            RaftKvClient client = new RaftKvClient(List.of(new InetSocketAddress("127.0.0.1", silent.getLocalPort())), Duration.ofSeconds(60));
            CompletableFuture<Void> write = client.putAsync(new byte[]{1}, new byte[]{2});
            CompletableFuture<?> read = client.getAsync(new byte[]{1}, false);
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
