package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.FrameType;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A node that speaks the client protocol on a loopback port and answers each request as the test says, for the
 * client's tests of answers a real cluster gives only in rare moments (a NOT_LEADER to an address the client does
 * not know, a member list without the node asked). The answer function gets each request in order; null sends
 * nothing (then or ever, or later by {@link #reply}). Every request received is kept in {@link #received}.
 */
final class FakeNode implements AutoCloseable {

    private static final int FRAME_BYTES_MAX = 1 << 20;

    private final ServerSocket server;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    final List<ClientRequest> received = new CopyOnWriteArrayList<>();
    private volatile Function<ClientRequest, ClientResponse> answer;

    FakeNode(Function<ClientRequest, ClientResponse> answer) throws IOException {
        this.answer = answer;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread acceptor = new Thread(this::accept, "fake-node-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A node that answers nothing yet: give it its answers with {@link #answer}. */
    FakeNode() throws IOException {
        this(r -> null);
    }

    void answer(Function<ClientRequest, ClientResponse> answer) {
        this.answer = answer;
    }

    InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress().getHostAddress(), server.getLocalPort());
    }

    /** {@code host:port}, as a member list or a NOT_LEADER names the node. */
    String hostPort() {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    String host() {
        return server.getInetAddress().getHostAddress();
    }

    int port() {
        return server.getLocalPort();
    }

    /** The requests received of {@code type}. */
    <T extends ClientRequest> List<T> received(Class<T> type) {
        return received.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "fake-node-" + server.getLocalPort() + "-connection");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket s) {
        try (s; DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()))) {
            while (true) {
                int length = in.readInt();
                if (length < 1 || length > FRAME_BYTES_MAX) throw new IOException("bad frame length " + length);
                byte type = in.readByte();
                byte[] body = new byte[length - 1];
                in.readFully(body);
                if (type == FrameType.HELLO_CLIENT) continue;
                ClientRequest request = ClientCodec.decodeRequest(type, ByteBuffer.wrap(body));
                received.add(request);
                ClientResponse response = answer.apply(request);
                if (response != null) write(s, response);
            }
        } catch (IOException | RuntimeException e) {
            // The client went away, or the test is over.
        }
    }

    /** Sends {@code response} on the connection opened last: an answer given later than the request's turn. */
    void reply(ClientResponse response) throws IOException {
        write(sockets.get(sockets.size() - 1), response);
    }

    private static void write(Socket s, ClientResponse response) throws IOException {
        ByteBuffer frame = ClientCodec.response(response);
        synchronized (s) {
            OutputStream out = s.getOutputStream();
            out.write(frame.array(), frame.arrayOffset() + frame.position(), frame.remaining());
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) s.close();
    }
}
