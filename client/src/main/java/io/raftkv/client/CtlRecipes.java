package io.raftkv.client;

import io.raftkv.client.CtlInput.Word;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * raftkvctl's lock and elect, in etcdctl's forms: {@code lock NAME [COMMAND ARGS...]} and {@code elect NAME [PROPOSAL]}
 * ({@code -l} to only observe, as etcdctl). Both hold until Ctrl-C, which releases what they hold: an interrupt of the
 * command's thread ({@link CtlStopSignal} turns the signal into one in raftkvctl's own process; a test interrupts the
 * thread). A COMMAND run under the lock inherits raftkvctl's standard streams in its own process; run in a test JVM,
 * its output is copied to the streams given and its input is empty.
 */
final class CtlRecipes {

    /** etcdctl's lock --ttl default. */
    static final long LOCK_TTL_SECONDS_DEFAULT = 10;
    /** etcdctl's elect uses the session's default. */
    static final long ELECT_TTL_SECONDS_DEFAULT = LeaseSession.TTL_SECONDS_DEFAULT;
    /** How long a COMMAND has to end after SIGTERM, once raftkvctl is told to stop, before SIGKILL. */
    static final long CHILD_STOP_MS = 10_000;
    /** How long the copies of a COMMAND's output may go on after it exited (its children may hold the pipe). */
    private static final long COPY_JOIN_MS = 2_000;

    /** Prints an error line and returns the exit code: the session's. */
    interface Failure {
        int fail(int code, String message);
    }

    private final RaftKvClient client;
    private final PrintStream out;
    private final PrintStream err;
    private final CtlPrinter printer;
    /** Null in a test JVM: see the class comment. */
    private final CtlStopSignal stop;
    private final Failure failure;

    CtlRecipes(RaftKvClient client, PrintStream out, PrintStream err, CtlPrinter printer, CtlStopSignal stop, Failure failure) {
        this.client = client;
        this.out = out;
        this.err = err;
        this.printer = printer;
        this.stop = stop;
        this.failure = failure;
    }

    /** The most a release may take once a signal came: stopping the COMMAND, then an unlock or resign and a revoke. */
    private long releaseWaitMs() {
        return CHILD_STOP_MS + 3 * client.deadline().toMillis();
    }

    // ------------------------------------------------------------------ lock

    /**
     * etcdctl's lock: waits its turn for lock {@code name}; without a command prints the lock's key as a get does and
     * holds it until Ctrl-C (exit code 0 after the unlock) or until its session is lost (exit code 1); with one, runs
     * it with ETCD_LOCK_KEY and ETCD_LOCK_REV set, releases the lock when it exits, and exits with its code.
     */
    int lock(byte[] name, List<Word> command, long ttlSeconds) {
        if (stop != null) stop.arm(releaseWaitMs());
        try (LeaseSession session = LeaseSession.open(client, ttlSeconds)) {
            HeldLock held;
            try {
                held = new Mutex(session, name).lock();
            } catch (InterruptedException e) {
                return failure.fail(RaftKvCtl.EXIT_FAILED, "interrupted before the lock was acquired");
            }
            if (!command.isEmpty()) return runHolding(held, command);
            ClientResponse.RangeResult mine = client.range(RangeRequest.key(held.key()));
            if (mine.kvs().isEmpty()) return failure.fail(RaftKvCtl.EXIT_FAILED, "lock lost on init");
            print(mine.header(), mine.kvs().get(0));
            if (!holdUntilInterrupted(session)) return failure.fail(RaftKvCtl.EXIT_FAILED, "session expired: the lock is lost");
            if (!held.unlock()) return failure.fail(RaftKvCtl.EXIT_FAILED, "session expired: the lock was lost before the unlock");
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** Runs {@code command} while holding the lock, then releases it; its exit code. */
    private int runHolding(HeldLock held, List<Word> command) {
        List<String> argv = new ArrayList<>();
        for (Word w : command) argv.add(w.text());
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("ETCD_LOCK_KEY", held.keyString());
        pb.environment().put("ETCD_LOCK_REV", Long.toString(held.revision()));
        if (stop != null) pb.inheritIO();
        else pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        Process child;
        try {
            child = pb.start();
        } catch (IOException e) {
            held.unlock();
            return failure.fail(RaftKvCtl.EXIT_FAILED, "cannot run " + argv.get(0) + ": " + e.getMessage());
        }
        List<Thread> copies = new ArrayList<>();
        if (stop == null) {
            closeQuietly(child.getOutputStream());
            copies.add(copy(child.getInputStream(), out));
            copies.add(copy(child.getErrorStream(), err));
        }
        int code = awaitChild(child);
        for (Thread t : copies) {
            try {
                t.join(COPY_JOIN_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        boolean wasHeld;
        try {
            wasHeld = held.unlock();
        } catch (RaftKvException e) {
            return code != 0 ? code : failure.fail(RaftKvCtl.EXIT_FAILED, "the command ran, but the unlock failed: " + RaftKvCtl.describe(e));
        }
        if (!wasHeld) {
            // etcdctl says nothing: the command ran without the lock for a while, and the caller must know.
            String lost = "the lock was lost while " + argv.get(0) + " ran (its session's lease ended)";
            if (code != 0) {
                err.println("warning: " + lost);
                return code;
            }
            return failure.fail(RaftKvCtl.EXIT_FAILED, lost);
        }
        return code;
    }

    /**
     * Waits for the command to exit. Told to stop meanwhile (an interrupt), it passes the stop on: SIGTERM, and SIGKILL
     * {@value #CHILD_STOP_MS} ms later; the lock is released only once the command is gone.
     */
    private static int awaitChild(Process child) {
        boolean stopping = false;
        while (true) {
            try {
                if (!stopping) return child.waitFor();
                if (child.waitFor(CHILD_STOP_MS, TimeUnit.MILLISECONDS)) return child.exitValue();
                child.destroyForcibly();
                return child.waitFor();
            } catch (InterruptedException e) {
                // The interrupt is handled here, not passed on: the unlock that follows must not be cut short by it.
                if (!stopping) child.destroy();
                stopping = true;
            }
        }
    }

    private static Thread copy(InputStream from, PrintStream to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[8192];
            try (from) {
                for (int n; (n = from.read(buffer)) > 0; ) {
                    synchronized (to) {
                        to.write(buffer, 0, n);
                        to.flush();
                    }
                }
            } catch (IOException e) {
                // The command is gone.
            }
        }, "raftkvctl-command-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void closeQuietly(java.io.OutputStream s) {
        try {
            s.close();
        } catch (IOException e) {
            // Nothing to tell the command.
        }
    }

    // ------------------------------------------------------------------ elect

    /**
     * etcdctl's elect with a proposal: campaigns, prints the leader key and value as a get does once elected, leads
     * until Ctrl-C (exit code 0 after resigning) or until its session is lost (exit code 1).
     */
    int campaign(byte[] name, byte[] proposal, long ttlSeconds) {
        if (stop != null) stop.arm(releaseWaitMs());
        try (LeaseSession session = LeaseSession.open(client, ttlSeconds)) {
            Election election = new Election(session, name);
            try {
                election.campaign(proposal);
            } catch (InterruptedException e) {
                return failure.fail(RaftKvCtl.EXIT_FAILED, "interrupted before elected");
            }
            ClientResponse.RangeResult mine = client.range(RangeRequest.key(election.key()));
            if (mine.kvs().isEmpty()) return failure.fail(RaftKvCtl.EXIT_FAILED, "elect: session expired");
            print(mine.header(), mine.kvs().get(0));
            if (!holdUntilInterrupted(session)) return failure.fail(RaftKvCtl.EXIT_FAILED, "elect: session expired");
            election.resign();
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** etcdctl's elect -l: prints each leader (key, value) as it comes, until Ctrl-C. */
    int observe(byte[] name) {
        CompletableFuture<String> ended = new CompletableFuture<>();
        try (Watcher ignored = Election.observe(client, name, new LeaderListener() {
            @Override
            public void onLeader(KeyValue leader) {
                // An observed leader has no answer of its own: its header is the revision that made it what it is.
                print(new ResponseHeader(leader.modRevision(), 0, 0), leader);
            }

            @Override
            public void onEnded(String reason) {
                ended.complete(reason);
            }
        })) {
            return failure.fail(RaftKvCtl.EXIT_FAILED, "elect: observer lost: " + ended.get());
        } catch (InterruptedException e) {
            return RaftKvCtl.EXIT_OK;
        } catch (ExecutionException e) {
            return failure.fail(RaftKvCtl.EXIT_FAILED, "elect: observer lost: " + e.getCause());
        }
    }

    // ------------------------------------------------------------------ both

    /** Waits for an interrupt (true) or the loss of the session (false). */
    private static boolean holdUntilInterrupted(LeaseSession session) {
        try {
            session.done().get();
            return false;
        } catch (InterruptedException e) {
            return true;
        } catch (ExecutionException e) {
            return false;
        }
    }

    private void print(ResponseHeader header, KeyValue kv) {
        synchronized (out) {
            printer.get(header, new OpResult.Range(List.of(kv), false, 1), RangeRequest.key(kv.key()), false);
            out.flush();
        }
    }
}
