package io.raftkv.client;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.RangeRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Locks (etcd's Mutex) on three real node processes (an election timeout of 500 ms: leases of 1 s at least): mutual
 * exclusion among threads, waiters served in the order they queued, each waiter watching its predecessor only, and a
 * holder whose session ends handing the lock on.
 */
class MutexClusterTest {

    private static final Duration ELECTION_DEADLINE = Duration.ofSeconds(20);
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static RaftKvClient client;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = new LocalCluster(dir, 3).startAll();
        client = cluster.client();
        cluster.awaitLeader(client, ELECTION_DEADLINE);
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (client != null) client.close();
        if (cluster != null) cluster.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<KeyValue> queue(String name) {
        return client.range(RangeRequest.prefix(b(name + "/"))).kvs();
    }

    @Test
    void threadsTakingOneLockNeverOverlapAndTheirTokensRise() throws Exception {
        int threads = 6;
        int rounds = 5;
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        List<Long> tokens = Collections.synchronizedList(new ArrayList<>());
        client.put("mx/counter", "0");
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            done.add(f);
            Thread worker = new Thread(() -> {
                try (LeaseSession session = LeaseSession.open(client, 10)) {
                    Mutex mutex = new Mutex(session, "mx/lock");
                    for (int r = 0; r < rounds; r++) {
                        try (HeldLock held = mutex.lock(WAIT).orElseThrow()) {
                            if (inside.incrementAndGet() != 1) overlaps.incrementAndGet();
                            tokens.add(held.fencingToken());
                            // A read-modify-write that only the lock makes safe.
                            int n = Integer.parseInt(client.get("mx/counter"));
                            client.put("mx/counter", Integer.toString(n + 1));
                            inside.decrementAndGet();
                        }
                    }
                    f.complete(null);
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }, "mutex-worker-" + t);
            worker.start();
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        assertEquals(0, overlaps.get(), "two threads were inside at once");
        assertEquals(Integer.toString(threads * rounds), client.get("mx/counter"), "no increment lost");
        List<Long> sorted = new ArrayList<>(tokens);
        Collections.sort(sorted);
        assertEquals(sorted, tokens, "each holder's fencing token is above the one before");
        assertEquals(threads * rounds, tokens.stream().distinct().count());
        assertEquals(List.of(), queue("mx/lock"), "every key was deleted by its unlock");
    }

    /** A thread waiting in lock(); its result once it holds. */
    private static final class Waiter {
        final String name;
        final LeaseSession session;
        final Mutex mutex;
        final CompletableFuture<HeldLock> held = new CompletableFuture<>();

        Waiter(String name, String lock, List<String> order) {
            this.name = name;
            this.session = LeaseSession.open(client, 10);
            this.mutex = new Mutex(session, lock);
            Thread t = new Thread(() -> {
                try {
                    HeldLock h = mutex.lock(WAIT).orElseThrow();
                    order.add(name);
                    held.complete(h);
                } catch (Throwable e) {
                    held.completeExceptionally(e);
                }
            }, "waiter-" + name);
            t.setDaemon(true);
            t.start();
            LocalCluster.await(WAIT, name + " to queue", () -> mutex.latest());
        }

        byte[] key() {
            return mutex.latest().key();
        }

        HeldLock await() throws Exception {
            return held.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
    }

    @Test
    void waitersAreServedInTheOrderTheyQueuedAndEachWatchesOnlyItsPredecessor() throws Exception {
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        try (LeaseSession first = LeaseSession.open(client, 10)) {
            HeldLock head = new Mutex(first, "fifo").lock(WAIT).orElseThrow();
            List<Waiter> waiters = new ArrayList<>();
            for (String name : List.of("b", "c", "d", "e")) waiters.add(new Waiter(name, "fifo", order));
            // Each waits for the key just ahead of it, never for the head (unless it is next).
            List<byte[]> keys = new ArrayList<>(List.of(head.key()));
            for (Waiter w : waiters) keys.add(w.key());
            for (int i = 0; i < waiters.size(); i++) {
                Waiter w = waiters.get(i);
                byte[] predecessor = keys.get(i);
                LocalCluster.await(WAIT, w.name + " to watch its predecessor", () -> Arrays.equals(w.mutex.latest().watching(), predecessor) ? true : null);
            }
            assertEquals(List.of(), order, "no waiter holds while the head does");

            assertTrue(head.unlock());
            HeldLock b = waiters.get(0).await();
            // Only the next waiter was woken by the release; the others still watch the same keys as before.
            assertEquals(1, waiters.get(0).mutex.latest().wakeups());
            for (Waiter w : waiters.subList(1, waiters.size())) assertEquals(0, w.mutex.latest().wakeups(), w.name + " was woken too");
            assertTrue(b.fencingToken() > head.fencingToken());
            assertEquals(List.of("b"), order);

            HeldLock previous = b;
            for (Waiter w : waiters.subList(1, waiters.size())) {
                assertTrue(previous.unlock());
                HeldLock next = w.await();
                assertTrue(next.fencingToken() > previous.fencingToken());
                previous = next;
            }
            assertTrue(previous.unlock());
            assertEquals(List.of("b", "c", "d", "e"), order, "first queued, first served");
            for (Waiter w : waiters) {
                assertEquals(1, w.mutex.latest().wakeups(), w.name + ": one wakeup, by its own predecessor's release");
                w.session.close();
            }
        }
        assertEquals(List.of(), queue("fifo"));
    }

    @Test
    void aHolderWhoseLeaseIsRevokedHandsTheLockOnAndIsTold() throws Exception {
        List<String> order = Collections.synchronizedList(new ArrayList<>());
        LeaseSession holderSession = LeaseSession.open(client, 10);
        HeldLock held = new Mutex(holderSession, "revoked").lock(WAIT).orElseThrow();
        Waiter next = new Waiter("next", "revoked", order);
        try (RaftKvClient other = cluster.client()) {
            other.revoke(holderSession.leaseId()); // as the leader does when the lease expires
        }
        HeldLock nextHeld = next.await();
        assertTrue(nextHeld.fencingToken() > held.fencingToken());
        ExecutionException lost = assertThrows(ExecutionException.class, () -> holderSession.done().get(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, assertInstanceOf(RaftKvException.class, lost.getCause()).errorCode(), "the session says it is lost");
        assertFalse(held.unlock(), "the old holder learns its key was gone");
        assertEquals(1, queue("revoked").size(), "and its unlock did not touch the new holder's key");
        RaftKvException refused = assertThrows(RaftKvException.class, () -> new Mutex(holderSession, "elsewhere").lock(WAIT));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, refused.errorCode(), "a lost session cannot queue: " + refused.getMessage());
        holderSession.close();
        assertTrue(nextHeld.unlock());
        next.session.close();
    }

    @Test
    void aHolderThatDiesWithoutUnlockingReleasesTheLockWhenItsLeaseExpires() throws Exception {
        long ttl = 3;
        RaftKvClient dying = cluster.client();
        LeaseSession holderSession = LeaseSession.open(dying, ttl);
        HeldLock held = new Mutex(holderSession, "dies").lock(WAIT).orElseThrow();
        Waiter next = new Waiter("next", "dies", new ArrayList<>());
        long died = System.nanoTime();
        dying.close(); // the process is gone: no unlock, no revoke, no more keepalives
        HeldLock nextHeld = next.await();
        long afterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - died);
        // The last keepalive was at most TTL/3 before the death: the lease had two thirds of its TTL left at least.
        assertTrue(afterMs >= ttl * 1000 * 2 / 3 - 100, "handed on " + afterMs + " ms after the holder died: before its lease could expire");
        assertTrue(nextHeld.fencingToken() > held.fencingToken());
        assertEquals(List.of(nextHeld.keyString()), queue("dies").stream().map(kv -> new String(kv.key(), StandardCharsets.UTF_8)).toList());
        assertTrue(nextHeld.unlock());
        next.session.close();
    }

    @Test
    void closingTheSessionReleasesItsLocksAtOnce() throws Exception {
        LeaseSession holderSession = LeaseSession.open(client, 60);
        new Mutex(holderSession, "closed").lock(WAIT).orElseThrow();
        Waiter next = new Waiter("next", "closed", new ArrayList<>());
        holderSession.close(); // revokes: the key goes now, not a TTL later
        long start = System.nanoTime();
        HeldLock nextHeld = next.await();
        assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 10, "handed on at the revoke");
        nextHeld.unlock();
        next.session.close();
    }

    @Test
    void tryLockTimeoutAndInterruptLeaveNoKeyBehind() throws Exception {
        try (LeaseSession a = LeaseSession.open(client, 10); LeaseSession b = LeaseSession.open(client, 10)) {
            Optional<HeldLock> first = new Mutex(a, "try").tryLock();
            assertTrue(first.isPresent(), "a free lock is taken");
            Mutex contender = new Mutex(b, "try");
            assertEquals(Optional.empty(), contender.tryLock(), "a held one is not");
            assertEquals(1, queue("try").size(), "the failed tryLock removed its key");

            long start = System.nanoTime();
            assertEquals(Optional.empty(), contender.lock(Duration.ofMillis(700)), "a lock that times out");
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) >= 700);
            assertEquals(1, queue("try").size(), "the timed-out lock removed its key");

            CompletableFuture<Throwable> interrupted = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    contender.lock(WAIT);
                    interrupted.complete(null);
                } catch (Throwable e) {
                    interrupted.complete(e);
                }
            });
            t.start();
            LocalCluster.await(WAIT, "the contender to watch the holder's key", () -> {
                QueuedKey q = contender.latest();
                return q != null && Arrays.equals(q.watching(), first.get().key()) ? true : null;
            });
            t.interrupt();
            assertInstanceOf(InterruptedException.class, interrupted.get(WAIT.toSeconds(), TimeUnit.SECONDS));
            LocalCluster.await(WAIT, "the interrupted lock's key to be removed", () -> queue("try").size() == 1 ? true : null);

            assertThrows(IllegalStateException.class, () -> new Mutex(a, "try").tryLock(), "one session, one key under a name");
            assertTrue(first.get().unlock());
            assertFalse(first.get().unlock(), "a second unlock does nothing");
            HeldLock now = contender.tryLock().orElseThrow();
            assertArrayEquals(b("try/" + CtlPrinter.leaseId(b.leaseId())), now.key(), "the key is NAME/LEASE as etcd's");
            assertTrue(now.revision() >= now.fencingToken());
            now.unlock();
        }
        assertEquals(List.of(), queue("try"));
    }
}
