package io.raftkv.client;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy for one directed peer link (node A dials node B through it), controlled by the chaos test.
 * It understands frames, so it drops or delays whole frames and never corrupts the stream: the first frame
 * (the handshake) always passes; after it, each frame is dropped with {@link #lossRate}, all are dropped
 * while {@link #blackhole} is on, and each is held for {@link #delayMs} on a delay line that keeps order.
 */
final class FaultProxy implements AutoCloseable {

    private static final int FRAME_BYTES_MAX = 64 << 20;
    private static final int QUEUED_FRAMES_MAX = 10_000;

    volatile boolean blackhole;
    volatile double lossRate;
    volatile long delayMs;

    private final String name;
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Random random;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    volatile long framesPassed;
    volatile long framesDropped;

    FaultProxy(String name, InetSocketAddress target, long seed) throws IOException {
        this.name = name;
        this.target = target;
        this.random = new Random(seed);
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread acceptor = new Thread(this::acceptLoop, "proxy-" + name);
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    void heal() {
        blackhole = false;
        lossRate = 0;
        delayMs = 0;
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket in = server.accept();
                Socket out = new Socket();
                try {
                    out.connect(target, 1_000);
                } catch (IOException e) {
                    in.close();
                    out.close();
                    continue;
                }
                in.setTcpNoDelay(true);
                out.setTcpNoDelay(true);
                sockets.add(in);
                sockets.add(out);
                DelayQueue<Held> line = new DelayQueue<>();
                start(() -> readFrames(in, out, line), "read");
                start(() -> writeFrames(line, out, in), "write");
                start(() -> copyBack(out, in), "back");
            } catch (IOException e) {
                return;
            }
        }
    }

    private void start(Runnable r, String role) {
        Thread t = new Thread(r, "proxy-" + name + "-" + role);
        t.setDaemon(true);
        t.start();
    }

    /** A frame on the delay line. */
    private record Held(byte[] frame, long releaseNanos) implements Delayed {
        static final Held END = new Held(null, 0);

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(releaseNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(releaseNanos, ((Held) o).releaseNanos);
        }
    }

    private void readFrames(Socket in, Socket out, DelayQueue<Held> line) {
        long lastRelease = 0;
        try (DataInputStream data = new DataInputStream(in.getInputStream())) {
            boolean first = true;
            while (true) {
                int length = data.readInt();
                if (length < 1 || length > FRAME_BYTES_MAX) throw new IOException("bad frame length " + length);
                byte[] frame = new byte[4 + length];
                frame[0] = (byte) (length >>> 24);
                frame[1] = (byte) (length >>> 16);
                frame[2] = (byte) (length >>> 8);
                frame[3] = (byte) length;
                data.readFully(frame, 4, length);
                boolean drop = !first && (blackhole || random(lossRate) || line.size() >= QUEUED_FRAMES_MAX);
                first = false;
                if (drop) {
                    framesDropped++;
                    continue;
                }
                // Releases never go backwards, so the line keeps the stream's order when the delay shrinks.
                lastRelease = Math.max(lastRelease, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delayMs));
                line.add(new Held(frame, lastRelease));
            }
        } catch (IOException e) {
            line.add(Held.END);
        }
    }

    private void writeFrames(DelayQueue<Held> line, Socket out, Socket in) {
        try (OutputStream os = out.getOutputStream()) {
            while (true) {
                Held h = line.take();
                if (h.frame() == null) break;
                os.write(h.frame());
                framesPassed++;
            }
        } catch (IOException | InterruptedException e) {
            // The connection ended.
        } finally {
            closeQuietly(in);
            closeQuietly(out);
        }
    }

    private void copyBack(Socket out, Socket in) {
        byte[] buf = new byte[8192];
        try (InputStream is = out.getInputStream(); OutputStream os = in.getOutputStream()) {
            int n;
            while ((n = is.read(buf)) >= 0) os.write(buf, 0, n);
        } catch (IOException e) {
            // The connection ended.
        } finally {
            closeQuietly(in);
            closeQuietly(out);
        }
    }

    private synchronized boolean random(double p) {
        return p > 0 && random.nextDouble() < p;
    }

    /** Cuts every connection through the proxy (the nodes reconnect). */
    void resetConnections() {
        for (Socket s : sockets) closeQuietly(s);
        sockets.clear();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(server);
        resetConnections();
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }
}
