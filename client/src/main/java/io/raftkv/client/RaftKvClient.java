package io.raftkv.client;

import io.raftkv.protocol.AuthRequest;
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

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The raftkv client. Talks to any node of the cluster: follows NOT_LEADER answers to the leader by itself,
 * reconnects and retries elsewhere when a node dies or goes silent, within a deadline per operation. Requests are
 * pipelined on one connection per node. Async methods return {@link CompletableFuture}s; the blocking
 * ones wait for them.
 *
 * <p>Callbacks. A future is completed on the reader thread of the connection its answer came on, which runs the
 * callbacks attached to it. Requests sent from there are held until that thread has handed over every answer it has
 * read and goes back to reading, then leave in one write per connection (under load, one system call and one wake-up of
 * the node for many requests instead of one each). A blocking call of this client made in a callback sends what its thread
 * holds before it waits; a callback must not otherwise wait for an answer (its own connection's answers wait for it).
 *
 * <p>Retries never apply a write twice: a write is retried only when the cluster says it was not applied
 * (NOT_LEADER, a leader change that replaced it, overload, or a connection that failed before it was written).
 * A write whose answer is lost fails with {@link RaftKvException.Kind#OUTCOME_UNKNOWN}. Membership changes and
 * leader transfers are writes.
 *
 * <p>Deadlines: every call has one, retries included: the client's (given at construction), or another through a view,
 * {@link #withDeadline}, that shares this client's connections and endpoints ({@code client.withDeadline(d).put(k, v)}).
 *
 * <p>Silent nodes. A node may stop answering while its connection stays open (a paused process, a link that drops
 * packets). Each attempt has a bound: a quarter of the call's deadline, within [{@value #ATTEMPT_MS_MIN},
 * {@value #ATTEMPT_MS_MAX}] ms (a deadline shorter than the bound leaves no time to fail over: the call waits until
 * it). When another node may answer (else the client can only wait, until the deadline), a read unanswered that long
 * is asked of another node. A write unanswered that long is not given up yet (it may be slow, not lost): the client
 * asks the node its status on the same connection, within another attempt bound. If it answers and still leads, the write waits on (another probe each attempt bound) until its deadline.
 * If it answers and no longer leads, the write fails {@code OUTCOME_UNKNOWN}. If it does not answer, the node is taken
 * as gone: the connection is failed, every write on it fails {@code OUTCOME_UNKNOWN} (it may have been applied: never
 * retried), every read and every request not yet written goes elsewhere, and the node is silent for a while
 * ({@link Endpoints}). Before the next write goes anywhere, the client asks every node its status and goes to the one
 * that leads in the highest term ({@link LeaderSearch}), waiting for the others to elect one if none does yet. With the
 * defaults and a 1 s election timeout, the client gives up on a silent leader after 1 s, when its followers may elect
 * another at the earliest, and so writes succeed again as soon as the cluster has a new leader. (Half a bound for the
 * probe was tried first: a leader busy for 250 ms on a loaded machine lost its connection and every write in flight.)
 *
 * <p>The endpoints follow the cluster's membership: every member list the client is answered (from
 * {@link #members()} or a membership change) replaces them with the members' addresses, voters first, unless it is
 * older than one already taken (its config index is lower); a NOT_LEADER naming an address the client does not know
 * adds it. The node the client talks to stays its first choice while it is a member.
 *
 * <p>Auth (docs/auth.md): after {@link #authenticate}, every connection the client opens authenticates as that user
 * before it carries a request, so failing over to another node needs nothing of the caller; a request a node refuses
 * with AUTH_REQUIRED (the user changed its password, or auth was enabled after the connection opened) makes the client
 * authenticate that connection again and retry the request once. {@link #auth()} is etcd's Auth API.
 */
public final class RaftKvClient implements AutoCloseable {

    private static final long BACKOFF_MS = 50;
    private static final int CONNECT_TIMEOUT_MS = 1_000;
    private static final int FRAME_BYTES_MAX = 8 << 20;
    private static final int PENDING_PER_CONNECTION_MAX = 100_000;
    /**
     * The longest an attempt waits for an answer before the client acts (see the class comment): half the nodes' default
     * election timeout (10 ticks of 100 ms), so that with the status probe after it (as long again) the client gives up
     * on a silent leader when the followers' election may be over at the earliest.
     */
    static final long ATTEMPT_MS_MAX = 500;
    /**
     * The shortest attempt bound, and status probe: one tick of the nodes' default timing. Below it a node that is busy
     * (a WAL sync in its loop turn, a GC) would pass for silent, and its connection would be failed for nothing. A call
     * whose deadline is shorter has no time to fail over: it waits for its answer until the deadline.
     */
    static final long ATTEMPT_MS_MIN = 100;
    /** An attempt bound is at most this fraction of the call's deadline (within the two above), so that a read has several tries within it. */
    static final int ATTEMPTS_PER_DEADLINE_MIN = 4;
    /** How often the attempts waiting for an answer are looked at for one overdue ({@link #sweep}): what an attempt bound may run over. */
    static final long SWEEP_MS = 10;

    // Shared by every view of one client (withDeadline).
    private final Endpoints endpoints;
    private final Map<InetSocketAddress, NodeConnection> connections;
    /** Held while a connection is opened: no node is connected to twice at once. */
    private final Object connectLock;
    private final ScheduledExecutorService scheduler;
    private final AtomicLong requestIds;
    private final AtomicBoolean closed;
    /** The client's watches, made at the first one (under its own lock); close() closes them. */
    private final java.util.concurrent.atomic.AtomicReference<ClientWatches> watches;
    /** Every operation not yet completed, and whether it is a write: close() fails them all. */
    private final Map<CompletableFuture<?>, Boolean> inflight;
    private final LeaderSearch leaderSearch;
    /** The attempts waiting for an answer ({@link #watch}); at most the requests pending on the connections. */
    private final Map<CompletableFuture<ClientResponse>, Watched> watched;
    /** A sweep of {@link #watched} is scheduled. */
    private final AtomicBoolean sweepScheduled;
    /** Null for plaintext. */
    private final SSLContext tls;
    /** What every new connection authenticates with; null: none (see {@link #authenticate}). */
    private final AtomicReference<NodeConnection.Credentials> credentials;

    // This view's own.
    private final long deadlineMs;
    /** How long one attempt waits for an answer before the client acts (see the class comment). */
    private final long attemptMs;
    /** How long a status probe of a node that has not answered an attempt waits. */
    private final long probeMs;
    /** See {@link #unreachableFailsFast()}. */
    private final boolean unreachableFailsFast;

    public RaftKvClient(List<InetSocketAddress> endpoints, Duration deadline) {
        this(endpoints, deadline, null);
    }

    /**
     * A client whose connections use TLS through {@code tls} (null: plaintext, as the other constructor). The nodes'
     * certificates must chain to what it trusts and name the addresses dialled; {@code TlsFiles.clientContext(ca, cert,
     * key, password)} makes one from PEM or PKCS#12 files (docs/security.md).
     */
    public RaftKvClient(List<InetSocketAddress> endpoints, Duration deadline, SSLContext tls) {
        this.tls = tls;
        this.endpoints = new Endpoints(endpoints);
        this.connections = new ConcurrentHashMap<>();
        this.connectLock = new Object();
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "raftkv-client");
            t.setDaemon(true);
            return t;
        });
        // A keepalive's next send is cancelled when it closes: drop it at once, not at its time.
        scheduler.setRemoveOnCancelPolicy(true);
        this.scheduler = scheduler;
        this.requestIds = new AtomicLong();
        this.closed = new AtomicBoolean();
        this.watches = new java.util.concurrent.atomic.AtomicReference<>();
        this.inflight = new ConcurrentHashMap<>();
        this.leaderSearch = new LeaderSearch(this.endpoints, this::askStatus, scheduler);
        this.watched = new ConcurrentHashMap<>();
        this.sweepScheduled = new AtomicBoolean();
        this.credentials = new AtomicReference<>();
        this.deadlineMs = checkedDeadlineMs(deadline);
        this.attemptMs = attemptMsFor(deadlineMs);
        this.probeMs = attemptMs;
        this.unreachableFailsFast = false;
    }

    /** A view of {@code shared} with another deadline and way with unreachable nodes: everything else is {@code shared}'s. */
    private RaftKvClient(RaftKvClient shared, long deadlineMs, boolean unreachableFailsFast) {
        this.tls = shared.tls;
        this.endpoints = shared.endpoints;
        this.connections = shared.connections;
        this.connectLock = shared.connectLock;
        this.scheduler = shared.scheduler;
        this.requestIds = shared.requestIds;
        this.closed = shared.closed;
        this.watches = shared.watches;
        this.inflight = shared.inflight;
        this.leaderSearch = shared.leaderSearch;
        this.watched = shared.watched;
        this.sweepScheduled = shared.sweepScheduled;
        this.credentials = shared.credentials;
        this.deadlineMs = deadlineMs;
        this.attemptMs = attemptMsFor(deadlineMs);
        this.probeMs = attemptMs;
        this.unreachableFailsFast = unreachableFailsFast;
    }

    private static long checkedDeadlineMs(Duration deadline) {
        if (deadline.toMillis() < 1) throw new IllegalArgumentException("a deadline of " + deadline + " is under 1 ms");
        return deadline.toMillis();
    }

    static long attemptMsFor(long deadlineMs) {
        return Math.max(ATTEMPT_MS_MIN, Math.min(ATTEMPT_MS_MAX, deadlineMs / ATTEMPTS_PER_DEADLINE_MIN));
    }

    /**
     * This client with {@code deadline} for each call instead of its own: a view sharing its connections, endpoints and
     * threads, so cheap enough to make for one call. Closing a view closes the client, and every view of it.
     */
    public RaftKvClient withDeadline(Duration deadline) {
        return new RaftKvClient(this, checkedDeadlineMs(deadline), unreachableFailsFast);
    }

    /**
     * This client failing a call at once, UNAVAILABLE, when during the call every endpoint refused the connection or
     * answered in a protocol other than raftkv's, instead of trying again until the deadline: for raftkvctl, whose user
     * wants to hear that the address is wrong or the cluster is down. The client's own retries ride through nodes that
     * restart (a node that starts refuses for a moment), so it keeps trying.
     */
    RaftKvClient unreachableFailsFast() {
        return new RaftKvClient(this, deadlineMs, true);
    }

    /**
     * Acts as {@code user} from now on, on every node (etcd's client with a user name and password): the connections open
     * now are closed (call it before sending anything, or requests on them fail), and each new one authenticates first.
     * Checks the password at once with one node: REJECTED with {@link ErrorCode#AUTH_FAILED} when it is refused. A cluster
     * whose auth is disabled takes any: requests then go without a user, as etcd's client does. Returns this client.
     */
    public RaftKvClient authenticate(String user, String password) {
        credentials.set(new NodeConnection.Credentials(user, password));
        connections.values().forEach(c -> c.fail("the client authenticates as " + user + " from now on"));
        await(authStatusAsync());
        return this;
    }

    /** Who the client's watches authenticate as: the same user. */
    NodeConnection.Credentials credentials() {
        return credentials.get();
    }

    /** Whether close() was called (on this client or any view of it). */
    public boolean isClosed() {
        return closed.get();
    }

    /** The deadline of each call made through this client (or view), retries included. */
    public Duration deadline() {
        return Duration.ofMillis(deadlineMs);
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
        return endpoints.list();
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
        synchronized (watches) {
            if (closed.get()) throw new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client is closed");
            if (watches.get() == null) watches.set(new ClientWatches(this::endpoints, tls, this::credentials));
            w = watches.get();
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
        onScheduler(result, false, () -> askStatus(node, false, deadlineMs).whenComplete((s, e) -> {
            if (s != null) {
                result.complete(s);
                return;
            }
            Throwable cause = unwrap(e);
            result.completeExceptionally(cause instanceof RaftKvException r ? r
                    : new RaftKvException(RaftKvException.Kind.UNAVAILABLE, node + ": " + describe(cause)));
        }));
        return result.orTimeout(deadlineMs, TimeUnit.MILLISECONDS);
    }

    /**
     * Asks {@code node} its status within {@code boundMs}. With {@code openOnly}, only on a connection already open
     * (null if there is none): how the leader search asks a silent node. A REJECTED failure is an answer of another type.
     */
    private CompletableFuture<ClientResponse.StatusResult> askStatus(InetSocketAddress node, boolean openOnly, long boundMs) {
        NodeConnection open = connections.get(node);
        NodeConnection c;
        if (open != null && open.isOpen()) {
            c = open;
        } else if (openOnly) {
            return null;
        } else {
            try {
                c = connection(node);
            } catch (IOException e) {
                connectFailed(node, e);
                return CompletableFuture.failedFuture(e);
            }
        }
        long requestId = requestIds.incrementAndGet();
        CompletableFuture<ClientResponse.StatusResult> status = c.send(new ClientRequest.Status(requestId)).thenApply(r -> {
            if (r instanceof ClientResponse.StatusResult s) return s;
            throw new RaftKvException(RaftKvException.Kind.REJECTED, node + " answered a status request with " + r);
        });
        status.orTimeout(boundMs, TimeUnit.MILLISECONDS).whenComplete((s, e) -> {
            if (e != null) c.forget(requestId);
        });
        return status;
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

    // ------------------------------------------------------------------ auth (etcd's Auth API; docs/auth.md)

    /** etcd's Auth API: users, roles, permissions, auth enable and disable. */
    public Auth auth() {
        return new Auth(this);
    }

    /** Whether auth is enabled, and the auth store's revision; any node answers it, to anyone, linearizably. */
    public CompletableFuture<ClientResponse.AuthStatus> authStatusAsync() {
        return authAsync(new AuthRequest.Status()).thenApply(r -> (ClientResponse.AuthStatus) r);
    }

    /** An auth request: a change is a write (never retried once it may have been applied), a read is retried freely. */
    CompletableFuture<ClientResponse> authAsync(AuthRequest request) {
        return execute(id -> new ClientRequest.Auth(id, request), !request.reads(), r -> r);
    }

    // ------------------------------------------------------------------ leases (etcd's Lease API; docs/architecture.md, "Leases")

    /**
     * Grants a lease of {@code ttlSeconds} (a shorter TTL than the cluster's minimum is raised to it, as etcd does); the
     * answer names its id and TTL. A write: never retried once it may have been applied.
     */
    public CompletableFuture<ClientResponse.LeaseResult> grantAsync(long ttlSeconds) {
        return grantAsync(0, ttlSeconds);
    }

    /** Grants lease {@code leaseId} (0: the leader picks one); refused with LEASE_EXISTS when the id is in use. */
    public CompletableFuture<ClientResponse.LeaseResult> grantAsync(long leaseId, long ttlSeconds) {
        return execute(id -> new ClientRequest.LeaseGrant(id, leaseId, ttlSeconds), true, r -> (ClientResponse.LeaseResult) r);
    }

    /** Ends the lease and deletes its keys, at one revision (the header's); LEASE_NOT_FOUND when there is no such lease. */
    public CompletableFuture<ResponseHeader> revokeAsync(long leaseId) {
        return execute(id -> new ClientRequest.LeaseRevoke(id, leaseId), true, r -> ((ClientResponse.Ok) r).header());
    }

    /**
     * Renews the lease once, for its TTL from now (the answer's): at the leader, which the client finds by itself. Renewing
     * twice does no harm, so it is retried freely. LEASE_NOT_FOUND when it has expired or was revoked.
     */
    public CompletableFuture<ClientResponse.LeaseResult> keepAliveOnceAsync(long leaseId) {
        return execute(id -> new ClientRequest.LeaseKeepAlive(id, leaseId), false, r -> (ClientResponse.LeaseResult) r);
    }

    /** The lease's remaining and granted TTL, and its keys when {@code withKeys}; from the leader. */
    public CompletableFuture<ClientResponse.LeaseResult> timeToLiveAsync(long leaseId, boolean withKeys) {
        return execute(id -> new ClientRequest.LeaseTimeToLive(id, leaseId, withKeys), false, r -> (ClientResponse.LeaseResult) r);
    }

    /** The ids of every lease, ascending; from the leader. */
    public CompletableFuture<List<Long>> leasesAsync() {
        return execute(ClientRequest.LeaseLeases::new, false, r -> ((ClientResponse.Leases) r).leaseIds());
    }

    /**
     * Puts {@code value} with the key attached to {@code lease} (0: to none, detaching it from the one it had): the key
     * is deleted when the lease ends. A transaction without compares; LEASE_NOT_FOUND (nothing applied) when the lease
     * does not exist.
     */
    public CompletableFuture<WithHeader<OpResult.Put>> putAsync(byte[] key, byte[] value, long lease) {
        return txnAsync(new TxnRequest(List.of(), List.of(new TxnOp.Put(key, value, false, lease)), List.of()))
                .thenApply(t -> new WithHeader<>(t.header(), (OpResult.Put) t.results().get(0)));
    }

    /**
     * Keeps lease {@code leaseId} alive in the background (etcd's KeepAlive): a keepalive now, then one every third of
     * the TTL the last answer gave, until {@link LeaseKeepAlive#close()}, or until the cluster says the lease is gone.
     */
    public LeaseKeepAlive keepAlive(long leaseId) {
        if (closed.get()) throw new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client is closed");
        LeaseKeepAlive k = new LeaseKeepAlive(this, leaseId, (task, delayMs) -> {
            try {
                return scheduler.schedule(task, delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                return null; // the client is closed
            }
        });
        k.start();
        return k;
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

    /**
     * The range as etcd answers it, however large: asked once, and if the node refuses it as over its result limit
     * (TOO_LARGE), read again in pages in key order at the revision of the first (docs/protocol.md, "Ranges larger than
     * a frame"). Sorted by anything but the key, a range over the limit is still refused: ask with a limit.
     */
    public ClientResponse.RangeResult rangeAll(RangeRequest request) {
        return PagedRange.read(this::range, request);
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

    /** A lease of {@code ttlSeconds}: its id is {@code grant(ttl).leaseId()}. */
    public ClientResponse.LeaseResult grant(long ttlSeconds) {
        return awaitWrite(grantAsync(ttlSeconds));
    }

    public ClientResponse.LeaseResult grant(long leaseId, long ttlSeconds) {
        return awaitWrite(grantAsync(leaseId, ttlSeconds));
    }

    public ResponseHeader revoke(long leaseId) {
        return awaitWrite(revokeAsync(leaseId));
    }

    public ClientResponse.LeaseResult keepAliveOnce(long leaseId) {
        return await(keepAliveOnceAsync(leaseId));
    }

    public ClientResponse.LeaseResult timeToLive(long leaseId, boolean withKeys) {
        return await(timeToLiveAsync(leaseId, withKeys));
    }

    public List<Long> leases() {
        return await(leasesAsync());
    }

    public WithHeader<OpResult.Put> put(byte[] key, byte[] value, long lease) {
        return awaitWrite(putAsync(key, value, lease));
    }

    public void put(String key, String value, long lease) {
        put(utf8(key), utf8(value), lease);
    }

    /** The address of the node the client last found to be the leader (or first tries). */
    public InetSocketAddress preferredEndpoint() {
        return endpoints.preferred();
    }

    // ------------------------------------------------------------------ retries

    /**
     * One call of a caller, across its attempts: what to send, whether it is a write, what makes its result, by when.
     * {@code reauthenticated}: a node refused it AUTH_REQUIRED once already, and the client authenticated again.
     */
    private record Call<T>(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success,
                           CompletableFuture<T> result, long deadlineNanos, Map<InetSocketAddress, String> unreachable, AtomicBoolean reauthenticated) {
        Call(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success, CompletableFuture<T> result, long deadlineNanos) {
            this(build, write, success, result, deadlineNanos, new ConcurrentHashMap<>(), new AtomicBoolean());
        }

        long remainingMs() {
            return TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        }
    }

    /** An attempt that had no answer in time, or whose node no longer leads: the request may still be applied there. */
    private static final class AttemptOverdue extends IOException {
        AttemptOverdue(String message) {
            super(message);
        }
    }

    private <T> CompletableFuture<T> execute(Function<Long, ClientRequest> build, boolean write, Function<ClientResponse, T> success) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Call<T> call = new Call<>(build, write, success, result, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMs));
        inflight.put(result, write);
        result.whenComplete((r, e) -> inflight.remove(result));
        if (closed.get()) {
            result.completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client is closed: nothing was sent"));
            return result;
        }
        InetSocketAddress target = endpoints.preferred();
        NodeConnection open = connections.get(target);
        if (open != null && open.isOpen() && !endpoints.isSilent(target)) {
            // The common case needs no thread hand-off: send from the caller's thread.
            attempt(call, target, null);
        } else {
            onScheduler(result, write, () -> attempt(call, target, null));
        }
        return result;
    }

    /**
     * Sends the call to {@code target}, or, when it is silent and another node may answer, to another node (a read) or
     * the leader the others elect (a write). Every attempt that reaches here follows attempts that surely did not
     * apply the call: a write that may have been applied is never attempted again.
     */
    private <T> void attempt(Call<T> call, InetSocketAddress target, String lastProblem) {
        if (call.result().isDone()) return;
        if (closed.get()) {
            call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, "the client was closed"));
            return;
        }
        if (call.remainingMs() <= 0) {
            call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE,
                    "no node could serve the request within " + deadlineMs + " ms" + (lastProblem != null ? " (last: " + lastProblem + ")" : "")));
            return;
        }
        if (endpoints.isSilent(target) && endpoints.anotherMayAnswer(target)) {
            if (call.write()) {
                findLeaderThenAttempt(call, target, lastProblem);
                return;
            }
            target = endpoints.next(target);
        }
        NodeConnection c;
        try {
            c = connection(target);
        } catch (IOException e) {
            if (e instanceof NodeConnection.AuthenticationFailed) {
                call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.REJECTED, ErrorCode.AUTH_FAILED, e.getMessage()));
                return;
            }
            connectFailed(target, e);
            if (e instanceof ConnectException && noneReachable(call, target, REFUSED)) return;
            retryLater(call, endpoints.next(target), target + ": " + describe(e));
            return;
        }
        ClientRequest request = call.build().apply(requestIds.incrementAndGet());
        CompletableFuture<ClientResponse> answer = c.send(request);
        watch(call, target, c, answer);
        InetSocketAddress sentTo = target;
        answer.whenComplete((response, error) -> {
            watched.remove(answer);
            if (error == null && isSuccess(response)) {
                // Answered on the connection's reader thread directly; only retries go through the scheduler.
                endpoints.answered(sentTo);
                endpoints.prefer(sentTo);
                complete(call, response, sentTo);
                return;
            }
            onScheduler(call.result(), call.write(), () -> handleAnswer(call, sentTo, c, request, response, error));
        });
    }

    /** A write's target is silent: asks the nodes who leads, and sends there; with no leader yet, asks again in a moment. */
    private <T> void findLeaderThenAttempt(Call<T> call, InetSocketAddress silent, String lastProblem) {
        leaderSearch.find(attemptMs).whenComplete((leader, e) -> onScheduler(call.result(), call.write(), () -> {
            if (leader != null) {
                endpoints.prefer(leader);
                attempt(call, leader, lastProblem);
            } else {
                retryLater(call, silent, silent + " does not answer, and no other node says it leads");
            }
        }));
    }

    /** An attempt waiting for its answer: {@code view} acts on it at {@code dueNanos} ({@link #overdue}). */
    private record Watched(RaftKvClient view, Call<?> call, InetSocketAddress target, NodeConnection connection, long dueNanos) { }

    /**
     * Acts on an attempt unanswered after an attempt bound, or at the call's deadline, through the sweep ({@link #sweep}):
     * the attempt is registered, and its answer removes it. A timer per attempt was tried first: under a light load the
     * scheduler's queue is empty between requests, so each new timer was its head and woke the scheduler thread, one
     * thread wake-up more per request (a quarter of the client's CPU time at one request in flight).
     */
    private void watch(Call<?> call, InetSocketAddress target, NodeConnection c, CompletableFuture<ClientResponse> answer) {
        long waitMs = Math.max(0, Math.min(attemptMs, call.remainingMs()));
        watched.put(answer, new Watched(this, call, target, c, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs)));
        if (!sweepScheduled.get() && sweepScheduled.compareAndSet(false, true)) scheduleSweep();
    }

    private void scheduleSweep() {
        try {
            scheduler.schedule(this::sweep, SWEEP_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            sweepScheduled.set(false); // close() fails the calls
        }
    }

    /** Every {@link #SWEEP_MS} while attempts wait for answers, on the scheduler: acts on those overdue. */
    private void sweep() {
        long now = System.nanoTime();
        for (Map.Entry<CompletableFuture<ClientResponse>, Watched> e : watched.entrySet()) {
            Watched w = e.getValue();
            if (now - w.dueNanos() >= 0 && watched.remove(e.getKey(), w)) w.view().overdue(w.call(), w.target(), w.connection(), e.getKey());
        }
        sweepScheduled.set(false);
        if (!watched.isEmpty() && sweepScheduled.compareAndSet(false, true)) scheduleSweep();
    }

    /**
     * An attempt has had no answer for an attempt bound. At the deadline it is over. When no other node may answer it
     * waits on. Else a read is asked elsewhere at once, and a write waits for a status probe of its node, and then waits
     * on, or is over (see the class comment). A probe that is not answered fails the connection itself
     * (NodeConnection.probe), and the node becomes silent.
     */
    private void overdue(Call<?> call, InetSocketAddress target, NodeConnection c, CompletableFuture<ClientResponse> answer) {
        if (answer.isDone()) return;
        if (call.remainingMs() <= 0) {
            answer.completeExceptionally(new AttemptOverdue("no answer from " + target + " within the deadline of " + deadlineMs + " ms"));
            return;
        }
        if (!endpoints.anotherMayAnswer(target)) {
            // Nowhere else to go: waiting is all there is, and an answer that comes late is still a sure one.
            watch(call, target, c, answer);
            return;
        }
        CompletableFuture<ClientResponse.StatusResult> probe = c.probe(requestIds::incrementAndGet, probeMs);
        probe.whenComplete((status, e) -> {
            if (status != null) endpoints.answered(target);
            else if (unwrap(e) instanceof TimeoutException) endpoints.silent(target);
        });
        if (!call.write()) {
            // A read changes nothing: ask another node now; the probe finds out meanwhile whether this one is gone.
            answer.completeExceptionally(new AttemptOverdue(target + " did not answer within " + attemptMs + " ms"));
            return;
        }
        probe.whenComplete((status, e) -> onScheduler(call.result(), true, () -> {
            if (answer.isDone()) return;
            if (status == null) {
                answer.completeExceptionally(new NodeConnection.ConnectionLost(target + " did not answer a status probe: " + describe(unwrap(e)), false));
            } else if (LeaderSearch.LEADER.equals(status.role())) {
                watch(call, target, c, answer); // alive and leading: the write is slow, not lost
            } else {
                answer.completeExceptionally(new AttemptOverdue(target + " has not answered the write within " + attemptMs
                        + " ms and no longer leads (" + status.role() + " in term " + status.term() + ")"));
            }
        }));
    }

    private static boolean isSuccess(ClientResponse r) {
        return r instanceof ClientResponse.Ok || r instanceof ClientResponse.Value || r instanceof ClientResponse.NotFound
                || r instanceof ClientResponse.RangeResult || r instanceof ClientResponse.TxnResult || r instanceof ClientResponse.Members
                || r instanceof ClientResponse.LeaseResult || r instanceof ClientResponse.Leases || r instanceof ClientResponse.AuthStatus
                || r instanceof ClientResponse.Names || r instanceof ClientResponse.Permissions;
    }

    /**
     * Completes the call with what its {@code success} makes of the answer. One it cannot take (an answer of another type
     * than asked) fails it, rather than leaving the caller waiting: REJECTED for a read, OUTCOME_UNKNOWN for a write,
     * which the node answered as done. This runs on a reader or scheduler thread.
     */
    private static <T> void complete(Call<T> call, ClientResponse response, InetSocketAddress target) {
        T value;
        try {
            value = call.success().apply(response);
        } catch (RuntimeException e) {
            call.result().completeExceptionally(new RaftKvException(call.write() ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.REJECTED,
                    "cannot take " + target + "'s answer " + response + ": " + e.getMessage()
                            + (call.write() ? "; the write may or may not have been applied" : "")));
            return;
        }
        call.result().complete(value);
    }

    private <T> void handleAnswer(Call<T> call, InetSocketAddress target, NodeConnection c, ClientRequest request,
                                  ClientResponse response, Throwable error) {
        if (error != null) {
            Throwable cause = unwrap(error);
            c.forget(request.requestId());
            // Before the caller hears of it: its next call must find the node silent.
            if (cause instanceof NodeConnection.ConnectionLost lost && lost.nodeSilent) endpoints.silent(target);
            if (cause instanceof NodeConnection.NotARaftkvNode && noneReachable(call, target, NOT_RAFTKV)) return;
            if (call.write() && !(cause instanceof NodeConnection.NotSent) && !(cause instanceof NodeConnection.NotARaftkvNode)) {
                call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN,
                        "the write's answer from " + target + " was lost (" + describe(cause) + "): it may or may not have been applied"));
            } else {
                retryLater(call, endpoints.next(target), target + ": " + describe(cause));
            }
            return;
        }
        endpoints.answered(target);
        if (response instanceof ClientResponse.NotLeader n) {
            if (n.leaderId() != 0 && !n.host().isEmpty()) {
                InetSocketAddress leader = new InetSocketAddress(n.host(), n.port());
                endpoints.know(leader);
                if (endpoints.isSilent(leader)) {
                    // The others have not elected another leader yet: find it when they have.
                    retryLater(call, leader, target + " names " + leader + " as the leader, which does not answer");
                } else {
                    endpoints.prefer(leader);
                    attempt(call, leader, target + " is not the leader");
                }
            } else {
                retryLater(call, endpoints.next(target), target + " knows no leader");
            }
        } else if (response instanceof ClientResponse.Error e) {
            NodeConnection.Credentials user = credentials.get();
            if (e.code() == ErrorCode.AUTH_REQUIRED && user != null && call.reauthenticated().compareAndSet(false, true)) {
                // Refused before anything was proposed: authenticate the connection again, and send the request once more.
                c.authenticate(user).whenComplete((ok, failed) -> onScheduler(call.result(), call.write(), () -> {
                    Throwable cause = failed == null ? null : unwrap(failed);
                    if (cause instanceof NodeConnection.AuthenticationFailed) {
                        call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.REJECTED, ErrorCode.AUTH_FAILED, cause.getMessage()));
                    } else {
                        attempt(call, target, e.toString());
                    }
                }));
            } else if (NodeConnection.isRetryableError(e)) {
                retryLater(call, e.code() == ErrorCode.OVERLOADED ? target : endpoints.next(target), e.toString());
            } else if (e.code() == ErrorCode.TIMEOUT) {
                if (call.write()) call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN, target + ": " + e.message()));
                else retryLater(call, endpoints.next(target), e.toString());
            } else if (call.write() && !isRefusal(e.code())) {
                call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.OUTCOME_UNKNOWN,
                        target + " answered the write with an error this client does not know, " + e + ": it may or may not have been applied"));
            } else {
                call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.REJECTED, e.code(), e.toString()));
            }
        } else {
            endpoints.prefer(target);
            complete(call, response, target);
        }
    }

    /**
     * The error codes that say a write was refused and changed nothing: before it was proposed (a bad or too large
     * request, a refused membership change, a lease limit, a permission denied, a connection not authenticated) or when it
     * was applied (a compaction below or beyond the store's history, a lease that does not exist or is in use, a permission
     * revoked since the write was sent).
     */
    private static boolean isRefusal(int code) {
        return code == ErrorCode.BAD_REQUEST || code == ErrorCode.TOO_LARGE || code == ErrorCode.UNKNOWN_TYPE
                || code == ErrorCode.REFUSED || code == ErrorCode.COMPACTED || code == ErrorCode.FUTURE_REVISION
                || code == ErrorCode.LEASE_NOT_FOUND || code == ErrorCode.LEASE_EXISTS || code == ErrorCode.LEASE_LIMIT
                || code == ErrorCode.PERMISSION_DENIED || code == ErrorCode.AUTH_FAILED || code == ErrorCode.AUTH_REQUIRED
                || code == ErrorCode.AUTH_NOT_ENABLED;
    }

    private static final String REFUSED = "connection refused";
    private static final String NOT_RAFTKV = "not a raftkv node";

    /**
     * Notes that {@code target} cannot serve the call ({@code why}: REFUSED or NOT_RAFTKV); in a view that fails fast,
     * fails the call once every endpoint has been found so, and says so: "no raftkv node reachable at A,B (connection
     * refused)", "not a raftkv node at C".
     */
    private boolean noneReachable(Call<?> call, InetSocketAddress target, String why) {
        if (!unreachableFailsFast) return false;
        call.unreachable().put(target, why);
        List<InetSocketAddress> all = endpoints.list();
        if (!call.unreachable().keySet().containsAll(all)) return false;
        List<String> refused = new ArrayList<>();
        List<String> foreign = new ArrayList<>();
        for (InetSocketAddress a : all) (REFUSED.equals(call.unreachable().get(a)) ? refused : foreign).add(a.getHostString() + ":" + a.getPort());
        List<String> parts = new ArrayList<>();
        if (!refused.isEmpty()) parts.add("no raftkv node reachable at " + String.join(",", refused) + " (" + REFUSED + ")");
        if (!foreign.isEmpty()) parts.add(NOT_RAFTKV + " at " + String.join(",", foreign));
        call.result().completeExceptionally(new RaftKvException(RaftKvException.Kind.UNAVAILABLE, String.join("; ", parts)));
        return true;
    }

    private <T> void retryLater(Call<T> call, InetSocketAddress target, String problem) {
        try {
            scheduler.schedule(() -> attempt(call, target, problem), BACKOFF_MS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            fail(call.result(), call.write());
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

    // ------------------------------------------------------------------ following the membership

    /**
     * Takes a member list the cluster answered (see {@link Endpoints#learn}): voters first, since a learner cannot lead.
     * Called on the thread that got the answer.
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
        endpoints.learn(addresses, leader, m.configIndex(), preferLeader);
        return MemberList.of(m);
    }

    /**
     * A connect that timed out is a node that does not answer (a host gone, a link that drops packets): it is silent. A
     * refused one is not: it costs nothing to try again, and a node that is starting refuses for a moment.
     */
    private void connectFailed(InetSocketAddress node, IOException e) {
        if (e instanceof SocketTimeoutException) endpoints.silent(node);
    }

    /** The open connection to {@code address}, opening it if needed (one at a time: no connection is opened twice). */
    private NodeConnection connection(InetSocketAddress address) throws IOException {
        synchronized (connectLock) {
            NodeConnection c = connections.get(address);
            if (c != null && c.isOpen()) return c;
            c = NodeConnection.open(address, CONNECT_TIMEOUT_MS, FRAME_BYTES_MAX, PENDING_PER_CONNECTION_MAX, tls, NodeConnection.Listener.NONE,
                    credentials.get());
            connections.put(address, c);
            return c;
        }
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    private static String describe(Throwable t) {
        if (t instanceof TimeoutException) return "no answer in time";
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
            NodeConnection.sendHeld();
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
        synchronized (watches) {
            closed.set(true);
            if (watches.get() != null) watches.get().close();
        }
        scheduler.shutdownNow();
        connections.values().forEach(NodeConnection::close);
        inflight.forEach((result, write) -> fail(result, write));
    }
}
