package io.raftkv.server.metrics;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The metrics port's HTTP server on its own: answers, refusals of what is not a request or is too large, and its bounds
 * (one thread, one connection at a time, a deadline per exchange). On an ephemeral loopback port.
 */
class HttpEndpointTest {

    private static final long DEADLINE_MS = 500;
    private static final String THREAD = "test-http-endpoint";

    private HttpEndpoint endpoint;
    private int port;
    private final List<String> warnings = new ArrayList<>();

    @BeforeEach
    void start() throws IOException {
        endpoint = new HttpEndpoint(new InetSocketAddress("127.0.0.1", 0), new HttpEndpoint.Limits(1024, DEADLINE_MS, 4),
                Map.of("/a", () -> HttpEndpoint.Response.text(200, "a\n"), "/boom", () -> {
                    throw new IllegalStateException("boom");
                }), THREAD, warnings::add);
        port = endpoint.address().getPort();
        endpoint.start();
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    @Test
    void answersGetAndHeadOfItsPathsAndRefusesTheRest() throws IOException {
        HttpProbe.Answer a = HttpProbe.get(port, "/a?x=1");
        assertEquals(200, a.status());
        assertEquals("a\n", a.body());
        assertTrue(a.head().contains("Content-Length: 2"), a.head());
        assertTrue(a.head().contains("Connection: close"), a.head());
        HttpProbe.Answer head = HttpProbe.send(port, "HEAD /a HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertEquals(200, head.status());
        assertEquals("", head.body());
        assertEquals(404, HttpProbe.get(port, "/nothing").status());
        assertEquals(405, HttpProbe.send(port, "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc".getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(500, HttpProbe.get(port, "/boom").status());
        assertEquals(1, warnings.size(), "a route that throws is logged: " + warnings);
    }

    @Test
    void malformedAndOversizedRequestsGet4xxAndTheNextRequestIsServed() throws IOException {
        assertEquals(400, HttpProbe.send(port, "HELLO\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(400, HttpProbe.send(port, "GET a HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).status());
        assertEquals(400, HttpProbe.send(port, "GET /a SMTP/1.0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1)).status());
        byte[] binary = new byte[4096];
        new java.util.Random(7).nextBytes(binary);
        for (int i = 0; i < binary.length; i++) if (binary[i] == '\n') binary[i] = 0;
        assertEquals(431, HttpProbe.send(port, binary).status(), "no end of headers within headBytesMax");
        String huge = "GET /a HTTP/1.1\r\nX-Filler: " + "x".repeat(100_000) + "\r\n\r\n";
        assertEquals(431, HttpProbe.send(port, huge.getBytes(StandardCharsets.ISO_8859_1)).status());
        HttpProbe.Answer truncated;
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("GET /a HTT".getBytes(StandardCharsets.ISO_8859_1));
            s.shutdownOutput();
            truncated = HttpProbe.read(s.getInputStream());
        }
        assertEquals(400, truncated.status(), "the request ended before its headers");
        assertEquals(200, HttpProbe.get(port, "/a").status());
    }

    @Test
    void aSlowClientHoldsTheOneSlotOnlyUntilTheDeadline() throws Exception {
        long started = System.nanoTime();
        try (Socket slow = new Socket()) {
            slow.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            slow.setSoTimeout(10_000);
            slow.getOutputStream().write("GET /a HTTP/1.1\r\n".getBytes(StandardCharsets.ISO_8859_1)); // and never the blank line
            CompletableFuture<HttpProbe.Answer> next = CompletableFuture.supplyAsync(() -> {
                try {
                    return HttpProbe.get(port, "/a");
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals(408, HttpProbe.read(slow.getInputStream()).status());
            assertEquals(200, next.get(10, TimeUnit.SECONDS).status());
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            assertTrue(tookMs >= DEADLINE_MS * 8 / 10, "the second request waited for the first one's deadline: " + tookMs + " ms");
        }
    }

    @Test
    void manyConnectionsAtOnceAreServedOneAfterTheOtherByOneThread() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 8; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
                idle.add(s);
            }
            assertEquals(1, Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(THREAD)).count(),
                    "one thread serves them all");
        } catch (IOException backlogFull) {
            // Past the backlog the kernel may not answer a connect in time: that is the bound at work.
        } finally {
            for (Socket s : idle) s.close();
        }
        // The closed ones end at once (the server reads their end), so a request now is served.
        assertEquals(200, HttpProbe.get(port, "/a").status());
    }

    @Test
    void closeStopsTheThreadAndFreesThePort() throws Exception {
        endpoint.close();
        assertFalse(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(THREAD) && t.isAlive()));
        assertThrows(ConnectException.class, () -> HttpProbe.get(port, "/a"));
    }
}
