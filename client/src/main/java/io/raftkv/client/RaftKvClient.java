package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchRequest;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The raftkv client. Talks to any node of the cluster: follows NOT_LEADER answers to the leader by itself,
 * reconnects and retries elsewhere when a node dies, within a deadline per operation. Requests are
 * pipelined on one connection per node. Async methods return {@link CompletableFuture}s; the blocking
 * ones wait for them.
 *
 * <p>Retries never apply a write twice: a write is retried only when the cluster says it was not applied
 * (NOT_LEADER, a leader change that replaced it, overload, or a connection that failed before it was written).
 * A write whose answer is lost fails with {@link RaftKvException.Kind#OUTCOME_UNKNOWN}. Membership changes and
 * leader transfers are writes.
 *
 * <p>The endpoints follow the cluster's membership: every member list the client is answered (from
 * {@link #members()} or a membership change) replaces them with the members' addresses, voters first, unless it is
 * older than one already taken (its config index is lower); a NOT_LEADER naming an address the client does not know
 * adds it. The node the client talks to stays its first choice while it is a member.
 */
public final class RaftKvClient implements AutoCloseable {

    private static final long BACKOFF_MS = 50;
    private static final int CONNECT_TIMEOUT_MS = 1_000;
    private static final int FRAME_BYTES_MAX = 8 << 20;
    private static final int PENDING_PER_CONNECTION_MAX = 100_000;
    /** A read unanswered for this long is asked again elsewhere: reads change nothing. */
    private static final long READ_ATTEMPT_MS = 2_000;
    /** Endpoints the client keeps at most: as many as a cluster has members; NOT_LEADER adds no more past it. */
    private static final int ENDPOINTS_MAX = ClientCodec.MEMBERS_MAX;

    /** Replaced whole (copy on write), under {@link #endpointsLock}; read without a lock by callers and the I/O threads. */
    private volatile List<InetSocketAddress> endpoints;
    private final Object endpointsLock = new Object();
    /** The config index of the member list the endpoints come from; guarded by {@link #endpointsLock}. */
    private long endpointsConfigIndex = Long.MIN_VALUE;
    private final long deadlineMs;
    private final Map<InetSocketAddress, NodeConnection> connections = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler;
    private final AtomicLong requestIds = new AtomicLong();
    private volatile InetSocketAddress preferred;
    private volatile boolean closed;
    /** Made at the first watch; guarded by {@link #endpointsLock}. */
    private ClientWatches watches;
    /** Every operation not yet completed, and whether it is a write: close() fails them all. */
    private final Map<CompletableFuture<?>, Boolean> inflight = new ConcurrentHashMap<>();

    public RaftKvClient(List<InetSocketAddress> endpoints, Duration deadline) {
        if (endpoints.isEmpty()) throw new IllegalArgumentException("no endpoints");
        if (endpoints.size() > ENDPOINTS_MAX) throw new IllegalArgumentException(endpoints.size() + " endpoints are over the limit of " + ENDPOINTS_MAX);
        this.endpoints = List.copyOf(endpoints);
        this.deadlineMs = deadline.toMillis();
        this.preferred = endpoints.get(0);
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "raftkv-client");
            t.setDaemon(true);
            return t;
        });
    }

    public static RaftKvClient fromConfig(Path nodesConf, Duration deadline) throws IOException {
        List<InetSocketAddress> endpoints = new ArrayList<>();
        for (ClusterConfig.Member m : ClusterConfig.load(nodesConf).members()) endpoints.add(m.address());
        return new RaftKvClient(endpoints, deadline);
    }

    /** Parses {@code host:port,host:port}. */
    public static List<InetSocketAddress> parseEndpoints(String list) {
        List<InetSocketAddress> endpoints = new ArrayList<>();
        for (String part : list.split(",")) {
            part = part.strip();
            if (part.isEmpty()) continue;
            int colon = part.lastIndexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("endpoint '" + part + "' is not host:port");
            endpoints.add(new InetSocketAddress(part.substring(0, colon), Integer.parseInt(part.substring(colon + 1))));
        }
        if (endpoints.isEmpty()) throw new IllegalArgumentException("no endpoints in '" + list + "'");
        return endpoints;
    }

    /** The nodes the client may talk to, as it knows them now (they follow the membership: see the class comment). */
    public List<InetSocketAddress> endpoints() {
        return endpoints;
    }

    // ------------------------------------------------------------------ async API

    public CompletableFuture<Void> putAsync(byte[] key, byte[] value) {
        return execute(id -> new ClientRequest.Put(id, key, value), true, r -> null);
    }

    public CompletableFuture<Void> deleteAsync(byte[] key) {
        return execute(id -> new ClientRequest.Delete(id, key), true, r -> null);
    }

    /** Linearizable unless {@code serializable}; empty when the key is absent. */
    public CompletableFuture<Optional<byte[]>> getAsync(byte[] key, boolean serializable) {
        return execute(id -> new ClientRequest.Get(id, key, serializable), false,
                r -> r instanceof ClientResponse.Value v ? Optional.of(v.value()) : Optional.empty());
    }

    /** A range read (etcd's Range): linearizable unless the request says serializable; retried freely. */
    public CompletableFuture<ClientResponse.RangeResult> rangeAsync(RangeRequest request) {
        return execute(id -> new ClientRequest.Range(id, request), false, r -> (ClientResponse.RangeResult) r);
    }

    /** A transaction; a write, so never retried once it may have been applied. */
    public CompletableFuture<ClientResponse.TxnResult> txnAsync(TxnRequest request) {
        return execute(id -> new ClientRequest.Txn(id, request), true, r -> (ClientResponse.TxnResult) r);
    }

    /** A put with etcd's options: {@code prevKv} returns the key as it was (a transaction without compares). */
    public CompletableFuture<WithHeader<OpResult.Put>> putAsync(byte[] key, byte[] value, boolean prevKv) {
        return txnAsync(new TxnRequest(List.of(), List.of(new TxnOp.Put(key, value, prevKv)), List.of()))
                .thenApply(t -> new WithHeader<>(t.header(), (OpResult.Put) t.results().get(0)));
    }

    /** Deletes {@code key}, or every key of {@code [key, rangeEnd)} by etcd's range conventions; {@code prevKv} returns them. */
    public CompletableFuture<WithHeader<OpResult.DeleteRange>> deleteRangeAsync(byte[] key, byte[] rangeEnd, boolean prevKv) {
        return txnAsync(new TxnRequest(List.of(), List.of(new TxnOp.DeleteRange(key, rangeEnd, prevKv)), List.of()))
                .thenApply(t -> new WithHeader<>(t.header(), (OpResult.DeleteRange) t.results().get(0)));
    }

    /** Drops the history below {@code revision}; the header names the store's revision. */
    public CompletableFuture<ResponseHeader> compactAsync(long revision) {
        return execute(id -> new ClientRequest.Compact(id, revision), true, r -> ((ClientResponse.Ok) r).header());
    }

    /**
     * Watches the keys {@code request} names (etcd's Watch): every change from its start revision (0: from now) goes to
     * {@code listener}, in revision order, exactly once, across node failures (the client moves its watches to another
     * node and resumes each from the revision after the last it delivered). The request's watch id is ignored.
     */
    public Watcher watch(WatchRequest request, WatchListener listener) {
        ClientWatches w;
        synchronized (endpointsLock) {
            if (closed) throw new RaftKvException(RaftKvException.Kind.REJECTED, "the client is closed");
            if (watches == null) watches = new ClientWatches(this::endpoints);
            w = watches;
        }
        return w.watch(request, listener);
    }

    /** A transaction to build: {@code txn().If(...).Then(...).Else(...).commit()}. */
    public Txn txn() {
        return new Txn(this);
    }

    /** The status of one node, asked directly (no redirect). */
    public CompletableFuture<ClientResponse.StatusResult> statusAsync(InetSocketAddress node) {
        CompletableFuture<ClientResponse.StatusResult> result = new CompletableFuture<>();
        onScheduler(result, false, () -> {
            try {
                connection(node).send(new ClientRequest.Status(requestIds.incrementAndGet())).whenComplete((r, e) -> {
                    if (e != null) result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, e.getMessage()));
                    else if (r instanceof ClientResponse.StatusResult s) result.complete(s);
                    else result.completeExceptionally(new RaftKvException(RaftKvException.Kind.REJECTED, String.valueOf(r)));
                });
            } catch (IOException e) {
                result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, node + ": " + e.getMessage()));
            }
        });
        return result.orTimeout(deadlineMs, TimeUnit.MILLISECONDS);
    }

    /** The members as the node the client talks to knows them (any node answers, leader or not); a read, retried freely. */
    public CompletableFuture<MemberList> membersAsync() {
        return execute(ClientRequest.MemberList::new, false, r -> learn(r, false));
    }

    /**
     * Adds node {@code id}, serving peers and clients at {@code address} ({@code host:port}), as a voter or a
     * learner; the members once the change is committed. Refused (REJECTED, with the node's reason) when the id or
     * address is a member's already or another change is pending. An address that is not {@code host:port} throws
     * IllegalArgumentException at once.
     */
    public CompletableFuture<MemberList> addMemberAsync(int id, String address, boolean learner) {
        String problem = MemberInfo.addressProblem(address);
        if (problem != null) throw new IllegalArgumentException(problem);
        return execute(requestId -> new ClientRequest.MemberAdd(requestId, id, address, learner), true, r -> learn(r, false));
    }

    /** Removes member {@code id} (the leader too: it hands over first); the members once the change is committed. */
    public CompletableFuture<MemberList> removeMemberAsync(int id) {
        return execute(requestId -> new ClientRequest.MemberRemove(requestId, id), true, r -> learn(r, false));
    }

    /** Makes learner {@code id} a voter, once it has caught up with the leader; the members once the change is committed. */
    public CompletableFuture<MemberList> promoteMemberAsync(int id) {
        return execute(requestId -> new ClientRequest.MemberPromote(requestId, id), true, r -> learn(r, false));
    }

    /** Hands the leadership to voter {@code id}; the members once it leads. The client then talks to it first. */
    public CompletableFuture<MemberList> moveLeaderAsync(int id) {
        return execute(requestId -> new ClientRequest.MoveLeader(requestId, id), true, r -> learn(r, true));
    }

    // ------------------------------------------------------------------ blocking API

    public void put(byte[] key, byte[] value) {
        awaitWrite(putAsync(key, value));
    }

    public void delete(byte[] key) {
        awaitWrite(deleteAsync(key));
    }

    public Optional<byte[]> get(byte[] key, boolean serializable) {
        return await(getAsync(key, serializable));
    }

    public void put(String key, String value) {
        put(utf8(key), utf8(value));
    }

    public void delete(String key) {
        delete(utf8(key));
    }

    /** The value as UTF-8, or null when absent. Linearizable. */
    public String get(String key) {
        return get(utf8(key), false).map(v -> new String(v, StandardCharsets.UTF_8)).orElse(null);
    }

    public ClientResponse.RangeResult range(RangeRequest request) {
        return await(rangeAsync(request));
    }

    public ClientResponse.TxnResult txn(TxnRequest request) {
        return awaitWrite(txnAsync(request));
    }

    public WithHeader<OpResult.Put> put(byte[] key, byte[] value, boolean prevKv) {
        return awaitWrite(putAsync(key, value, prevKv));
    }

    public WithHeader<OpResult.DeleteRange> deleteRange(byte[] key, byte[] rangeEnd, boolean prevKv) {
        return awaitWrite(deleteRangeAsync(key, rangeEnd, prevKv));
    }

    public ResponseHeader compact(long revision) {
        return awaitWrite(compactAsync(revision));
    }

    public ClientResponse.StatusResult status(InetSocketAddress node) {
        return await(statusAsync(node));
    }

    public MemberList members() {
        return await(membersAsync());
    }

    public MemberList addMember(int id, String address, boolean learner) {
        return awaitWrite(addMemberAsync(id, address, learner));
    }

    public MemberList removeMember(int id) {
        return awaitWrite(removeMemberAsync(id));
    }

    public MemberList promoteMember(int id) {
        return awaitWrite(promoteMemberAsync(id));
    }

    public MemberList moveLeader(int id) {
        return awaitWrite(moveLeaderAsync(id));
    }

    /** The address of the node the client last found to be the leader (or first tries). */
    public InetSocketAddress preferredEndpoint() {
        return preferred;
    }

    // ------------------------------------------------------------------ retries

    private <T> CompletableFuture<T> execute(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success) {
        CompletableFuture<T> result = new CompletableFuture<>();
        inflight.put(result, write);
        result.whenComplete((r, e) -> inflight.remove(result));
        if (closed) {
            result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client is closed: nothing was sent"));
            return result;
        }
        long deadline = System.currentTimeMillis() + deadlineMs;
        NodeConnection open = connections.get(preferred);
        if (open != null && open.isOpen()) {
            // The common case needs no thread hand-off: send from the caller's thread.
            attempt(build, write, success, result, deadline, preferred, null);
        } else {
            onScheduler(result, write, () -> attempt(build, write, success, result, deadline, preferred, null));
        }
        return result;
    }

    private <T> void attempt(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success,
                             CompletableFuture<T> result, long deadline, InetSocketAddress target, String lastProblem) {
        if (result.isDone()) return;
        if (closed) {
            result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "client closed"));
            return;
        }
        long remaining = deadline - System.currentTimeMillis();
        if (remaining <= 0) {
            result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE,
                    "no node could serve the request within " + deadlineMs + " ms" + (lastProblem != null ? " (last: " + lastProblem + ")" : "")));
            return;
        }
        NodeConnection c;
        try {
            c = connection(target);
        } catch (IOException e) {
            retryLater(build, write, success, result, deadline, next(target), target + ": " + e.getMessage());
            return;
        }
        ClientRequest request = build.apply(requestIds.incrementAndGet());
        CompletableFuture<ClientResponse> answer = c.send(request);
        long attemptMs = write ? remaining : Math.min(remaining, READ_ATTEMPT_MS);
        answer.orTimeout(attemptMs, TimeUnit.MILLISECONDS).whenComplete((response, error) -> {
            if (error == null && isSuccess(response)) {
                // Answered on the connection's reader thread directly; only retries go through the scheduler.
                preferred = target;
                complete(result, write, success, response, target);
                return;
            }
            onScheduler(result, write, () -> handleAnswer(build, write, success, result, deadline, target, c, request, response, error));
        });
    }

    private static boolean isSuccess(ClientResponse r) {
        return r instanceof ClientResponse.Ok || r instanceof ClientResponse.Value || r instanceof ClientResponse.NotFound
                || r instanceof ClientResponse.RangeResult || r instanceof ClientResponse.TxnResult || r instanceof ClientResponse.Members;
    }

    /**
     * Completes {@code result} with what {@code success} makes of the answer. One it cannot take (an answer of another
     * type than asked) fails it, rather than leaving the caller waiting: REJECTED for a read, OUTCOME_UNKNOWN for a
     * write, which the node answered as done. This runs on a reader or scheduler thread.
     */
    private static <T> void complete(CompletableFuture<T> result, boolean write, Function<ClientResponse, T> success,
                                     ClientResponse response, InetSocketAddress target) {
        T value;
        try {
            value = success.apply(response);
        } catch (RuntimeException e) {
            result.completeExceptionally(new RaftKvException(write ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.REJECTED,
                    "cannot take " + target + "'s answer " + response + ": " + e.getMessage()
                            + (write ? "; the write may or may not have been applied" : "")));
            return;
        }
        result.complete(value);
    }

    private <T> void handleAnswer(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success,
                                  CompletableFuture<T> result, long deadline, InetSocketAddress target, NodeConnection c,
                                  ClientRequest request, ClientResponse response, Throwable error) {
        if (error != null) {
            Throwable cause = error instanceof CompletionException ? error.getCause() : error;
            c.forget(request.requestId());
            boolean maybeApplied = write && !(cause instanceof NodeConnection.NotSent);
            if (maybeApplied) {
                result.completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN,
                        "the write's answer from " + target + " was lost (" + describe(cause) + "): it may or may not have been applied"));
            } else {
                retryLater(build, write, success, result, deadline, next(target), target + ": " + describe(cause));
            }
            return;
        }
        if (response instanceof ClientResponse.NotLeader n) {
            if (n.leaderId() != 0 && !n.host().isEmpty()) {
                InetSocketAddress leader = new InetSocketAddress(n.host(), n.port());
                know(leader);
                preferred = leader;
                attempt(build, write, success, result, deadline, leader, target + " is not the leader");
            } else {
                retryLater(build, write, success, result, deadline, next(target), target + " knows no leader");
            }
        } else if (response instanceof ClientResponse.Error e) {
            if (NodeConnection.isRetryableError(e)) {
                retryLater(build, write, success, result, deadline, e.code() == ErrorCode.OVERLOADED ? target : next(target), e.toString());
            } else if (e.code() == ErrorCode.TIMEOUT) {
                if (write) result.completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN, target + ": " + e.message()));
                else retryLater(build, write, success, result, deadline, next(target), e.toString());
            } else if (write && !isRefusal(e.code())) {
                result.completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN,
                        target + " answered the write with an error this client does not know, " + e + ": it may or may not have been applied"));
            } else {
                result.completeExceptionally(new RaftKvException(RaftKvException.Kind.REJECTED, e.toString()));
            }
        } else {
            preferred = target;
            complete(result, write, success, response, target);
        }
    }

    /**
     * The error codes that say a write was refused and changed nothing: before it was proposed (a bad or too large
     * request, a refused membership change) or when it was applied (a compaction below or beyond the store's history).
     */
    private static boolean isRefusal(int code) {
        return code == ErrorCode.BAD_REQUEST || code == ErrorCode.TOO_LARGE || code == ErrorCode.UNKNOWN_TYPE
                || code == ErrorCode.REFUSED || code == ErrorCode.COMPACTED || code == ErrorCode.FUTURE_REVISION;
    }

    private <T> void retryLater(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success,
                                CompletableFuture<T> result, long deadline, InetSocketAddress target, String problem) {
        try {
            scheduler.schedule(() -> attempt(build, write, success, result, deadline, target, problem), BACKOFF_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            fail(result, write);
        }
    }

    /** Runs {@code task} on the scheduler; once the client is closed, fails {@code result} instead. */
    private void onScheduler(CompletableFuture<?> result, boolean write, Runnable task) {
        try {
            scheduler.execute(task);
        } catch (RejectedExecutionException e) {
            fail(result, write);
        }
    }

    /** Fails an operation cut short by close(): a write may have been sent, so its outcome is unknown. */
    private static void fail(CompletableFuture<?> result, boolean write) {
        result.completeExceptionally(new RaftKvException(write ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.UNAVAILABLE,
                "the client was closed" + (write ? ": the write may or may not have been applied" : "")));
    }

    private InetSocketAddress next(InetSocketAddress current) {
        List<InetSocketAddress> list = endpoints;
        int i = list.indexOf(current);
        return list.get((i + 1) % list.size());
    }

    // ------------------------------------------------------------------ following the membership

    /**
     * Takes a member list the cluster answered: the endpoints become the members' addresses, voters first (a learner
     * cannot lead), unless the list is older than the one they come from. The node the client talks to stays its
     * first choice while it is a member; else (or with {@code preferLeader}) the leader the list names, else the
     * first endpoint. Called on the thread that got the answer.
     */
    private MemberList learn(ClientResponse response, boolean preferLeader) {
        ClientResponse.Members m = (ClientResponse.Members) response;
        List<InetSocketAddress> addresses = new ArrayList<>();
        List<InetSocketAddress> learners = new ArrayList<>();
        InetSocketAddress leader = null;
        for (MemberInfo info : m.members()) {
            InetSocketAddress a = new InetSocketAddress(info.host(), info.port());
            (info.learner() ? learners : addresses).add(a);
            if (info.id() == m.leaderId()) leader = a;
        }
        addresses.addAll(learners);
        synchronized (endpointsLock) {
            if (!addresses.isEmpty() && m.configIndex() >= endpointsConfigIndex) {
                endpointsConfigIndex = m.configIndex();
                endpoints = List.copyOf(addresses);
            }
            List<InetSocketAddress> now = endpoints;
            if (leader != null && now.contains(leader) && (preferLeader || !now.contains(preferred))) {
                preferred = leader;
            } else if (!now.contains(preferred)) {
                preferred = now.get(0);
            }
        }
        return MemberList.of(m);
    }

    /** Adds an address a node named (the leader, in a NOT_LEADER) to the endpoints if it is not there, within {@link #ENDPOINTS_MAX}. */
    private void know(InetSocketAddress address) {
        synchronized (endpointsLock) {
            List<InetSocketAddress> now = endpoints;
            if (now.contains(address) || now.size() >= ENDPOINTS_MAX) return;
            List<InetSocketAddress> more = new ArrayList<>(now);
            more.add(address);
            endpoints = List.copyOf(more);
        }
    }

    /** The open connection to {@code address}, opening it if needed (one at a time: no connection is opened twice). */
    private synchronized NodeConnection connection(InetSocketAddress address) throws IOException {
        NodeConnection c = connections.get(address);
        if (c != null && c.isOpen()) return c;
        c = NodeConnection.open(address, CONNECT_TIMEOUT_MS, FRAME_BYTES_MAX, PENDING_PER_CONNECTION_MAX);
        connections.put(address, c);
        return c;
    }

    private static String describe(Throwable t) {
        if (t instanceof java.util.concurrent.TimeoutException) return "no answer in time";
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }

    private static <T> T await(CompletableFuture<T> future) {
        return await(future, false);
    }

    private static <T> T awaitWrite(CompletableFuture<T> future) {
        return await(future, true);
    }

    /**
     * Waits for a blocking call. An interrupted wait leaves the request going on in the background: for a write that
     * means it may still be applied, so its outcome is unknown; a read is simply not answered.
     */
    private static <T> T await(CompletableFuture<T> future, boolean write) {
        RaftKvException.Kind ifUnsure = write ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.UNAVAILABLE;
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RaftKvException r) throw r;
            throw new RaftKvException(ifUnsure, "unexpected failure: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RaftKvException(ifUnsure, write ? "interrupted while waiting: the write may or may not have been applied" : "interrupted while waiting");
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        synchronized (endpointsLock) {
            closed = true;
            if (watches != null) watches.close();
        }
        scheduler.shutdownNow();
        connections.values().forEach(NodeConnection::close);
        inflight.forEach((result, write) -> fail(result, write));
    }
}
