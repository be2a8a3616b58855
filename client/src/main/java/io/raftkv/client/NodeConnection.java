package io.raftkv.client;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ErrorCode;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * One connection to one node: requests are written as they come (pipelined), answers are matched by
 * request id by a reader thread. When the connection dies every pending request fails with
 * {@link ConnectionLost} ({@link NotARaftkvNode} when what answered does not speak the protocol); a request that never
 * reached the socket fails with {@link NotSent}. With an SSLContext the connection is TLS, its handshake over (and the
 * node's certificate checked against its address) before open returns. Opened with {@link Credentials}, the connection
 * authenticates before it is handed out: the node lets the connection act as that user (docs/auth.md: the connection is the
 * token).
 */
final class NodeConnection implements AutoCloseable {

    /**
     * The connection died with the request written to it (or partly written): it may have reached the node.
     * {@code nodeSilent}: the client failed it because the node answered nothing, not even a status probe.
     */
    static final class ConnectionLost extends IOException {
        final boolean nodeSilent;

        ConnectionLost(String message, boolean nodeSilent) {
            super(message);
            this.nodeSilent = nodeSilent;
        }
    }

    /**
     * The other end's first bytes were not a frame of the client protocol (an HTTP server, say): nothing sent there can
     * have been applied, and asking again will not help.
     */
    static final class NotARaftkvNode extends IOException {
        NotARaftkvNode(String message) {
            super(message);
        }
    }

    /** A user and password the client authenticates every connection with. Never printed. */
    record Credentials(String user, String password) {
        @Override
        public String toString() {
            return "Credentials[user=" + user + "]";
        }
    }

    /** The node refused the credentials (AUTH_FAILED): no other node will take them either. */
    static final class AuthenticationFailed extends IOException {
        AuthenticationFailed(String message) {
            super(message);
        }
    }

    /** Request id of AUTHENTICATE on every connection: the client's own ids start at 1. */
    private static final long AUTHENTICATE_ID = -1;
    /** How long opening a connection waits for its authentication: a node hashes passwords one at a time. */
    private static final long AUTHENTICATE_TIMEOUT_MS = 10_000;

    /** Nothing of the request reached the socket (the connection was closed, or too many were pending): it may go elsewhere. */
    static final class NotSent extends IOException {
        NotSent(String message) {
            super(message);
        }
    }

    private final InetSocketAddress address;
    private final Socket socket;
    private final OutputStream out;
    /** Requests written by reader threads and not sent yet ({@link Reader}), guarded by {@link #out}. */
    private byte[] held = new byte[256];
    private int heldBytes;
    private static final int HELD_BYTES_MAX = 64 * 1024;
    /** The largest frame body a reader keeps its buffer for between frames. */
    private static final int BODY_BYTES_KEPT_MAX = 1 << 20;
    private final int frameBytesMax;
    private final Map<Long, CompletableFuture<ClientResponse>> pending = new ConcurrentHashMap<>();
    private final int pendingMax;
    private final Listener listener;
    private volatile boolean closed;
    /** Why the connection was closed, the first reason given: every request it fails says it. */
    private final AtomicReference<String> failure = new AtomicReference<>();
    /** Set before the connection is failed because its node did not answer a probe. */
    private volatile boolean nodeSilent;
    /** Set before the connection is failed because its first bytes were not a frame: see {@link NotARaftkvNode}. */
    private volatile boolean notRaftkv;
    /** The reader thread has not failed the connection yet: it will fail the requests pending then. */
    private volatile boolean readerRunning = true;
    /**
     * The node refused the connection itself, before it processed anything on it: at its HELLO (an ERROR REFUSED with
     * request id 0: a plaintext client on a TLS port, the connection limit) or in its TLS handshake (TLS 1.3 tells a
     * client its certificate was refused only at its first read). Its requests fail {@link NotSent}: none was applied.
     */
    private volatile boolean refused;
    /** The status probe sent last and when (see {@link #probe}); guarded by {@link #probeLock}. */
    private CompletableFuture<ClientResponse.StatusResult> probe;
    private long probeStartedNanos;
    private final Object probeLock = new Object();
    /** The authentication under way or done last, shared by every request that finds it must authenticate again. */
    private CompletableFuture<Void> authentication;

    /** Hears what is not an answer: watch frames, and the connection's end. Called on the reader thread. */
    interface Listener {
        Listener NONE = new Listener() { };

        default void watchFrame(NodeConnection c, ClientResponse frame) {
        }

        default void closed(NodeConnection c, String reason) {
        }
    }

    private NodeConnection(InetSocketAddress address, Socket socket, int frameBytesMax, int pendingMax, Listener listener) throws IOException {
        this.address = address;
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.frameBytesMax = frameBytesMax;
        this.pendingMax = pendingMax;
        this.listener = listener;
    }

    static NodeConnection open(InetSocketAddress address, int connectTimeoutMs, int frameBytesMax, int pendingMax, SSLContext tls) throws IOException {
        return open(address, connectTimeoutMs, frameBytesMax, pendingMax, tls, Listener.NONE);
    }

    /** {@code tls}: null for plaintext. */
    static NodeConnection open(InetSocketAddress address, int connectTimeoutMs, int frameBytesMax, int pendingMax, SSLContext tls,
                               Listener listener) throws IOException {
        return open(address, connectTimeoutMs, frameBytesMax, pendingMax, tls, listener, null);
    }

    /**
     * Opens a connection and, with {@code credentials}, authenticates it before returning it: {@link AuthenticationFailed}
     * when the node refuses them. A node whose auth is disabled says so, and the connection goes on without a user (as
     * etcd's client does).
     */
    static NodeConnection open(InetSocketAddress address, int connectTimeoutMs, int frameBytesMax, int pendingMax, SSLContext tls,
                               Listener listener, Credentials credentials) throws IOException {
        NodeConnection c = connect(address, connectTimeoutMs, frameBytesMax, pendingMax, tls, listener);
        if (credentials == null) return c;
        try {
            CompletableFuture<Void> authenticated = c.authenticate(credentials);
            sendHeld();
            authenticated.get(AUTHENTICATE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            return c;
        } catch (java.util.concurrent.ExecutionException e) {
            c.fail("authentication failed");
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (TimeoutException e) {
            c.fail("no answer to AUTHENTICATE");
            throw new IOException(address + " did not answer AUTHENTICATE within " + AUTHENTICATE_TIMEOUT_MS + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            c.fail("interrupted while authenticating");
            throw new IOException("interrupted while authenticating to " + address);
        }
    }

    private static NodeConnection connect(InetSocketAddress address, int connectTimeoutMs, int frameBytesMax, int pendingMax, SSLContext tls,
                                          Listener listener) throws IOException {
        Socket socket = new Socket();
        try {
            socket.setTcpNoDelay(true);
            socket.connect(address, connectTimeoutMs);
            if (tls != null) socket = handshake(socket, address, connectTimeoutMs, tls);
            NodeConnection c = new NodeConnection(address, socket, frameBytesMax, pendingMax, listener);
            if (tls == null) c.write(ClientCodec.helloClient()); // with TLS, handshake() said it
            Thread reader = new Reader(c::readLoop, "raftkv-client-" + address);
            reader.setDaemon(true);
            reader.start();
            return c;
        } catch (IOException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * TLS over the connected {@code plain}, then HELLO_CLIENT, all within {@code timeoutMs}. The node's certificate must
     * name the address dialled (its SAN), as a browser checks a web server's. TLS 1.3 ends a client's handshake before
     * the node has checked the client's certificate, so a STATUS goes with the HELLO and its answer proves the node took
     * the connection: a refusal shows here, as a failed handshake, not later as a write whose outcome is unknown.
     */
    private static Socket handshake(Socket plain, InetSocketAddress address, int timeoutMs, SSLContext tls) throws IOException {
        String node = address.getHostString() + ":" + address.getPort();
        SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(plain, address.getHostString(), address.getPort(), true);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        ClientResponse answer;
        try {
            socket.setSoTimeout(timeoutMs);
            socket.startHandshake();
            java.io.ByteArrayOutputStream frames = new java.io.ByteArrayOutputStream();
            for (ByteBuffer frame : List.of(ClientCodec.helloClient(), ClientCodec.request(new ClientRequest.Status(ACCEPTANCE_PROBE_ID)))) {
                frames.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            }
            try {
                socket.getOutputStream().write(frames.toByteArray());
                socket.getOutputStream().flush();
            } catch (IOException writeFailed) {
                // The node refused the handshake and closed: its alert, which says why, is still there to read.
            }
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int length = in.readInt();
            if (length < 1 || length > ACCEPTANCE_ANSWER_BYTES_MAX) throw new IOException("bad frame length " + Integer.toUnsignedLong(length));
            byte type = in.readByte();
            byte[] body = new byte[length - 1];
            in.readFully(body);
            answer = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
        } catch (IOException | RuntimeException e) {
            socket.close();
            // A plaintext node answers a ClientHello with a raftkv ERROR frame, which the JDK calls an unrecognized message.
            String hint = e instanceof java.net.SocketTimeoutException ? " (no answer within " + timeoutMs + " ms)"
                    : String.valueOf(e.getMessage()).contains("Unsupported or unrecognized SSL message") ? " (is TLS off at the node?)" : "";
            throw new IOException("TLS handshake failed with " + node + ": " + describe(e) + hint, e);
        }
        if (!(answer instanceof ClientResponse.StatusResult)) {
            socket.close();
            throw new IOException(node + " refused the connection: " + answer);
        }
        socket.setSoTimeout(0);
        return socket;
    }

    /** The id of the STATUS that proves a TLS connection accepted: answered before any request of the client's is sent. */
    private static final long ACCEPTANCE_PROBE_ID = -1;
    private static final int ACCEPTANCE_ANSWER_BYTES_MAX = 1 << 20;

    InetSocketAddress address() {
        return address;
    }

    boolean isOpen() {
        return !closed;
    }

    /**
     * Writes the request and returns its answer to come. The write happens on the caller's thread and blocks while the
     * socket's buffers are full (a node that stopped reading): callers waiting behind it find the connection closed
     * once it fails, and their requests fail {@link NotSent}, free to go to another node.
     */
    CompletableFuture<ClientResponse> send(ClientRequest request) {
        CompletableFuture<ClientResponse> answer = new CompletableFuture<>();
        if (pending.size() >= pendingMax) {
            answer.completeExceptionally(new NotSent(pendingMax + " requests already pending on " + address));
            return answer;
        }
        ByteBuffer frame = ClientCodec.request(request);
        synchronized (out) {
            if (closed && notRaftkv) {
                answer.completeExceptionally(new NotARaftkvNode(failure.get()));
                return answer;
            }
            if (closed) {
                answer.completeExceptionally(new NotSent("the connection to " + address + " is closed (" + failure.get() + ")"));
                return answer;
            }
            pending.put(request.requestId(), answer);
            try {
                if (Thread.currentThread() instanceof Reader reader) hold(frame, reader);
                else write(frame);
            } catch (IOException e) {
                // The connection is broken. The reader first reads what the other end sent before it broke (an HTTP
                // server's answer to the hello says it is not a raftkv node), then fails every pending request, this
                // one included; shutting the output down ends a reader still waiting.
                failure.compareAndSet(null, "cannot send to " + address + ": " + describe(e));
                shutdownOutput();
                if (!readerRunning && pending.remove(request.requestId()) != null) {
                    answer.completeExceptionally(notRaftkv ? new NotARaftkvNode(failure.get()) : new ConnectionLost(failure.get(), false));
                }
            }
        }
        return answer;
    }

    /**
     * Authenticates the connection as {@code credentials}' user: completes when the node took them (or said auth is
     * disabled: the connection goes on without a user), fails {@link AuthenticationFailed} when it refused them, or with
     * the connection. One at a time: while one is under way, a caller shares it.
     */
    CompletableFuture<Void> authenticate(Credentials credentials) {
        synchronized (probeLock) {
            if (authentication != null && !authentication.isDone()) return authentication;
            authentication = send(new ClientRequest.Auth(AUTHENTICATE_ID, new AuthRequest.Authenticate(credentials.user(), credentials.password())))
                    .thenApply(r -> {
                        if (r instanceof ClientResponse.Ok) return null;
                        if (r instanceof ClientResponse.Error e && e.code() == ErrorCode.AUTH_NOT_ENABLED) return null;
                        if (r instanceof ClientResponse.Error e && e.code() == ErrorCode.AUTH_FAILED) {
                            throw new java.util.concurrent.CompletionException(new AuthenticationFailed(e.toString()));
                        }
                        throw new java.util.concurrent.CompletionException(new IOException(address + " answered AUTHENTICATE with " + r));
                    });
            return authentication;
        }
    }

    /** Forgets a request whose answer no longer matters (its attempt is over). */
    void forget(long requestId) {
        pending.remove(requestId);
    }

    /**
     * Asks the node its status, to tell a node that is slow to answer a request from one that answers nothing at all.
     * One probe at a time: a caller asking while one is in flight, or less than {@code boundMs} after it was sent,
     * shares it, so that many slow requests cost one probe per bound. A node that does not answer within
     * {@code boundMs} is taken as gone: the connection fails, and with it every request pending on it.
     */
    CompletableFuture<ClientResponse.StatusResult> probe(LongSupplier requestIds, long boundMs) {
        CompletableFuture<ClientResponse.StatusResult> answer = new CompletableFuture<>();
        CompletableFuture<ClientResponse.StatusResult> probed;
        long requestId;
        synchronized (probeLock) {
            if (probe != null && (!probe.isDone() || System.nanoTime() - probeStartedNanos < TimeUnit.MILLISECONDS.toNanos(boundMs))) {
                return probe;
            }
            requestId = requestIds.getAsLong();
            // Bounded before it is sent: the send may block on a node that stopped reading, and failing the connection
            // is what unblocks it. The callers' future completes after that, so they find the connection failed.
            probed = answer.orTimeout(boundMs, TimeUnit.MILLISECONDS).whenComplete((s, e) -> {
                if (e instanceof TimeoutException) {
                    forget(requestId);
                    nodeSilent = true;
                    fail(address + " answered nothing, not even a status probe within " + boundMs + " ms: taken as gone");
                }
            });
            probe = probed;
            probeStartedNanos = System.nanoTime();
        }
        send(new ClientRequest.Status(requestId)).whenComplete((r, e) -> {
            if (e != null) answer.completeExceptionally(e);
            else if (r instanceof ClientResponse.StatusResult s) answer.complete(s);
            else answer.completeExceptionally(new IOException(address + " answered a status probe with " + r));
        });
        return probed;
    }

    private void write(ByteBuffer frame) throws IOException {
        synchronized (out) {
            if (heldBytes > 0) {
                out.write(held, 0, heldBytes);
                heldBytes = 0;
            }
            out.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            out.flush();
        }
    }

    /** Keeps {@code frame} for {@code reader}'s next {@link #sendHeld}, which then sends it with the others held. */
    private void hold(ByteBuffer frame, Reader reader) throws IOException {
        int n = frame.remaining();
        if (heldBytes + n > HELD_BYTES_MAX) {
            write(frame);
            return;
        }
        if (heldBytes + n > held.length) held = java.util.Arrays.copyOf(held, Math.max(heldBytes + n, Math.min(HELD_BYTES_MAX, held.length * 2)));
        frame.get(frame.position(), held, heldBytes, n);
        heldBytes += n;
        // Every thread that held a request here sends it itself, even when another holds some too: that one may be
        // busy (or waiting) for long.
        if (!reader.unflushed.contains(this)) reader.unflushed.add(this);
    }

    private void writeHeld() {
        synchronized (out) {
            if (heldBytes == 0 || closed) return;
            try {
                out.write(held, 0, heldBytes);
                out.flush();
            } catch (IOException e) {
                failure.compareAndSet(null, "cannot send to " + address + ": " + describe(e));
                shutdownOutput();
            } finally {
                heldBytes = 0;
            }
        }
    }

    /**
     * Sends the requests the current thread has held, if it is a connection's reader: before it waits, for more to read
     * or for an answer (a request held would never be answered).
     */
    static void sendHeld() {
        if (!(Thread.currentThread() instanceof Reader reader)) return;
        for (NodeConnection c : reader.unflushed) c.writeHeld();
        reader.unflushed.clear();
    }

    /**
     * A connection's reader thread, which hands answers over to their callbacks. The requests those callbacks send are
     * held until it has handed over every answer it has read and is about to wait for more: then each connection gets
     * one write for all of them, where each request would otherwise be a system call, and a wake-up of the node.
     */
    private static final class Reader extends Thread {
        private final ArrayList<NodeConnection> unflushed = new ArrayList<>();

        Reader(Runnable task, String name) {
            super(task, name);
        }

        @Override
        public void run() {
            try {
                super.run();
            } finally {
                // A connection that ends fails its pending requests, whose callbacks may send them elsewhere (a retry
                // on another node): held by a thread that reads no more, they would never leave.
                sendHeld();
            }
        }
    }

    /** The socket's input: sends what the reader held before each read, which may wait. */
    private static final class SendHeldFirst extends java.io.FilterInputStream {
        SendHeldFirst(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            sendHeld();
            return super.read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            sendHeld();
            return super.read(b, off, len);
        }
    }

    private void readLoop() {
        String reason = "closed by " + address;
        boolean first = true;
        // One body buffer for every frame: a decoded answer copies out what it keeps, and a frame of 30 KiB (a range of 100
        // keys) is no longer an array allocated and zeroed per answer. Kept up to a bound, so one huge answer does not
        // hold its size for the connection's life.
        byte[] body = new byte[4096];
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new SendHeldFirst(socket.getInputStream()), 64 * 1024))) {
            while (!closed) {
                int lengthBytes = in.readInt();
                long length = Integer.toUnsignedLong(lengthBytes);
                if (length < 1 || length > frameBytesMax) {
                    if (first) throw notRaftkv(lengthBytes);
                    throw new IOException("bad frame length " + length + " from " + address);
                }
                byte type = in.readByte();
                int bodyBytes = (int) length - 1;
                if (bodyBytes > body.length) body = new byte[Math.max(bodyBytes, Math.min(BODY_BYTES_KEPT_MAX, 2 * body.length))];
                in.readFully(body, 0, bodyBytes);
                ClientResponse response;
                try {
                    response = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body, 0, bodyBytes));
                } catch (RuntimeException e) {
                    if (first) throw notRaftkv(lengthBytes);
                    throw e;
                }
                first = false;
                if (response instanceof ClientResponse.WatchEvents || response instanceof ClientResponse.WatchCanceled) {
                    listener.watchFrame(this, response);
                    continue;
                }
                if (response.requestId() == 0) {
                    reason = address + " closed the connection: " + response;
                    refused = response instanceof ClientResponse.Error e && e.code() == ErrorCode.REFUSED;
                    break;
                }
                CompletableFuture<ClientResponse> answer = pending.remove(response.requestId());
                if (answer != null) answer.complete(response);
                if (body.length > BODY_BYTES_KEPT_MAX) body = new byte[BODY_BYTES_KEPT_MAX];
            }
        } catch (NotARaftkvNode e) {
            notRaftkv = true;
            reason = e.getMessage();
            failure.set(reason); // what the other end is says more than a write that broke on it
        } catch (IOException | RuntimeException e) {
            reason = "connection to " + address + " lost: " + describe(e);
            refused = e instanceof javax.net.ssl.SSLHandshakeException;
        }
        readerRunning = false;
        fail(reason);
    }

    /** The first four bytes shown as text when they are printable: "HTTP" says at once what answered. */
    private NotARaftkvNode notRaftkv(int firstBytes) {
        byte[] b = ByteBuffer.allocate(4).putInt(firstBytes).array();
        boolean printable = true;
        for (byte c : b) printable &= c >= 0x20 && c < 0x7f;
        String shown = printable ? "\"" + new String(b, java.nio.charset.StandardCharsets.US_ASCII) + "...\"" : String.format("0x%08x", firstBytes);
        return new NotARaftkvNode("not a raftkv node at " + address.getHostString() + ":" + address.getPort() + " (it answered " + shown + ")");
    }

    /**
     * Closes the connection and fails every request pending on it with {@link ConnectionLost}, saying why: the first
     * reason given, if it was closed already (a connection the client gave up on is then read to its end).
     */
    void fail(String reason) {
        failure.compareAndSet(null, reason);
        closeSocket();
        String why = failure.get();
        for (Long id : pending.keySet()) {
            CompletableFuture<ClientResponse> answer = pending.remove(id);
            if (answer != null) answer.completeExceptionally(notRaftkv ? new NotARaftkvNode(why) : refused ? new NotSent(why) : new ConnectionLost(why, nodeSilent));
        }
        listener.closed(this, reason);
    }

    private void shutdownOutput() {
        try {
            socket.shutdownOutput();
        } catch (IOException e) {
            closeSocket(); // the reader then ends too
        }
    }

    private void closeSocket() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    @Override
    public void close() {
        fail("the client closed its connection to " + address);
    }

    private static String describe(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static boolean isRetryableError(ClientResponse.Error e) {
        return e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.OVERLOADED;
    }
}
