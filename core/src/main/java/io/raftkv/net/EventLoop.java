package io.raftkv.net;

import jdk.net.ExtendedSocketOptions;

import javax.net.ssl.SSLEngine;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One thread, one {@link Selector}: accepts, reads and writes every channel without blocking, fires the
 * {@link TimerWheel} it owns, runs tasks other threads hand it, and at the end of every turn calls the
 * owner's turn hook (where the node syncs its WAL once for everything the turn produced: group commit).
 * Everything but {@link #execute(Runnable)} and {@link #stop()} must be called on the loop thread.
 */
public final class EventLoop {

    /** TCP keepalive: probes after a minute idle, every 10 s, three unanswered close the connection. */
    private static final int KEEPALIVE_IDLE_SECONDS = 60;
    private static final int KEEPALIVE_INTERVAL_SECONDS = 10;
    private static final int KEEPALIVE_PROBES = 3;

    /**
     * Limits of one loop, with the unit last. A connection the loop dials queues at most
     * {@code outboundBytesPerConnectionMax}; one it accepts (clients, which may stop reading, and peers'
     * inbound links, which are only ever answered an ERROR) at most {@code acceptedOutboundBytesPerConnectionMax}.
     * The loop's owner decides how many connections it keeps (it sees {@link #connections()} in its acceptor).
     */
    public record Limits(int frameBytesMax, long outboundBytesPerConnectionMax, long acceptedOutboundBytesPerConnectionMax,
                         int tasksMax, int timersMax, int timerExpiriesPerTurnMax) {
        public static Limits defaults() {
            return new Limits(4 << 20, 64L << 20, 4L << 20, 100_000, 1 << 17, 10_000);
        }
    }

    private static final long SELECT_TIMEOUT_MS_MAX = 1000;

    private final Selector selector;
    private final TimerWheel timers;
    private final Limits limits;
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final AtomicInteger taskCount = new AtomicInteger();
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private volatile boolean running = true;
    private Runnable turnHook = () -> { };
    private final java.util.ArrayList<Connection> dirty = new java.util.ArrayList<>();
    private final DirectChunks chunks;
    private Thread thread;
    private int connections;
    /** The keys of a turn's select ({@link #handleReady}), and how many turns had some. */
    private SelectionKey[] ready = new SelectionKey[16];
    private long readyTurns;

    public EventLoop(Limits limits) throws IOException {
        this(limits, new DirectChunks());
    }

    /** With a pool of its own: tests that fill it. */
    EventLoop(Limits limits, DirectChunks chunks) throws IOException {
        this.limits = limits;
        this.chunks = chunks;
        this.selector = Selector.open();
        this.timers = new TimerWheel(nowMs(), 1, 1024, limits.timersMax());
    }

    public static long nowMs() {
        return System.nanoTime() / 1_000_000;
    }

    public void setTurnHook(Runnable hook) {
        this.turnHook = hook;
    }

    /**
     * Hands a task to the loop from any thread. Returns false when {@link Limits#tasksMax()} tasks are
     * already waiting: the caller must report the overload, the task will not run.
     */
    public boolean execute(Runnable task) {
        if (taskCount.incrementAndGet() > limits.tasksMax()) {
            taskCount.decrementAndGet();
            return false;
        }
        tasks.add(task);
        if (Thread.currentThread() != thread && wakeupPending.compareAndSet(false, true)) selector.wakeup();
        return true;
    }

    /**
     * Runs {@code task} in {@code delayMs}; returns the timer id for {@link #cancel(long)}. Throws when
     * {@link Limits#timersMax()} timers are live: an owner that schedules on behalf of outside input checks
     * {@link #timersFree()} first, and derives the limit from its own so that it is never reached.
     */
    public long schedule(long delayMs, Runnable task) {
        return timers.schedule(nowMs() + delayMs, task);
    }

    /** How many more timers may be scheduled now. */
    public int timersFree() {
        return limits.timersMax() - timers.size();
    }

    public boolean cancel(long timerId) {
        return timers.cancel(timerId);
    }

    /** Listens on {@code address}; each accepted connection gets the handler {@code accept} returns. */
    public ServerSocketChannel listen(InetSocketAddress address, Function<Connection, Connection.Handler> accept) throws IOException {
        return listen(address, null, accept);
    }

    /**
     * Listens on {@code address}, with TLS when {@code tls} is not null: it gives each accepted connection its engine (in
     * server mode). The handler {@code accept} returns hears the connection's frames once its handshake is over.
     */
    public ServerSocketChannel listen(InetSocketAddress address, Supplier<SSLEngine> tls, Function<Connection, Connection.Handler> accept) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        server.bind(address, 1024);
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT, new Acceptor(accept, tls));
        return server;
    }

    private record Acceptor(Function<Connection, Connection.Handler> handler, Supplier<SSLEngine> tls) { }

    /** Starts connecting to {@code address}; the handler hears onConnected or onClosed. */
    public Connection connect(InetSocketAddress address, Connection.Handler handler) throws IOException {
        return connect(address, handler, null);
    }

    /**
     * Starts connecting to {@code address}, with TLS through {@code tls} (in client mode) when it is not null; the handler
     * hears onConnected once the handshake is over, or onClosed.
     */
    public Connection connect(InetSocketAddress address, Connection.Handler handler, SSLEngine tls) throws IOException {
        if (address.isUnresolved()) throw new IOException("cannot resolve " + address.getHostString());
        SocketChannel channel = SocketChannel.open();
        boolean connected;
        try {
            configure(channel);
            connected = channel.connect(address);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e instanceof IOException io ? io : new IOException(e.toString(), e);
        }
        Connection c = new Connection(this, channel, handler, limits.frameBytesMax(), limits.outboundBytesPerConnectionMax(), address.toString(), tls);
        connections++;
        try {
            c.register(channel.register(selector, connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT, c));
        } catch (IOException e) {
            // The caller hears of this failure from the exception alone, not also from onClosed.
            c.setHandler(NO_HANDLER);
            c.close(e.getMessage());
            throw e;
        }
        if (connected) c.connected();
        return c;
    }

    /**
     * Non-blocking, no Nagle delay, and TCP keepalive as a backstop: a client whose machine vanished (nothing pings a
     * client link) frees its connection slot after a minute and a half instead of never. Peer links do not rely on it:
     * they ping (docs/architecture.md, "Peer links notice a silent peer").
     */
    private static void configure(SocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        if (channel.supportedOptions().contains(ExtendedSocketOptions.TCP_KEEPIDLE)) {
            channel.setOption(ExtendedSocketOptions.TCP_KEEPIDLE, KEEPALIVE_IDLE_SECONDS);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPINTERVAL, KEEPALIVE_INTERVAL_SECONDS);
            channel.setOption(ExtendedSocketOptions.TCP_KEEPCOUNT, KEEPALIVE_PROBES);
        }
    }

    /** Runs the loop on the calling thread until {@link #stop()}. */
    public void run() {
        thread = Thread.currentThread();
        while (running) {
            try {
                turn();
            } catch (IOException e) {
                throw new IllegalStateException("selector failed", e);
            }
        }
        for (SelectionKey key : selector.keys()) {
            if (key.attachment() instanceof Connection c) c.close("node stopping");
            else closeQuietly(key);
        }
        runTasks();
        turnHook.run();
        flush();
        try {
            selector.close();
        } catch (IOException ignored) {
            // Stopping anyway.
        }
    }

    public void stop() {
        running = false;
        selector.wakeup();
    }

    /** False once {@link #stop()} was called: connections closing then are the loop's own doing. */
    public boolean isRunning() {
        return running;
    }

    private void turn() throws IOException {
        long timeout = tasks.isEmpty() ? Math.min(SELECT_TIMEOUT_MS_MAX, Math.max(0, timers.nextDeadlineMs() - nowMs())) : 0;
        if (timeout == 0) selector.selectNow(); else selector.select(timeout);
        wakeupPending.set(false);
        handleReady();
        runTasks();
        timers.poll(nowMs(), limits.timerExpiriesPerTurnMax());
        turnHook.run();
        flush();
    }

    /**
     * Handles the keys the select found ready, from a start that moves on each turn. The selector hands them in an order of
     * its own, the same turn after turn for the same connections: handled in that order, the client whose connection
     * comes last would lose every tie to the others (of two compare-and-swaps on one key read in a turn, the first is
     * proposed and the second waits behind it), as many times in a row as it tries.
     */
    private void handleReady() {
        java.util.Set<SelectionKey> selected = selector.selectedKeys();
        int n = selected.size();
        if (n == 0) return;
        if (n > ready.length) ready = new SelectionKey[Math.max(n, 2 * ready.length)];
        int i = 0;
        for (SelectionKey key : selected) ready[i++] = key;
        selected.clear();
        int start = (int) Long.remainderUnsigned(readyTurns++, n);
        for (int k = 0; k < n; k++) handle(ready[(start + k) % n]);
        java.util.Arrays.fill(ready, 0, n, null);
    }

    DirectChunks chunks() {
        return chunks;
    }

    /** A connection has frames queued: it is written at the next {@link #flush()}. */
    void markDirty(Connection c) {
        dirty.add(c);
    }

    /**
     * Writes every connection's queued frames now. The loop does it at the end of each turn; a caller may do
     * it earlier, e.g. the node sends the leader's appends before its own fsync so both disks work at once.
     */
    public void flush() {
        for (int i = 0; i < dirty.size(); i++) dirty.get(i).flushQueued();
        dirty.clear();
    }

    private void handle(SelectionKey key) {
        if (!key.isValid()) return;
        if (key.attachment() instanceof Acceptor acceptor) {
            accept((ServerSocketChannel) key.channel(), acceptor);
            return;
        }
        Connection c = (Connection) key.attachment();
        try {
            if (key.isConnectable()) c.onConnectable();
            if (key.isValid() && key.isReadable()) c.onReadable();
            if (key.isValid() && key.isWritable()) c.onWritable();
        } catch (RuntimeException e) {
            // A bug in handling one connection must not take the others down: log it and drop that connection.
            System.getLogger("raftkv.net").log(System.Logger.Level.ERROR, "closing " + c + " after an unexpected error", e);
            c.close("internal error: " + e);
        }
    }

    private void accept(ServerSocketChannel server, Acceptor accept) {
        for (int i = 0; i < 64; i++) {
            SocketChannel channel;
            try {
                channel = server.accept();
                if (channel == null) return;
                configure(channel);
            } catch (IOException e) {
                return;
            }
            String remote;
            try {
                remote = String.valueOf(channel.getRemoteAddress());
            } catch (IOException e) {
                remote = "?";
            }
            SSLEngine engine;
            try {
                engine = accept.tls() == null ? null : accept.tls().get();
            } catch (RuntimeException e) {
                System.getLogger("raftkv.net").log(System.Logger.Level.ERROR, "no TLS engine for a connection from " + remote, e);
                closeQuietly(channel);
                continue;
            }
            Connection c = new Connection(this, channel, NO_HANDLER, limits.frameBytesMax(), limits.acceptedOutboundBytesPerConnectionMax(), remote, engine);
            connections++;
            try {
                c.register(channel.register(selector, SelectionKey.OP_READ, c));
            } catch (IOException e) {
                c.close(e.getMessage());
                continue;
            }
            try {
                // The owner may refuse the connection (it sends its refusal and closes it) and returns a handler anyway.
                c.setHandler(accept.handler().apply(c));
            } catch (RuntimeException e) {
                // Guarded like the read path: a bug in accepting one connection must not take the node down.
                System.getLogger("raftkv.net").log(System.Logger.Level.ERROR, "closing " + c + " after an unexpected error in accept", e);
                c.close("internal error: " + e);
            }
        }
    }

    void connectionClosed(Connection c) {
        connections--;
    }

    public int connections() {
        return connections;
    }

    private void runTasks() {
        // Only the tasks present now: a task that queues another does not keep the loop from selecting.
        for (int n = taskCount.get(); n > 0; n--) {
            Runnable task = tasks.poll();
            if (task == null) return;
            taskCount.decrementAndGet();
            task.run();
        }
    }

    private static void closeQuietly(SelectionKey key) {
        closeQuietly(key.channel());
    }

    private static void closeQuietly(java.nio.channels.Channel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Closing anyway.
        }
    }

    private static final Connection.Handler NO_HANDLER = new Connection.Handler() {
        @Override
        public void onFrame(Connection c, byte type, java.nio.ByteBuffer body) {
        }

        @Override
        public void onClosed(Connection c, String reason) {
        }
    };
}
