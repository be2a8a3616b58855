package io.raftkv.client;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * raftkvctl pointed at nothing, or at something that is not a raftkv node: it says so at once, not after its timeout
 * (30 s here), and exits 1. Ports from 23800 to 23849 (nothing else of the suite uses them).
 */
class RaftKvCtlConnectionTest {

    private static final int REFUSING_PORT = 23800;
    private static final int ALSO_REFUSING_PORT = 23801;
    private static final int HTTP_PORT = 23802;
    /** Far below the 30 s timeout given: the failure must not wait for it. */
    private static final long FAST_MS = 5_000;

    private record Result(int code, String out, String err, long elapsedMs) { }

    @Test
    void everyEndpointRefusingFailsAtOnceNamingThem() throws IOException {
        assertNothingListens(REFUSING_PORT);
        assertNothingListens(ALSO_REFUSING_PORT);
        String endpoints = "127.0.0.1:" + REFUSING_PORT + ",127.0.0.1:" + ALSO_REFUSING_PORT;
        for (String[] command : new String[][] {{"get", "k"}, {"put", "k", "v"}, {"lease", "grant", "10"}, {"member", "list"}}) {
            Result r = ctl(endpoints, command);
            assertEquals(1, r.code(), r.toString());
            assertEquals("error: cluster unavailable: no raftkv node reachable at " + endpoints + " (connection refused)\n", r.err());
            assertEquals("", r.out());
            assertTrue(r.elapsedMs() < FAST_MS, "failed after " + r.elapsedMs() + " ms, not at once");
        }
    }

    @Test
    void anHttpServerIsNotARaftkvNode() throws Exception {
        try (ServerSocket http = new ServerSocket(HTTP_PORT, 50, InetAddress.getLoopbackAddress())) {
            Thread server = new Thread(() -> answerBadRequest(http), "http-" + HTTP_PORT);
            server.setDaemon(true);
            server.start();
            String endpoint = "127.0.0.1:" + HTTP_PORT;
            for (String[] command : new String[][] {{"get", "k"}, {"put", "k", "v"}}) {
                Result r = ctl(endpoint, command);
                assertEquals(1, r.code(), r.toString());
                assertEquals("error: cluster unavailable: not a raftkv node at " + endpoint + "\n", r.err());
                assertTrue(r.elapsedMs() < FAST_MS, "failed after " + r.elapsedMs() + " ms, not at once");
            }
            Result mixed = ctl(endpoint + ",127.0.0.1:" + REFUSING_PORT, "get", "k");
            assertEquals("error: cluster unavailable: no raftkv node reachable at 127.0.0.1:" + REFUSING_PORT
                    + " (connection refused); not a raftkv node at " + endpoint + "\n", mixed.err());
            Result health = ctl(endpoint, "endpoint", "health");
            assertEquals(1, health.code(), health.toString());
            assertEquals(endpoint + " is unhealthy: failed to commit proposal: not a raftkv node at " + endpoint + "\n", health.out());
            assertEquals("error: unhealthy cluster\n", health.err());
        }
    }

    /** What answers any request it does not understand: an HTTP server's 400, then it closes the connection. */
    private static void answerBadRequest(ServerSocket http) {
        while (!http.isClosed()) {
            try (Socket s = http.accept(); OutputStream out = s.getOutputStream()) {
                out.write("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // Closed by the test, or a client that left first.
            }
        }
    }

    private static void assertNothingListens(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            throw new AssertionError("something listens on " + port + ": the test needs it free");
        } catch (IOException expected) {
            // Refused: free.
        }
    }

    private static Result ctl(String endpoints, String... command) {
        String[] args = new String[command.length + 4];
        args[0] = "--endpoints";
        args[1] = endpoints;
        args[2] = "--timeout";
        args[3] = "30";
        System.arraycopy(command, 0, args, 4, command.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(new byte[0]), o, e, false);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    }
}
