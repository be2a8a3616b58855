package io.raftkv.client;

import io.raftkv.client.LockHolderCheck.Outcome;
import io.raftkv.client.LockHolderCheck.Release;
import io.raftkv.client.LockHolderCheck.Section;
import io.raftkv.client.LockHolderCheck.Write;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * Lock holders through a chaos run (issue 12): a few clients take one lock ({@link Mutex}) over and over, each with a
 * session of 2 s (the chaos cluster's minimum is 1 s), so that faults longer than that end sessions while their holders
 * are inside. Inside, a holder writes its fencing token twice, a short pause apart, to a register with a transaction
 * that refuses a token below the last one written:
 * {@code txn If(value(chaos/fence/token) < TOKEN+1) Then(put chaos/fence/token TOKEN, put chaos/fence/register HOLDER/TOKEN/SEQ)}
 * (tokens as 19 zero-padded digits, so that the byte order of values is their numeric order). {@link LockHolderCheck}
 * then checks the sections and the writes. A holder whose session is lost opens another.
 *
 * <p>Faults end sessions rarely (a new leader extends every lease), so one section in {@value #PAUSED_ONE_IN} stands for a
 * holder paused past its TTL (a GC pause): after its first write, its lease is revoked, as the leader revokes a lease
 * whose keepalives stopped, and it writes again {@value #PAUSE_PAST_TTL_MS_MIN}-{@value #PAUSE_PAST_TTL_MS_MAX} ms later
 * without knowing: by then the next holder has the lock and has written, and the fence must refuse the late write.
 */
final class ChaosLockHolders {

    /** Deliberate holder bugs, for the test that shows the check finds them. */
    enum Bug {
        NONE,
        /** Enters its section as soon as its key is queued, without waiting to be the head: two holders at once. */
        SKIPS_THE_QUEUE,
        /** Writes its token without the fence's compare: a holder that lost its lock overwrites a later one's. */
        WRITES_UNFENCED
    }

    static final String LOCK = "chaos/lock";
    static final byte[] TOKEN_KEY = "chaos/fence/token".getBytes(StandardCharsets.UTF_8);
    static final byte[] REGISTER_KEY = "chaos/fence/register".getBytes(StandardCharsets.UTF_8);
    private static final long SESSION_TTL_SECONDS = 2;
    private static final Duration CLIENT_DEADLINE = Duration.ofSeconds(2);
    private static final Duration LOCK_WAIT = Duration.ofSeconds(3);
    private static final int WRITES_PER_SECTION = 2;
    private static final int PAUSE_MS_MAX = 100;
    private static final long FAILURE_PAUSE_MS = 100;
    static final int PAUSED_ONE_IN = 10;
    private static final int PAUSE_PAST_TTL_MS_MIN = 300;
    private static final int PAUSE_PAST_TTL_MS_MAX = 600;

    private final List<InetSocketAddress> endpoints;
    private final long seed;
    private final List<Section> sections = Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    /** Holder h has bugs[(h - 1) % size]; NONE but in the test of the check. */
    List<Bug> bugs = List.of(Bug.NONE);
    /** One section in this many stands for a holder paused past its TTL (the test of the check makes it more). */
    int pausedOneIn = PAUSED_ONE_IN;

    ChaosLockHolders(List<InetSocketAddress> endpoints, long seed) {
        this.endpoints = List.copyOf(endpoints);
        this.seed = seed;
    }

    static byte[] token(long token) {
        return String.format("%019d", token).getBytes(StandardCharsets.US_ASCII);
    }

    /** Writes token 0 to the register (a compare of a value needs the key to exist), then starts {@code holders} holders. */
    void start(RaftKvClient control, int holders, AtomicBoolean running) {
        control.put(TOKEN_KEY, token(0));
        for (int h = 1; h <= holders; h++) {
            int holder = h;
            Thread t = new Thread(() -> hold(holder, running), "chaos-lock-holder-" + h);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
    }

    List<Thread> threads() {
        return threads;
    }

    private void hold(int holder, AtomicBoolean running) {
        Random random = new Random(seed * 1000 + 900 + holder);
        Bug bug = bugs.get((holder - 1) % bugs.size());
        try (RaftKvClient client = new RaftKvClient(endpoints, CLIENT_DEADLINE)) {
            LeaseSession session = null;
            while (running.get()) {
                if (session == null || session.done().isDone()) {
                    closeQuietly(session);
                    session = null;
                    try {
                        session = LeaseSession.open(client, SESSION_TTL_SECONDS);
                    } catch (RaftKvException e) {
                        pause(FAILURE_PAUSE_MS);
                        continue;
                    }
                }
                Optional<HeldLock> held;
                try {
                    held = bug == Bug.SKIPS_THE_QUEUE ? skipTheQueue(session) : new Mutex(session, LOCK).lock(LOCK_WAIT);
                } catch (RaftKvException e) {
                    pause(FAILURE_PAUSE_MS); // the session was lost while waiting, or the cluster refused: a new try
                    continue;
                } catch (IllegalStateException e) {
                    // The last unlock's delete is still going on in the background: a new session, the old one revoked.
                    closeQuietly(session);
                    session = null;
                    continue;
                }
                if (held.isEmpty()) continue;
                sections.add(section(holder, client, held.get(), random, bug));
            }
            closeQuietly(session);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** {@link Bug#SKIPS_THE_QUEUE}: the key put, the lock taken as held at once. */
    private static Optional<HeldLock> skipTheQueue(LeaseSession session) throws InterruptedException {
        QueuedKey q = QueuedKey.join(session, LOCK.getBytes(StandardCharsets.UTF_8), new byte[0], QueuedKey.deadlineAfter(LOCK_WAIT));
        return Optional.ofNullable(q == null ? null : new HeldLock(q, q.createRevision()));
    }

    /** The critical section: the fenced writes, a pause between them, then the unlock. */
    private Section section(int holder, RaftKvClient client, HeldLock held, Random random, Bug bug) {
        long token = held.fencingToken();
        long enter = System.nanoTime();
        List<Write> writes = new ArrayList<>();
        boolean pausedPastTtl = random.nextInt(pausedOneIn) == 0;
        for (int seq = 1; seq <= WRITES_PER_SECTION; seq++) {
            writes.add(write(client, holder, token, seq, bug == Bug.WRITES_UNFENCED));
            if (seq == 1 && pausedPastTtl) {
                try {
                    client.revoke(held.session().leaseId());
                } catch (RaftKvException e) {
                    // Not revoked (no leader in time): the section goes on as an ordinary one.
                }
                pause(PAUSE_PAST_TTL_MS_MIN + random.nextInt(PAUSE_PAST_TTL_MS_MAX - PAUSE_PAST_TTL_MS_MIN));
            } else {
                pause(1 + random.nextInt(PAUSE_MS_MAX));
            }
        }
        long exit = System.nanoTime();
        Release release;
        try {
            release = held.unlock() ? Release.HELD : Release.LOST;
        } catch (RaftKvException e) {
            release = Release.UNKNOWN;
        }
        return new Section(holder, token, enter, exit, writes, release);
    }

    private static Write write(RaftKvClient client, int holder, long token, int seq, boolean unfenced) {
        List<Compare> fence = unfenced ? List.of() : List.of(Compare.value(TOKEN_KEY, Compare.Result.LESS, token(token + 1)));
        TxnRequest fenced = new TxnRequest(fence,
                List.of(new TxnOp.Put(TOKEN_KEY, token(token), false),
                        new TxnOp.Put(REGISTER_KEY, (holder + "/" + token + "/" + seq).getBytes(StandardCharsets.UTF_8), false)),
                List.of());
        long invoke = System.nanoTime();
        try {
            ClientResponse.TxnResult r = client.txn(fenced);
            return new Write(seq, invoke, System.nanoTime(), r.succeeded() ? Outcome.ACCEPTED : Outcome.REFUSED, r.header().revision());
        } catch (RaftKvException e) {
            Outcome o = e.kind() == RaftKvException.Kind.OUTCOME_UNKNOWN ? Outcome.UNKNOWN : Outcome.NOT_APPLIED;
            return new Write(seq, invoke, System.nanoTime(), o, 0);
        }
    }

    private static void closeQuietly(LeaseSession session) {
        if (session == null) return;
        try {
            session.close();
        } catch (RaftKvException e) {
            // Its lease ends by itself within its TTL.
        }
    }

    /** A holder's pause inside its section or after a failure: the workload's pace, not a wait for the cluster. */
    private static void pause(long ms) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    /** Reads the register's final token and checks every section (after the holders stopped). */
    LockHolderCheck.Result check(RaftKvClient control) {
        long finalToken = LocalCluster.await(Duration.ofSeconds(30), "a final read of the fence's token", () -> {
            try {
                return control.get(TOKEN_KEY, false).map(v -> Long.parseLong(new String(v, StandardCharsets.US_ASCII))).orElse(-1L);
            } catch (RaftKvException e) {
                return null;
            }
        });
        List<Section> all;
        synchronized (sections) {
            all = new ArrayList<>(sections);
        }
        LockHolderCheck.Result r = LockHolderCheck.check(all, finalToken);
        if (all.isEmpty()) {
            List<String> problems = new ArrayList<>(r.problems());
            problems.add("the lock holders never held the lock");
            return new LockHolderCheck.Result(problems, 0, 0, 0, 0, 0, 0);
        }
        return r;
    }

    /** Every section, one line each, for the failure report. */
    List<String> dump() {
        List<String> lines = new ArrayList<>();
        synchronized (sections) {
            for (Section s : sections) lines.add(s.toString());
        }
        return lines;
    }
}
