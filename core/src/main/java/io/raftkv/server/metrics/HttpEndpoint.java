package io.raftkv.server.metrics;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A small HTTP/1.1 server for the node's metrics and health (docs/metrics.md): GET and HEAD of a few paths, on one
 * thread of its own, one connection at a time, every one closed after its answer.
 *
 * <p>Everything it takes is bounded: connections waiting to be accepted ({@code backlog}), the request's line and
 * headers ({@code headBytesMax}; a body is never read), and the time one exchange may take, reading and writing
 * ({@code deadlineMs}): a client that sends slowly or reads slowly loses its connection at the deadline and the next
 * one is served. Sockets are non-blocking under a selector, so no read or write outlives the deadline. A request past
 * a limit, or that is not HTTP, is answered 4xx (400, 405, 408, 431) when the socket still takes it.
 *
 * <p>The answers come from {@code routes}, called on this thread: they must only read what other threads publish
 * (NodeMetrics), never reach into the node's loop. The JDK's com.sun.net.httpserver was the other candidate: its
 * time limits are JVM-wide system properties read once, and JDK 17's bounds the number of request headers, not their
 * bytes; this class is about as long as the configuration that would need.
 */
public final class HttpEndpoint implements AutoCloseable {

    /** {@code backlog}: connections the kernel holds while one is served; past it, it refuses (or drops) them. */
    public record Limits(int headBytesMax, long deadlineMs, int backlog) {
        public static final Limits DEFAULTS = new Limits(8192, 2_000, 16);

        public Limits {
            if (headBytesMax < 64 || deadlineMs < 1 || backlog < 1) throw new IllegalArgumentException(toString());
        }
    }

    /** An answer: status, content type, body. */
    public record Response(int status, String contentType, byte[] body) {
        public static Response text(int status, String text) {
            return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
        }
    }

    /** After answering, what the client still sends is read and dropped for this long at most, so that closing does not reset the answer away. */
    private static final long DRAIN_MS_MAX = 500;
    private static final int DRAIN_BYTES_MAX = 1 << 20;
    private static final long ACCEPT_RETRY_MS = 100;

    private final ServerSocketChannel server;
    private final Selector selector;
    private final Limits limits;
    private final Map<String, Supplier<Response>> routes;
    private final Consumer<String> warn;
    private final ByteBuffer head;
    private final ByteBuffer drain = ByteBuffer.allocate(8192);
    private final Thread thread;
    private volatile boolean running = true;

    /** Binds now (a port in use fails the caller at once); serves from {@link #start()}. */
    public HttpEndpoint(InetSocketAddress address, Limits limits, Map<String, Supplier<Response>> routes, String threadName, Consumer<String> warn)
            throws IOException {
        this.limits = limits;
        this.routes = Map.copyOf(routes);
        this.warn = warn;
        this.head = ByteBuffer.allocate(limits.headBytesMax());
        this.server = ServerSocketChannel.open();
        try {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            server.bind(address, limits.backlog());
            this.selector = Selector.open();
        } catch (IOException e) {
            server.close();
            throw e;
        }
        this.thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
    }

    public InetSocketAddress address() throws IOException {
        return (InetSocketAddress) server.getLocalAddress();
    }

    public void start() {
        thread.start();
    }

    /** Stops serving; an exchange under way ends at once. Waits for the thread at most a deadline. */
    @Override
    public void close() {
        running = false;
        try {
            server.close();
        } catch (IOException ignored) {
            // Closing: nothing left to serve.
        }
        selector.wakeup();
        try {
            thread.join(limits.deadlineMs() + DRAIN_MS_MAX);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!thread.isAlive()) {
            try {
                selector.close(); // never started, or done: the thread closed it already, and closing twice is harmless
            } catch (IOException ignored) {
                // Closing.
            }
        }
    }

    private void run() {
        try {
            while (running) {
                SocketChannel c;
                try {
                    c = server.accept();
                } catch (ClosedChannelException e) {
                    return;
                } catch (IOException e) {
                    // Out of file descriptors, say: the node goes on, and so does this thread, a little later.
                    warn.accept("metrics endpoint: accept failed: " + e.getMessage());
                    TimeUnit.MILLISECONDS.sleep(ACCEPT_RETRY_MS);
                    continue;
                }
                try (c) {
                    serve(c);
                } catch (IOException e) {
                    // The client went away or broke the exchange: its problem, not the node's.
                } catch (RuntimeException e) {
                    // A bug here must not end the endpoint, nor reach the node: said, and the next client is served.
                    warn.accept("metrics endpoint: " + e);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            try {
                selector.close();
            } catch (IOException ignored) {
                // Closing.
            }
        }
    }

    private void serve(SocketChannel c) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(limits.deadlineMs());
        c.configureBlocking(false);
        SelectionKey key = c.register(selector, SelectionKey.OP_READ);
        try {
            Response response = readRequest(c, key, deadline);
            if (response == null) return;
            if (!write(c, key, encode(response), deadline)) return;
            c.shutdownOutput();
            drain(c, key, Math.min(deadline, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRAIN_MS_MAX)));
        } finally {
            key.cancel();
            selector.selectNow(); // deregisters the key, so the channel really closes
        }
    }

    /** The answer to the request on {@code c}, or null when the client sent nothing and left. */
    private Response readRequest(SocketChannel c, SelectionKey key, long deadline) throws IOException {
        head.clear();
        while (true) {
            int end = headEnd();
            if (end >= 0) return answer(new String(head.array(), 0, end, StandardCharsets.ISO_8859_1));
            if (!head.hasRemaining()) return Response.text(431, "request line and headers over " + limits.headBytesMax() + " bytes\n");
            int n = c.read(head);
            if (n < 0) return head.position() == 0 ? null : Response.text(400, "the request ended before its headers did\n");
            if (n == 0 && !await(key, SelectionKey.OP_READ, deadline)) return Response.text(408, "no whole request within " + limits.deadlineMs() + " ms\n");
        }
    }

    /** Where the request line and headers end (before the blank line), or -1 while they have not. */
    private int headEnd() {
        byte[] b = head.array();
        for (int i = 0; i < head.position(); i++) {
            if (b[i] != '\n') continue;
            if (i + 1 < head.position() && b[i + 1] == '\n') return i;
            if (i + 2 < head.position() && b[i + 1] == '\r' && b[i + 2] == '\n') return i;
        }
        return -1;
    }

    private Response answer(String headText) {
        String line = headText.lines().findFirst().orElse("").strip();
        String[] parts = line.split(" ");
        if (parts.length != 3 || !parts[2].startsWith("HTTP/1.") || !parts[1].startsWith("/")) {
            return Response.text(400, "not an HTTP/1.x request line\n");
        }
        String method = parts[0];
        int query = parts[1].indexOf('?');
        String path = query < 0 ? parts[1] : parts[1].substring(0, query);
        Supplier<Response> route = routes.get(path);
        if (route == null) return Response.text(404, "no " + path + " here: " + String.join(", ", new java.util.TreeSet<>(routes.keySet())) + "\n");
        if (!method.equals("GET") && !method.equals("HEAD")) return Response.text(405, "only GET and HEAD\n");
        Response r;
        try {
            r = route.get();
        } catch (RuntimeException e) {
            warn.accept("metrics endpoint: " + path + " failed: " + e);
            return Response.text(500, "internal error\n");
        }
        return method.equals("HEAD") ? new Response(r.status(), r.contentType(), null) : r;
    }

    private static ByteBuffer encode(Response r) {
        byte[] body = r.body() == null ? new byte[0] : r.body();
        // HEAD's Content-Length is that of the GET answer: the body is left out only.
        String headers = "HTTP/1.1 " + r.status() + " " + reason(r.status()) + "\r\n"
                + "Content-Type: " + r.contentType() + "\r\n"
                + "Content-Length: " + body.length + "\r\n"
                + (r.status() == 405 ? "Allow: GET, HEAD\r\n" : "")
                + "Connection: close\r\n\r\n";
        byte[] h = headers.getBytes(StandardCharsets.ISO_8859_1);
        return ByteBuffer.allocate(h.length + body.length).put(h).put(body).flip();
    }

    private static String reason(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 400 -> "Bad Request";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 431 -> "Request Header Fields Too Large";
            case 503 -> "Service Unavailable";
            default -> "Internal Server Error";
        };
    }

    /** False when the deadline passed first. */
    private boolean write(SocketChannel c, SelectionKey key, ByteBuffer out, long deadline) throws IOException {
        while (out.hasRemaining()) {
            if (c.write(out) == 0 && !await(key, SelectionKey.OP_WRITE, deadline)) return false;
        }
        return true;
    }

    private void drain(SocketChannel c, SelectionKey key, long deadline) throws IOException {
        long drained = 0;
        while (drained < DRAIN_BYTES_MAX) {
            drain.clear();
            int n = c.read(drain);
            if (n < 0) return;
            drained += n;
            if (n == 0 && !await(key, SelectionKey.OP_READ, deadline)) return;
        }
    }

    /** Waits until {@code key}'s channel is ready for {@code op}; false at the deadline or when the endpoint closes. */
    private boolean await(SelectionKey key, int op, long deadline) throws IOException {
        key.interestOps(op);
        while (running) {
            long leftMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (leftMs <= 0) return false;
            selector.selectedKeys().clear();
            selector.select(leftMs);
            if (key.isValid() && (key.readyOps() & op) != 0 && selector.selectedKeys().contains(key)) return true;
        }
        return false;
    }
}
