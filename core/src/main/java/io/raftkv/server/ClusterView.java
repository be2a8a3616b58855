package io.raftkv.server;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.raft.Membership;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Who a node knows in its cluster: the cluster id (fixed when the cluster was first started, whatever its members
 * become) and the latest configuration it has seen with the members' addresses. That is the configuration in force
 * in its log, or, for a node that joined and holds none yet, the one its join target told it. Loop-owned.
 */
final class ClusterView {

    private final long clusterId;
    private final int selfId;
    private Membership membership;
    private long index;
    /**
     * A node that joined starts from the configuration its join target had at this index: its log, replayed from the
     * start, goes through older configurations first, which must not make it drop the members it needs (its leader).
     */
    private final long floorIndex;
    /**
     * Where this node dials the members its nodes.conf lists, when that file names the cluster ({@code cluster NAME}):
     * each node then sees its peers at addresses of its own (a proxy, NAT), whatever address a configuration carries.
     */
    private final Map<Integer, ClusterConfig.Member> localAddresses = new HashMap<>();

    /** {@code index}: the log index of the entry that set {@code membership} (0 for a bootstrap). */
    ClusterView(long clusterId, int selfId, Membership membership, long index, ClusterConfig nodesConf) {
        if (nodesConf != null && nodesConf.localAddresses()) for (ClusterConfig.Member m : nodesConf.members()) localAddresses.put(m.id(), m);
        this.clusterId = clusterId;
        this.selfId = selfId;
        this.membership = membership;
        this.index = index;
        this.floorIndex = index;
    }

    long clusterId() {
        return clusterId;
    }

    int selfId() {
        return selfId;
    }

    Membership membership() {
        return membership;
    }

    long index() {
        return index;
    }

    /** The configuration in force in the log changed to {@code latest}, set at {@code at}. False when it is ignored. */
    boolean update(Membership latest, long at) {
        if (at < floorIndex || latest.members().isEmpty()) return false;
        membership = latest;
        index = at;
        return true;
    }

    /** The member's address, or null when {@code id} is not a member. */
    ClusterConfig.Member member(int id) {
        Membership.Member m = membership.member(id);
        return m == null ? null : localAddresses.getOrDefault(id, address(m));
    }

    /** Where member {@code id} is: as {@link #member}, or as {@code fallback} lists it (null when neither does). */
    ClusterConfig.Member member(int id, Membership fallback) {
        ClusterConfig.Member m = member(id);
        if (m != null) return m;
        Membership.Member f = fallback.member(id);
        return f == null ? null : localAddresses.getOrDefault(id, address(f));
    }

    /** Every member but this node. */
    List<ClusterConfig.Member> peers() {
        List<ClusterConfig.Member> peers = new ArrayList<>();
        for (Membership.Member m : membership.members()) if (m.id() != selfId) peers.add(member(m.id()));
        return peers;
    }

    /** The members {@code nodes.conf} lists, all voters: the configuration a new cluster starts with. */
    static Membership bootstrapOf(ClusterConfig config) {
        return new Membership(config.members().stream()
                .map(m -> new Membership.Member(m.id(), Membership.Role.VOTER, m.host() + ":" + m.port())).toList(), new int[0]);
    }

    static ClusterConfig.Member address(Membership.Member m) {
        MemberInfo info = new MemberInfo(m.id(), m.address(), !m.isVoter());
        return new ClusterConfig.Member(m.id(), info.host(), info.port());
    }
}
