package io.raftkv.client;

import io.raftkv.client.CasCounterCheck.Increment;
import io.raftkv.client.CasCounterCheck.Outcome;
import io.raftkv.client.CasCounterCheck.Seen;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Clients that increment a few shared counters with compare-and-swap transactions, etcd's optimistic
 * concurrency: read the counter (count and mod_revision), then
 * {@code txn().If(mod_revision(counter) = read).Then(put counter count+1, put token key count+1).Else(range counter)}
 * and, when the compare failed, try again from what the Else branch read. Each increment carries a token of its
 * own (client id and sequence number), so {@link CasCounterCheck} can tell at the end exactly which increments
 * were applied, and how often.
 *
 * <p>A client keeps an increment's token while the cluster says its attempts were not applied (compare failed,
 * refused, no leader) and takes a new one after an answer was lost (the increment's outcome is then unknown).
 * Reads go half through the client's preferred node, half through a chosen node (a follower asks the leader for a
 * read index); every answer's header revision is recorded in the client's order.
 */
final class CasCounterWorkload {

    /** Deliberate client bugs, for the test that shows the check finds them. */
    enum Bug {
        NONE,
        /** Puts count+1 without the compare: concurrent increments overwrite each other (lost updates). */
        BLIND_WRITE,
        /** Takes a lost answer for "not applied" and retries the same token: increments applied twice. */
        UNKNOWN_RETRIED
    }

    private static final long READ_FAILURE_PAUSE_MS = 20;
    /** Keys per page of the final read. */
    private static final int PAGE_KEYS = 1_000;

    private final int counters;
    private final List<InetSocketAddress> nodes;
    private final Duration deadline;
    private final List<Increment> increments = Collections.synchronizedList(new ArrayList<>());
    private final Map<Integer, List<Seen>> seen = new ConcurrentHashMap<>();
    private final AtomicLong attempts = new AtomicLong();
    private final AtomicLong compareFailures = new AtomicLong();
    /** Deliberate client bugs, client i having bugs[(i - 1) % size]; NONE but in the test of the check. */
    List<Bug> bugs = List.of(Bug.NONE);
    /** The deadline of a transaction (the reads use {@link #deadline}); a test of the check makes it short to lose answers. */
    Duration txnDeadline;

    CasCounterWorkload(int counters, List<InetSocketAddress> nodes, Duration deadline) {
        this.counters = counters;
        this.nodes = List.copyOf(nodes);
        this.deadline = deadline;
        this.txnDeadline = deadline;
    }

    /** The state of a counter as read: its count and mod_revision (0 and 0 while it does not exist). */
    private record State(long count, long modRevision) {
        static State of(List<KeyValue> kvs) {
            if (kvs.isEmpty()) return new State(0, 0);
            KeyValue kv = kvs.get(0);
            return new State(Long.parseLong(new String(kv.value(), StandardCharsets.UTF_8)), kv.modRevision());
        }
    }

    Thread start(int id, long seed, AtomicBoolean running) {
        List<Seen> mine = Collections.synchronizedList(new ArrayList<>());
        seen.put(id, mine);
        Bug bug = bugs.get((id - 1) % bugs.size());
        Thread t = new Thread(() -> run(id, bug, new Random(seed), running, mine), "cas-client-" + id);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void run(int id, Bug bug, Random r, AtomicBoolean running, List<Seen> mine) {
        List<RaftKvClient> single = new ArrayList<>();
        try (RaftKvClient any = new RaftKvClient(nodes, deadline); RaftKvClient writer = new RaftKvClient(nodes, txnDeadline)) {
            for (InetSocketAddress n : nodes) single.add(new RaftKvClient(List.of(n), deadline));
            long seq = 0;
            while (running.get()) {
                int counter = r.nextInt(counters);
                String token = id + "." + (++seq);
                State state = null;
                long invoke = 0;
                boolean sent = false;
                while (true) {
                    if (!running.get()) {
                        // Every attempt of this token was refused or failed its compare: it must never show up.
                        if (sent) increments.add(new Increment(token, counter, Outcome.NOT_APPLIED, 0, 0, invoke, System.nanoTime()));
                        break;
                    }
                    if (state == null) {
                        state = read(counter, r.nextBoolean() ? any : single.get(r.nextInt(single.size())), mine);
                        if (state == null) {
                            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(READ_FAILURE_PAUSE_MS));
                            continue;
                        }
                    }
                    invoke = System.nanoTime();
                    sent = true;
                    attempts.incrementAndGet();
                    try {
                        ClientResponse.TxnResult t = writer.txn(increment(counter, token, state, bug));
                        mine.add(new Seen(t.header().revision(), t.succeeded(), t.header().memberId(),
                                (t.succeeded() ? "increment " : "failed compare of ") + counter + "/" + token));
                        if (t.succeeded()) {
                            increments.add(new Increment(token, counter, Outcome.ACKNOWLEDGED, state.count() + 1, t.header().revision(), invoke, System.nanoTime()));
                            break;
                        }
                        compareFailures.incrementAndGet();
                        state = State.of(((OpResult.Range) t.results().get(0)).kvs());
                    } catch (RaftKvException e) {
                        if (e.kind() == RaftKvException.Kind.OUTCOME_UNKNOWN && bug != Bug.UNKNOWN_RETRIED) {
                            increments.add(new Increment(token, counter, Outcome.UNKNOWN, state.count() + 1, 0, invoke, System.nanoTime()));
                            break;
                        }
                        state = null; // not applied (refused, no leader): read again, same token
                    }
                }
            }
        } finally {
            single.forEach(RaftKvClient::close);
        }
    }

    private static TxnRequest increment(int counter, String token, State state, Bug bug) {
        byte[] count = Long.toString(state.count() + 1).getBytes(StandardCharsets.UTF_8);
        byte[] counterKey = utf8(CasCounterCheck.counterKey(counter));
        List<Compare> compares = bug == Bug.BLIND_WRITE ? List.of() : List.of(Compare.modRevision(counterKey, Compare.Result.EQUAL, state.modRevision()));
        return new TxnRequest(compares,
                List.of(new TxnOp.Put(counterKey, count, false), new TxnOp.Put(utf8(CasCounterCheck.tokenKey(counter, token)), count, false)),
                List.of(new TxnOp.Range(RangeRequest.key(counterKey))));
    }

    private State read(int counter, RaftKvClient client, List<Seen> mine) {
        try {
            ClientResponse.RangeResult rr = client.range(RangeRequest.key(utf8(CasCounterCheck.counterKey(counter))));
            mine.add(new Seen(rr.header().revision(), false, rr.header().memberId(), "read of counter " + counter));
            return State.of(rr.kvs());
        } catch (RaftKvException e) {
            return null;
        }
    }

    /** Every key of the workload and the revision they were read at. */
    record Stored(long revision, List<KeyValue> kvs) { }

    /** Every key of the workload, read at one revision (linearizable, page by page), once the clients have stopped. */
    static Stored readAll(RaftKvClient client) {
        byte[] prefix = utf8(CasCounterCheck.PREFIX);
        byte[] end = RangeRequest.prefixEnd(prefix);
        ClientResponse.RangeResult page = client.range(RangeRequest.prefix(prefix).withLimit(PAGE_KEYS));
        long revision = page.header().revision();
        List<KeyValue> all = new ArrayList<>(page.kvs());
        while (page.more()) {
            byte[] last = all.get(all.size() - 1).key();
            byte[] next = Arrays.copyOf(last, last.length + 1); // the smallest key after the last one read
            page = client.range(RangeRequest.range(next, end).withLimit(PAGE_KEYS).atRevision(revision));
            all.addAll(page.kvs());
        }
        return new Stored(revision, all);
    }

    CasCounterCheck.Result check(Stored stored) {
        List<Increment> incs;
        synchronized (increments) {
            incs = new ArrayList<>(increments);
        }
        Map<Integer, List<Seen>> copy = new TreeMap<>();
        seen.forEach((id, list) -> {
            synchronized (list) {
                copy.put(id, new ArrayList<>(list));
            }
        });
        return CasCounterCheck.check(counters, incs, copy, stored.revision(), stored.kvs());
    }

    long attempts() {
        return attempts.get();
    }

    long compareFailures() {
        return compareFailures.get();
    }

    /** The recorded increments and revisions, for the file a failed run writes. */
    List<String> dump() {
        List<String> lines = new ArrayList<>();
        synchronized (increments) {
            increments.forEach(i -> lines.add(i.toString()));
        }
        new TreeMap<>(seen).forEach((id, list) -> {
            synchronized (list) {
                list.forEach(s -> lines.add("client " + id + " " + s));
            }
        });
        return lines;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
