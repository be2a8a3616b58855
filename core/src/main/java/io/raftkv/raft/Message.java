package io.raftkv.raft;

import java.util.List;

/**
 * A message between two Raft nodes. One shape for every type, as in etcd; the fields a type uses:
 * <pre>
 * PRE_VOTE, VOTE          term (proposed term for PRE_VOTE), index/logTerm = candidate's last entry,
 *                         context = {@link RaftCore#CAMPAIGN_TRANSFER} when the leader asked for it (TIMEOUT_NOW)
 * PRE_VOTE_RESP, VOTE_RESP term, reject
 * APPEND                  term, index/logTerm = entry preceding {@code entries}, entries, commit
 * APPEND_RESP             term; success: index = last index now matching the leader;
 *                         reject: index = the rejected preceding index, hintTerm/hintIndex = the
 *                         follower's term at that index and the first index it holds for that term
 *                         (hintTerm 0: its log ends before, hintIndex = its last index + 1)
 * HEARTBEAT               term, commit (never beyond what the follower is known to hold), context = read round
 * HEARTBEAT_RESP          term, index = the follower's last log index, context = the read round echoed
 * READ_INDEX              term, context = the follower's read request
 * READ_INDEX_RESP         term, index = the read index, context = the follower's read request
 * SNAPSHOT                term, index/logTerm = the last entry the leader's snapshot replaces; the snapshot's
 *                         data is not in the message: the transport carries it, and delivers the message only
 *                         once the data is durable at the receiver (answered by APPEND_RESP); entries = one
 *                         configuration entry at the snapshot's index: the configuration the snapshot holds
 * TIMEOUT_NOW             term: the leader hands leadership over, the receiver campaigns at once (thesis §3.10)
 * </pre>
 */
public record Message(MessageType type, int from, int to, long term, long logTerm, long index,
                      List<Entry> entries, long commit, boolean reject, long hintTerm, long hintIndex,
                      long context) {

    public Message {
        entries = entries == null ? List.of() : entries;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder().append(type).append(' ').append(from).append("->").append(to)
                .append(" t").append(term);
        switch (type) {
            case PRE_VOTE, VOTE -> b.append(" last=").append(index).append('@').append(logTerm);
            case PRE_VOTE_RESP, VOTE_RESP -> b.append(reject ? " reject" : " grant");
            case APPEND -> b.append(" prev=").append(index).append('@').append(logTerm)
                    .append(" n=").append(entries.size()).append(" commit=").append(commit);
            case APPEND_RESP -> {
                b.append(" index=").append(index);
                if (reject) b.append(" reject hint=").append(hintIndex).append('@').append(hintTerm);
            }
            case HEARTBEAT -> b.append(" commit=").append(commit).append(" round=").append(context);
            case HEARTBEAT_RESP -> b.append(" last=").append(index).append(" round=").append(context);
            case READ_INDEX -> b.append(" ctx=").append(context);
            case READ_INDEX_RESP -> b.append(" index=").append(index).append(" ctx=").append(context);
            case SNAPSHOT -> b.append(" snapshot=").append(index).append('@').append(logTerm);
            case TIMEOUT_NOW -> { }
        }
        return b.toString();
    }
}
