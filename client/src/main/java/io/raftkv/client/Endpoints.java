package io.raftkv.client;

import io.raftkv.protocol.ClientCodec;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The nodes a client may talk to: the list (it follows the cluster's membership, see {@link RaftKvClient}), the one it
 * sends to first (the leader, as far as it knows), and those that went silent. Shared by the client's threads: the
 * list is replaced whole (copy on write) under a lock and read without one.
 *
 * <p>A node is silent once it answered nothing to a request and then nothing to a status probe, or a connect to it
 * timed out. It stays so until it answers anything, or for {@link #SILENT_FOR_MS} at most: then it gets another
 * chance (it may have been restarted). While another node may answer, the client sends nothing to a silent one: a write
 * asks the others who leads ({@link LeaderSearch}), a read goes to the next node, and a NOT_LEADER that names a silent
 * node is not followed.
 */
final class Endpoints {

    /** Endpoints kept at most: as many as a cluster has members; a NOT_LEADER adds no more past it. */
    static final int ENDPOINTS_MAX = ClientCodec.MEMBERS_MAX;
    /**
     * How long a node stays silent without news of it: a few times what the client takes to find a new leader, so that
     * a node gone for good is not tried again at every request, and one that came back is tried again soon enough.
     */
    static final long SILENT_FOR_MS = 5_000;

    private volatile List<InetSocketAddress> list;
    /** The config index of the member list {@link #list} comes from; guarded by this. */
    private long configIndex = Long.MIN_VALUE;
    private volatile InetSocketAddress preferred;
    /** When each silent node went silent. Holds endpoints only, so no more than {@link #ENDPOINTS_MAX}. */
    private final Map<InetSocketAddress, Long> silentSinceNanos = new ConcurrentHashMap<>();

    Endpoints(List<InetSocketAddress> initial) {
        if (initial.isEmpty()) throw new IllegalArgumentException("no endpoints");
        if (initial.size() > ENDPOINTS_MAX) throw new IllegalArgumentException(initial.size() + " endpoints are over the limit of " + ENDPOINTS_MAX);
        this.list = List.copyOf(initial);
        this.preferred = initial.get(0);
    }

    List<InetSocketAddress> list() {
        return list;
    }

    /** The node requests go to first: the one that last served one, or the leader another named. */
    InetSocketAddress preferred() {
        return preferred;
    }

    void prefer(InetSocketAddress node) {
        preferred = node;
    }

    /** {@code node} answered nothing (nor a status probe), or a connect to it timed out. */
    void silent(InetSocketAddress node) {
        if (list.contains(node)) silentSinceNanos.put(node, System.nanoTime());
    }

    /** {@code node} answered something: it is not silent. */
    void answered(InetSocketAddress node) {
        silentSinceNanos.remove(node);
    }

    boolean isSilent(InetSocketAddress node) {
        Long since = silentSinceNanos.get(node);
        if (since == null) return false;
        if (System.nanoTime() - since < TimeUnit.MILLISECONDS.toNanos(SILENT_FOR_MS)) return true;
        silentSinceNanos.remove(node, since);
        return false;
    }

    /** Whether an endpoint other than {@code node} is not silent. */
    boolean anotherMayAnswer(InetSocketAddress node) {
        for (InetSocketAddress e : list) if (!e.equals(node) && !isSilent(e)) return true;
        return false;
    }

    /** The endpoint after {@code node} in the list that is not silent; the one right after it when every other is. */
    InetSocketAddress next(InetSocketAddress node) {
        List<InetSocketAddress> now = list;
        int i = now.indexOf(node);
        for (int step = 1; step <= now.size(); step++) {
            InetSocketAddress candidate = now.get(Math.floorMod(i + step, now.size()));
            if (!candidate.equals(node) && !isSilent(candidate)) return candidate;
        }
        return now.get(Math.floorMod(i + 1, now.size()));
    }

    /**
     * Takes a member list the cluster answered, as {@code addresses} (voters first: a learner cannot lead), the
     * {@code leader} it names (or null) and its {@code configIndex}: the list becomes the members' addresses unless it
     * is older than the one it comes from. The preferred node stays while it is a member; else (or with
     * {@code preferLeader}) the leader becomes it, else the first endpoint.
     */
    synchronized void learn(List<InetSocketAddress> addresses, InetSocketAddress leader, long configIndex, boolean preferLeader) {
        if (!addresses.isEmpty() && configIndex >= this.configIndex) {
            this.configIndex = configIndex;
            list = List.copyOf(addresses);
            silentSinceNanos.keySet().retainAll(list);
        }
        List<InetSocketAddress> now = list;
        if (leader != null && now.contains(leader) && (preferLeader || !now.contains(preferred))) {
            preferred = leader;
        } else if (!now.contains(preferred)) {
            preferred = now.get(0);
        }
    }

    /** Adds an address a node named (the leader, in a NOT_LEADER) if it is not there, within {@link #ENDPOINTS_MAX}. */
    synchronized void know(InetSocketAddress node) {
        List<InetSocketAddress> now = list;
        if (now.contains(node) || now.size() >= ENDPOINTS_MAX) return;
        List<InetSocketAddress> more = new ArrayList<>(now);
        more.add(node);
        list = List.copyOf(more);
    }
}
