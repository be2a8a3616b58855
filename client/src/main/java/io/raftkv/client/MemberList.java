package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.MemberInfo;

import java.util.List;

/**
 * The members of the cluster {@code clusterId} as node {@code nodeId} (the one that answered) knows them: its
 * configuration at log index {@code configIndex} (a higher one is newer), the leader it knows ({@code leaderId}, 0
 * when unknown), and the members ascending by id. What {@link RaftKvClient#members()} and each membership change
 * return.
 */
public record MemberList(long clusterId, int nodeId, int leaderId, long configIndex, List<MemberInfo> members) {

    public MemberList {
        members = List.copyOf(members);
    }

    static MemberList of(ClientResponse.Members m) {
        return new MemberList(m.clusterId(), m.nodeId(), m.leaderId(), m.configIndex(), m.members());
    }

    /** The member with {@code id}, or null. */
    public MemberInfo member(int id) {
        for (MemberInfo m : members) if (m.id() == id) return m;
        return null;
    }

    /** The leader as a member, or null when the answering node knew none (or it is not in this configuration). */
    public MemberInfo leader() {
        return leaderId == 0 ? null : member(leaderId);
    }
}
