package io.raftkv.server;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.raft.Entry;
import io.raftkv.raft.Membership;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;
import io.raftkv.raft.SubmitResult;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The membership requests of clients (etcd's {@code member list|add|remove|promote} and {@code move-leader}): the
 * checks that need the member list (an id or address in use, an id removed before, an unknown id), then the core's
 * {@link RaftCore#proposeMembership} or {@link RaftCore#transferLeadership}, and the answer once the change is applied
 * or the target leads. Runs on the loop thread, beside {@link ClientRequests}.
 */
final class MembershipRequests {

    /** Changes and transfers waiting for their answer at once; the core takes one change at a time anyway. */
    static final int PENDING_MAX = 16;

    private record PendingChange(ClientRequests.Channel channel, long requestId, long term, long timerId) { }

    private record PendingMove(ClientRequests.Channel channel, long requestId, int target, long timerId) { }

    private final RaftCore core;
    private final ClusterView cluster;
    private final Timers timers;
    private final long requestTimeoutMs;
    private final Map<Long, PendingChange> changes = new HashMap<>();
    private final List<PendingMove> moves = new ArrayList<>();

    MembershipRequests(RaftCore core, ClusterView cluster, Timers timers, long requestTimeoutMs) {
        this.core = core;
        this.cluster = cluster;
        this.timers = timers;
        this.requestTimeoutMs = requestTimeoutMs;
    }

    static boolean handles(ClientRequest r) {
        return r instanceof ClientRequest.MemberList || r instanceof ClientRequest.MemberAdd || r instanceof ClientRequest.MemberRemove
                || r instanceof ClientRequest.MemberPromote || r instanceof ClientRequest.MoveLeader;
    }

    void handle(ClientRequests.Channel c, ClientRequest r) {
        if (r instanceof ClientRequest.MemberList) {
            c.reply(members(r.requestId()));
            return;
        }
        if (core.role() != Role.LEADER) {
            c.reply(notLeader(r.requestId(), core.leader()));
            return;
        }
        if (changes.size() + moves.size() >= PENDING_MAX) {
            c.reply(new ClientResponse.Error(r.requestId(), ErrorCode.OVERLOADED, PENDING_MAX + " membership requests already pending"));
            return;
        }
        Membership now = core.membership();
        try {
            if (r instanceof ClientRequest.MemberAdd add) {
                propose(c, r.requestId(), now.withMember(newMember(now, add)));
            } else if (r instanceof ClientRequest.MemberRemove remove) {
                if (!now.contains(remove.nodeId())) throw new Refusal("node " + remove.nodeId() + " is not a member of " + now);
                if (remove.nodeId() == cluster.selfId()) handOverToBeRemoved(c, r.requestId());
                else propose(c, r.requestId(), now.withRemoved(remove.nodeId()));
            } else if (r instanceof ClientRequest.MemberPromote promote) {
                if (!now.isLearner(promote.nodeId())) throw new Refusal("node " + promote.nodeId() + " is not a learner of " + now);
                propose(c, r.requestId(), now.withPromoted(promote.nodeId()));
            } else if (r instanceof ClientRequest.MoveLeader move) {
                moveLeader(c, move);
            }
        } catch (Refusal e) {
            c.reply(new ClientResponse.Error(r.requestId(), ErrorCode.REFUSED, e.getMessage()));
        } catch (IllegalArgumentException e) {
            c.reply(new ClientResponse.Error(r.requestId(), ErrorCode.BAD_REQUEST, e.getMessage()));
        }
    }

    private static Membership.Member newMember(Membership now, ClientRequest.MemberAdd add) {
        if (add.nodeId() < 1) throw new IllegalArgumentException("node ids start at 1, got " + add.nodeId());
        String problem = MemberInfo.addressProblem(add.address());
        if (problem != null) throw new IllegalArgumentException(problem);
        if (now.contains(add.nodeId())) throw new Refusal("node " + add.nodeId() + " is already a member of " + now);
        if (now.members().size() >= Membership.MEMBERS_MAX) throw new Refusal("the configuration has " + Membership.MEMBERS_MAX + " members, the most it may have");
        if (now.wasRemoved(add.nodeId())) {
            throw new Refusal("node id " + add.nodeId() + " was removed from this cluster, and ids are never used twice: give the new member another id");
        }
        for (Membership.Member m : now.members()) {
            if (m.address().equals(add.address())) throw new Refusal("address " + add.address() + " is node " + m.id() + "'s");
        }
        return new Membership.Member(add.nodeId(), add.learner() ? Membership.Role.LEARNER : Membership.Role.VOTER, add.address());
    }

    private void propose(ClientRequests.Channel c, long requestId, Membership next) {
        SubmitResult result = core.proposeMembership(next);
        switch (result.status()) {
            case ACCEPTED -> {
                long index = result.index();
                long timer = timers.schedule(requestTimeoutMs, () -> {
                    PendingChange p = changes.remove(index);
                    if (p != null) p.channel().reply(new ClientResponse.Error(p.requestId(), ErrorCode.TIMEOUT,
                            "the configuration change was not committed within the deadline: it may or may not take effect; see member list"));
                });
                PendingChange replaced = changes.put(index, new PendingChange(c, requestId, result.term(), timer));
                if (replaced != null) {
                    timers.cancel(replaced.timerId());
                    replaced.channel().reply(new ClientResponse.Error(replaced.requestId(), ErrorCode.TIMEOUT,
                            "a leader change left the outcome of the configuration change unknown; see member list"));
                }
            }
            case REFUSED -> c.reply(new ClientResponse.Error(requestId, ErrorCode.REFUSED, result.reason()));
            // Not applied, and asking again in a moment succeeds: the client retries UNAVAILABLE by itself.
            case RETRY_LATER -> c.reply(new ClientResponse.Error(requestId, ErrorCode.UNAVAILABLE, result.reason()));
            case OVERLOADED -> c.reply(new ClientResponse.Error(requestId, ErrorCode.OVERLOADED, "the leader is overloaded; retry later"));
            case NOT_LEADER -> c.reply(notLeader(requestId, result.leaderId()));
        }
    }

    /** The leader is asked to remove itself: it hands over, and the client retries with the new leader, which removes it. */
    private void handOverToBeRemoved(ClientRequests.Channel c, long requestId) {
        int target = core.mostCaughtUpVoter();
        if (target == RaftCore.NONE) throw new Refusal("node " + cluster.selfId() + " leads and no other voter answers to take over: it cannot be removed now");
        SubmitResult result = core.transferLeadership(target);
        if (result.status() == SubmitResult.Status.REFUSED) throw new Refusal(result.reason());
        c.reply(notLeader(requestId, target));
    }

    private void moveLeader(ClientRequests.Channel c, ClientRequest.MoveLeader move) {
        if (move.nodeId() == cluster.selfId()) {
            c.reply(members(move.requestId()));
            return;
        }
        SubmitResult result = core.transferLeadership(move.nodeId());
        if (result.status() == SubmitResult.Status.REFUSED) throw new Refusal(result.reason());
        if (!result.accepted()) {
            c.reply(notLeader(move.requestId(), result.leaderId()));
            return;
        }
        PendingMove[] self = new PendingMove[1];
        long timer = timers.schedule(requestTimeoutMs, () -> {
            if (moves.remove(self[0])) self[0].channel().reply(new ClientResponse.Error(move.requestId(), ErrorCode.TIMEOUT,
                    "node " + move.nodeId() + " did not take over within the deadline"));
        });
        self[0] = new PendingMove(c, move.requestId(), move.nodeId(), timer);
        moves.add(self[0]);
    }

    /** A committed entry was applied: a change waiting for it is answered. */
    void applied(Entry e) {
        PendingChange p = changes.remove(e.index());
        if (p == null) return;
        timers.cancel(p.timerId());
        if (p.term() == e.term()) {
            p.channel().reply(members(p.requestId()));
        } else {
            p.channel().reply(new ClientResponse.Error(p.requestId(), ErrorCode.UNAVAILABLE,
                    "a leader change replaced the configuration change before it committed: it was not applied, retry"));
        }
    }

    /** End of a loop turn: transfers whose target now leads are answered. */
    void afterTurn() {
        if (moves.isEmpty()) return;
        for (Iterator<PendingMove> it = moves.iterator(); it.hasNext(); ) {
            PendingMove m = it.next();
            if (core.leader() != m.target()) continue;
            it.remove();
            timers.cancel(m.timerId());
            m.channel().reply(members(m.requestId()));
        }
    }

    private ClientResponse members(long requestId) {
        List<MemberInfo> members = new ArrayList<>();
        for (Membership.Member m : cluster.membership().members()) members.add(new MemberInfo(m.id(), m.address(), !m.isVoter()));
        return new ClientResponse.Members(requestId, cluster.clusterId(), cluster.selfId(), core.leader(), cluster.index(), members);
    }

    private ClientResponse notLeader(long requestId, int leaderId) {
        ClusterConfig.Member leader = cluster.member(leaderId);
        return leader == null ? new ClientResponse.NotLeader(requestId, 0, "", 0) : new ClientResponse.NotLeader(requestId, leader.id(), leader.host(), leader.port());
    }

    /** A change refused for a reason the client is told. */
    private static final class Refusal extends RuntimeException {
        Refusal(String message) {
            super(message, null, false, false);
        }
    }
}
