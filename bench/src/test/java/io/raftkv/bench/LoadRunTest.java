package io.raftkv.bench;

import io.raftkv.client.RaftKvException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loops and the phases of a run against targets made for each case: no cluster. */
class LoadRunTest {

    private final ScheduledExecutorService server = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        server.shutdownNow();
    }

    /** A target whose puts complete as {@code put} says; nothing else is asked of it. */
    private static KvTarget puts(Supplier<CompletableFuture<?>> put) {
        return new KvTarget() {
            @Override
            public CompletableFuture<?> put(byte[] key, byte[] value) {
                return put.get();
            }

            @Override
            public CompletableFuture<?> get(byte[] key, boolean serializable) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<Versioned> read(byte[] key) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
            }
        };
    }

    /** Each put answered {@code millis} after it was asked. */
    private KvTarget slowPuts(long millis) {
        return puts(() -> {
            CompletableFuture<Object> f = new CompletableFuture<>();
            server.schedule(() -> f.complete(null), millis, TimeUnit.MILLISECONDS);
            return f;
        });
    }

    private static LoadGenerator.Result run(KvTarget target, String... flags) throws InterruptedException {
        LoadGenerator.Options o = LoadGenerator.Options.parse(flags);
        return LoadGenerator.run(o, target, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    }

    @Test
    void theOpenLoopCountsLatencyFromTheScheduleSoThatAStallIsNotHidden() throws Exception {
        // 1,000 puts/s asked of a store that serves 100/s one at a time: each put waits for those before it. A closed
        // loop would report 10 ms for every put; from the schedule, put k has waited about 9 k ms.
        LoadGenerator.Result r = run(slowPuts(10), "--endpoints", "x:1", "--ops", "40", "--rate", "1000", "--concurrency", "1");
        assertEquals(40, r.ops());
        assertTrue(r.percentileMs(50) > 100, "p50 from the schedule: " + r.percentileMs(50));
        assertTrue(r.latency().getMaxValue() / 1000.0 > 300, "the last put waited for 39 before it: " + r.latency().getMaxValue());
        assertTrue(r.throughput() < 150, "achieved about 100/s of the 1,000 asked: " + r.throughput());
        assertTrue(r.heldBack() > 30, "the cap of 1 in flight held the puts back: " + r.heldBack());
    }

    @Test
    void theOpenLoopKeepsItsRateWhenTheStoreKeepsUp() throws Exception {
        LoadGenerator.Result r = run(slowPuts(1), "--endpoints", "x:1", "--duration", "1", "--rate", "500", "--concurrency", "64");
        assertTrue(Math.abs(r.throughput() - 500) < 60, "achieved " + r.throughput() + " of 500/s");
        assertTrue(r.percentileMs(50) < 20, "p50 " + r.percentileMs(50));
        assertEquals(0, r.missed());
        assertEquals(0, r.unfinished());
    }

    @Test
    void aRunAgainstAStoreThatNeverAnswersStopsAtItsDurationAndCountsWhatWasInFlight() throws Exception {
        for (String loop : List.of("closed", "open")) {
            long start = System.nanoTime();
            LoadGenerator.Result r = loop.equals("closed")
                    ? run(puts(CompletableFuture::new), "--endpoints", "x:1", "--duration", "1", "--concurrency", "4")
                    : run(puts(CompletableFuture::new), "--endpoints", "x:1", "--duration", "1", "--concurrency", "4", "--rate", "100");
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 3.5, loop + ": the duration and a second without answers, not the clients' deadline: " + seconds);
            assertEquals(0, r.ops(), loop);
            assertEquals(4, r.unfinished(), loop + ": every slot was waiting");
            if (loop.equals("open")) assertTrue(r.missed() > 50, "the schedule went on without slots: " + r.missed());
        }
    }

    @Test
    void errorsAreCountedByKindWithTheFirstOfEach() throws Exception {
        AtomicInteger n = new AtomicInteger();
        LoadGenerator.Result r = run(puts(() -> {
            int i = n.getAndIncrement();
            if (i % 3 == 0) return CompletableFuture.completedFuture(null);
            if (i % 3 == 1) return CompletableFuture.failedFuture(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "no leader #" + i));
            return CompletableFuture.failedFuture(new IllegalStateException("broken #" + i));
        }), "--endpoints", "x:1", "--ops", "30", "--concurrency", "1");
        assertEquals(10, r.ops());
        assertEquals(20, r.errors());
        List<ErrorTally.Kind> kinds = r.errorKinds().kinds();
        assertEquals(2, kinds.size(), kinds.toString());
        assertTrue(kinds.contains(new ErrorTally.Kind("RaftKvException UNAVAILABLE", 10, new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "no leader #1").toString())),
                kinds.toString());
        assertTrue(kinds.contains(new ErrorTally.Kind("IllegalStateException", 10, "java.lang.IllegalStateException: broken #2")), kinds.toString());
        assertTrue(r.json().contains("\"errors_by_kind\": [{\"kind\": "), r.json());
    }

    @Test
    void theWarmUpRunsUntilTheClientsCpuPerOperationSettles() throws Exception {
        LoadGenerator.Result r = run(slowPuts(1), "--endpoints", "x:1", "--duration", "0.5", "--concurrency", "8",
                "--warmup-max-seconds", "5", "--warmup-window-seconds", "0.25");
        assertTrue(r.warmup().seconds() >= 0.5, "two windows at least: " + r.warmup());
        assertTrue(r.warmup().windowsMicrosPerOp().size() >= 2, r.warmup().toString());
        assertTrue(r.warmup().settled() || r.warmup().seconds() >= 5, r.warmup().toString());
        assertTrue(r.clientCpuMicrosPerOp() > 0, "this JVM's CPU per put: " + r.clientCpuMicrosPerOp());
    }

    /**
     * Connections that answer each on a thread of their own, as a client's reader does, and fail an operation asked from
     * another connection's thread: what the closed loop and an increment's retry start from an answer must go out on
     * the connection the answer came in on.
     */
    private static final class Connections implements KvTarget {
        final List<Connection> all = new java.util.ArrayList<>();
        final AtomicInteger crossed = new AtomicInteger();

        Connections(int n) {
            for (int i = 0; i < n; i++) all.add(new Connection());
        }

        @Override
        public KvTarget slot(int slot) {
            return all.get(Math.floorMod(slot, all.size()));
        }

        final class Connection implements KvTarget {
            final java.util.concurrent.ExecutorService reader = Executors.newSingleThreadExecutor();
            final AtomicInteger asked = new AtomicInteger();
            final Thread readerThread;
            final AtomicInteger compares = new AtomicInteger();

            Connection() {
                try {
                    readerThread = reader.submit(Thread::currentThread).get();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }

            private <T> CompletableFuture<T> answer(T value) {
                asked.incrementAndGet();
                for (Connection c : all) if (c != this && Thread.currentThread() == c.readerThread) crossed.incrementAndGet();
                return CompletableFuture.supplyAsync(() -> value, reader);
            }

            @Override
            public CompletableFuture<?> put(byte[] key, byte[] value) {
                return answer(null);
            }

            @Override
            public CompletableFuture<?> get(byte[] key, boolean serializable) {
                return answer(null);
            }

            @Override
            public CompletableFuture<Versioned> read(byte[] key) {
                return answer(new Versioned("0".getBytes(StandardCharsets.US_ASCII), 1));
            }

            /** Every other compare fails, so that increments retry from the answer. */
            @Override
            public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
                return answer(compares.getAndIncrement() % 2 == 0 ? new CasResult(false, new Versioned("0".getBytes(StandardCharsets.US_ASCII), 1)) : CasResult.SUCCEEDED);
            }

            @Override
            public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
                return answer(0);
            }

            @Override
            public void close() {
                reader.shutdownNow();
            }
        }

        @Override
        public CompletableFuture<?> put(byte[] key, byte[] value) {
            return all.get(0).put(key, value);
        }

        @Override
        public CompletableFuture<?> get(byte[] key, boolean serializable) {
            return all.get(0).get(key, serializable);
        }

        @Override
        public CompletableFuture<Versioned> read(byte[] key) {
            return all.get(0).read(key);
        }

        @Override
        public CompletableFuture<CasResult> putIfModRevision(byte[] key, long expectedModRevision, byte[] value) {
            return all.get(0).putIfModRevision(key, expectedModRevision, value);
        }

        @Override
        public CompletableFuture<Integer> range(byte[] key, byte[] rangeEnd) {
            return all.get(0).range(key, rangeEnd);
        }

        @Override
        public void close() {
            all.forEach(Connection::close);
        }
    }

    @Test
    void eachSlotKeepsItsConnectionSoThatAnAnswerStartsTheNextOperationWhereItCameIn() throws Exception {
        try (Connections target = new Connections(3)) {
            LoadGenerator.Result r = run(target, "--endpoints", "x:1", "--workload", "mix", "--mix", "get=1,put=1,txn-cas=1",
                    "--ops", "3000", "--concurrency", "6", "--counters", "2");
            assertEquals(3000, r.ops());
            assertEquals(0, r.errors());
            assertEquals(0, target.crossed.get(), "operations asked from another connection's reader");
            for (Connections.Connection c : target.all) assertTrue(c.asked.get() > 0, "every connection used: " + c.asked.get());
        }
    }
}
