package io.raftkv.client;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Ctrl-C (SIGINT) or SIGTERM while raftkvctl holds a lock or leads an election: the command releases what it holds
 * before the process ends, as etcdctl's lock and elect do. The JVM runs its shutdown hooks on those signals; this one
 * interrupts the command's thread, which unlocks or resigns (or stops the command it runs) and returns its exit code,
 * and then ends the JVM with that code (0 after a release, as etcdctl). Before a command arms it, or for a command that
 * holds nothing, a signal ends raftkvctl as it always has. No internal API (sun.misc.Signal) is needed, and a
 * release that takes longer than the command allows is abandoned: the session's lease then ends the lock.
 */
final class CtlStopSignal {

    private final Thread commandThread;
    private final Runnable flush;
    private final CompletableFuture<Integer> exitCode = new CompletableFuture<>();
    /** How long a signal waits for the command to release what it holds and return; 0 while it holds nothing. */
    private volatile long releaseWaitMs;

    private CtlStopSignal(Thread commandThread, Runnable flush) {
        this.commandThread = commandThread;
        this.flush = flush;
    }

    /** For raftkvctl's own process: the calling thread runs the command; {@code flush} flushes its output. */
    static CtlStopSignal install(Runnable flush) {
        CtlStopSignal s = new CtlStopSignal(Thread.currentThread(), flush);
        Runtime.getRuntime().addShutdownHook(new Thread(s::onSignal, "raftkvctl-stop"));
        return s;
    }

    /** From now on, a signal interrupts the command and waits up to {@code releaseWaitMs} for its exit code. */
    void arm(long releaseWaitMs) {
        if (releaseWaitMs <= 0) throw new IllegalArgumentException("a release needs time: " + releaseWaitMs + " ms");
        this.releaseWaitMs = releaseWaitMs;
    }

    /** The command is over with {@code code}: called before System.exit. */
    void exited(int code) {
        exitCode.complete(code);
    }

    private void onSignal() {
        long waitMs = releaseWaitMs;
        if (waitMs == 0 || exitCode.isDone()) return; // holds nothing, or exiting by itself
        commandThread.interrupt();
        try {
            int code = exitCode.get(waitMs, TimeUnit.MILLISECONDS);
            flush.run();
            // The command thread is in System.exit, which waits for this hook: end here, with the command's code.
            Runtime.getRuntime().halt(code);
        } catch (TimeoutException | ExecutionException e) {
            // Not released in time: the JVM ends with the signal's code, and the session's lease ends the lock.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
