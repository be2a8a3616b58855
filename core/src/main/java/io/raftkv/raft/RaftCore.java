package io.raftkv.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The Raft consensus state machine of one node, with nothing inside but state: no threads, no clock, no
 * sockets, no files. It is driven by {@link #tick()}, {@link #step(Message)}, {@link #propose(byte[])} and
 * {@link #readIndex(long)}, and hands back its work as a {@link Ready} (see there for the order the driver
 * must follow), acknowledged with {@link #advance(Ready)}. Not thread-safe: one thread drives it.
 *
 * <p>Behaviour per role is swapped as a whole on a role change ({@link #tickFn}, {@link #stepFn}), as in
 * etcd's raft.
 */
public final class RaftCore {

    /** "No node": no vote cast, no leader known. Node ids start at 1. */
    public static final int NONE = 0;
    /** The context of a VOTE sent because the leader handed over (TIMEOUT_NOW): voters in a leader's lease answer it. */
    public static final long CAMPAIGN_TRANSFER = 1;

    private static final byte VOTE_UNKNOWN = 0;
    private static final byte VOTE_GRANTED = 1;
    private static final byte VOTE_REJECTED = 2;

    private final RaftConfig config;
    private final int id;
    /** The configuration in force: the latest in the log ({@link RaftLog#membership()}), with the arrays below built for it. */
    private Membership membership;
    /** One per member, voters and learners, ascending by id. */
    private Progress[] progress;
    /** Whether progress[i] is a voter's. */
    private boolean[] voting;
    /** This node's progress; null while it is not a member (a node that is joining, or was removed). */
    private Progress self;
    /** Votes by voters, indexed as progress. */
    private byte[] votes;
    private final RaftLog log;
    private final Random random;

    private Role role;
    private long term;
    private int vote;
    private int leader;
    private int electionElapsed;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
    /** Leader only: the voter leadership is being handed to, NONE when no transfer is under way (thesis §3.10). */
    private int leadTransferee = NONE;
    private int transferElapsed;
    private Runnable tickFn;
    private Consumer<Message> stepFn;

    /**
     * Leader only: bytes of the entries of this term not yet committed. Exact: every entry of the leader's
     * term was appended by this leader (a node leads a term at most once), counted when appended, discounted
     * when committed, and the count starts at zero on every role change.
     */
    private long uncommittedBytes;
    /** Leader only: reads waiting for a heartbeat round, in round order. */
    private final ArrayDeque<PendingRead> pendingReads = new ArrayDeque<>();
    /** Leader only: reads that arrived before the leader committed an entry of its term (§6.4 step 1). */
    private final ArrayList<PendingRead> readsAwaitingCommit = new ArrayList<>();
    private long readRound;
    /** How many Readys were handed out: what a read may still join a read index asked before (see {@link #readiesTaken()}). */
    private long readiesTaken;
    private boolean readRoundWanted;

    private ArrayList<Message> messages = new ArrayList<>();
    private ArrayList<Message> messagesAfterPersist = new ArrayList<>();
    private ArrayList<ReadState> readStates = new ArrayList<>();
    private HardState lastHardState;
    private boolean readyOutstanding;
    /** Ticks since this core was made, counted up to the election timeout: with lease reads, no vote before. */
    private int ticksSinceStart;
    /** This leader sent TIMEOUT_NOW in its term: its lease no longer holds. */
    private boolean handedOverInTerm;

    public RaftCore(RaftConfig config, Storage storage) {
        config.validate();
        this.config = config;
        this.id = config.id;
        this.log = new RaftLog(storage, config.appliedIndex, config.bootstrap);
        this.progress = new Progress[0];
        this.random = new Random(config.randomSeed * 1_000_003L + id);
        HardState hs = storage.hardState();
        this.term = hs.term();
        this.vote = hs.vote();
        this.lastHardState = hs;
        syncMembership();
        becomeFollower(term, NONE);
    }

    // ---------------------------------------------------------------- inputs

    /** One unit of logical time. Election and heartbeat timeouts are counted in ticks. */
    public void tick() {
        checkNoReadyOutstanding();
        if (ticksSinceStart < config.electionTicks) ticksSinceStart++;
        tickFn.run();
        checkInvariants();
    }

    /** Feeds a message received from a peer. Messages from unknown nodes, or not addressed to us, are ignored. */
    public void step(Message m) {
        checkNoReadyOutstanding();
        // Messages from nodes outside our configuration are taken as from any other: a node that joins hears from a
        // leader it has no configuration for yet, and a leader answered by a node it removed just ignores the answer.
        if (m.to() != id || m.from() == id || m.from() <= NONE || !wellFormed(m)) return;
        if (m.term() > term) {
            if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
                // §4.2.3 (thesis): while we hear from a live leader, ignore candidates that would depose it.
                // With lease reads, a node just started may have acknowledged a leader before it crashed: it keeps
                // that leader's lease too (thesis §6.4.1).
                boolean inLease = config.checkQuorum && (leader != NONE ? electionElapsed < config.electionTicks
                        : config.leaseReads && ticksSinceStart < config.electionTicks);
                if (inLease && m.context() != CAMPAIGN_TRANSFER) return;
            }
            boolean termStays = m.type() == MessageType.PRE_VOTE
                    || (m.type() == MessageType.PRE_VOTE_RESP && !m.reject());
            if (!termStays) {
                boolean fromLeader = isFromLeader(m.type());
                becomeFollower(m.term(), fromLeader ? m.from() : NONE);
            }
        } else if (m.term() < term) {
            if ((config.checkQuorum || config.preVote) && isFromLeader(m.type())) {
                // A stale leader: with PreVote and CheckQuorum it may never see our term otherwise, since we
                // do not campaign against it. Our answer carries the term that makes it step down.
                send(message(MessageType.APPEND_RESP, m.from()).build());
            } else if (m.type() == MessageType.PRE_VOTE) {
                send(message(MessageType.PRE_VOTE_RESP, m.from()).reject(true).build());
            }
            checkInvariants();
            return;
        }
        if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
            handleVoteRequest(m);
        } else {
            stepFn.accept(m);
        }
        checkInvariants();
    }

    /**
     * Proposes a command. Only the leader accepts; the result names the entry, or the known leader, or
     * says that too many bytes are uncommitted. {@code data} must not be empty (empty marks a no-op).
     */
    public SubmitResult propose(byte[] data) {
        checkNoReadyOutstanding();
        if (data.length == 0) throw new IllegalArgumentException("a proposal must not be empty");
        if (Membership.ENTRY_MARK == data[0]) throw new IllegalArgumentException("a command must not start with the configuration mark");
        if (role != Role.LEADER) return SubmitResult.notLeader(leader);
        // While handing over, the leader takes nothing new, so that the target can catch up and take over (§3.10).
        if (leadTransferee != NONE) return SubmitResult.notLeader(NONE);
        long size = Entry.OVERHEAD_BYTES + data.length;
        if (uncommittedBytes > 0 && uncommittedBytes + size > config.uncommittedBytesMax) return SubmitResult.overloaded(id);
        long index = appendEntry(data);
        checkInvariants();
        return SubmitResult.accepted(index, term);
    }

    /**
     * Asks for a linearizable read tagged {@code context}. When ready, a {@link ReadState} with the same
     * context comes out of {@link #ready()}: the read may be served once the applied index reaches it. A
     * follower forwards the request to the leader. The request may be dropped (leader change): the caller
     * keeps a deadline.
     */
    public SubmitResult readIndex(long context) {
        checkNoReadyOutstanding();
        if (role == Role.LEADER) {
            return registerRead(id, context) ? SubmitResult.accepted(0, term) : SubmitResult.overloaded(id);
        }
        if (config.injectedBug == InjectedBug.FOLLOWER_READ_INDEX_FROM_OWN_LOG) {
            readStates.add(new ReadState(log.committed, context));
            return SubmitResult.accepted(0, term);
        }
        if (leader == NONE) return SubmitResult.notLeader(NONE);
        send(message(MessageType.READ_INDEX, leader).context(context).build());
        return SubmitResult.accepted(0, term);
    }

    /**
     * How many Readys this core has handed out. A linearizable read that arrives before the next one may share a read index
     * asked since the last: what the read index sends or releases leaves with that Ready, after the read arrived.
     */
    public long readiesTaken() {
        return readiesTaken;
    }

    /**
     * A linearizable read from the leader's lease (thesis §6.4.1): the caller vouches that a majority acknowledged this
     * leader, in this term, less than a lease ago (an election timeout less a tick and the clock drift bound), so no other
     * leader can have been elected since. The read is released at once at the commit index, in the next Ready's
     * {@link Ready#readStates()}. False, and nothing done, when this node cannot vouch for its commit index: it does not
     * lead, has not committed an entry of its term yet, or has handed leadership over in this term (the target's VOTE is
     * answered inside the lease); the caller then asks {@link #readIndex(long)}.
     */
    public boolean leaseRead(long context) {
        checkNoReadyOutstanding();
        if (role != Role.LEADER || handedOverInTerm || leadTransferee != NONE || log.term(log.committed) != term) return false;
        readStates.add(new ReadState(log.committed, context));
        return true;
    }

    /**
     * The transport tells how sending a snapshot to {@code peer} ended ({@code delivered}: the peer has it on
     * disk). Only a leader cares; either way it probes the peer again after its next heartbeat answer.
     */
    public void reportSnapshot(int peer, boolean delivered) {
        checkNoReadyOutstanding();
        int i = indexOf(peer);
        if (role != Role.LEADER || i < 0 || progress[i] == self) return;
        progress[i].snapshotReported(delivered);
        checkInvariants();
    }

    /**
     * Proposes {@code next} as the cluster's configuration: one server added, removed or promoted at a time (thesis
     * §4.1, with the fix from the raft-dev list: not before the leader committed an entry of its own term), so any
     * majority of the old configuration overlaps any majority of the new. Refused, with the reason, when: another
     * change is not yet committed; the change is not a single-server one; it removes the leader (hand over first);
     * it promotes a learner whose log lags more than 10% of the commit index or {@code learnerPromoteLagEntriesMax}
     * entries behind it; or the
     * new configuration's voters that answered within the last election timeout would not make a quorum of it
     * (etcd's strict reconfiguration check). The new configuration is in force as soon as it is appended.
     */
    public SubmitResult proposeMembership(Membership next) {
        checkNoReadyOutstanding();
        if (role != Role.LEADER) return SubmitResult.notLeader(leader);
        SubmitResult refusal = membershipRefusal(next);
        if (refusal != null) return refusal;
        long index = appendEntry(next.toEntryData());
        checkInvariants();
        return SubmitResult.accepted(index, term);
    }

    private SubmitResult membershipRefusal(Membership next) {
        if (leadTransferee != NONE) return SubmitResult.retryLater(id, "leadership is being handed to node " + leadTransferee);
        if (log.term(log.committed) != term) {
            return SubmitResult.retryLater(id, "the leader has not yet committed an entry of its term; retry in a moment");
        }
        if (log.membershipIndex() > log.committed) {
            return SubmitResult.refused(id, "the configuration change at index " + log.membershipIndex() + " is not yet committed; one change at a time");
        }
        if (next.equals(membership)) return SubmitResult.refused(id, "the configuration would not change");
        if (!membership.isSingleServerChangeTo(next)) {
            return SubmitResult.refused(id, "more than one voter would change (" + membership + " to " + next + "): one at a time");
        }
        if (!next.isVoter(id)) return SubmitResult.refused(id, "the change removes or demotes the leader: hand leadership over first");
        for (Membership.Member m : next.members()) {
            if (membership.isLearner(m.id()) && m.isVoter()) {
                // etcd's rule (a learner holds 90% of the leader's log), with a bound in entries for long logs.
                long lag = log.committed - progress[indexOf(m.id())].match();
                long allowed = Math.min(config.learnerPromoteLagEntriesMax, log.committed / 10);
                if (lag > allowed) {
                    return SubmitResult.refused(id, "learner " + m.id() + " is " + lag + " entries behind the commit index (at most "
                            + allowed + " to be promoted): wait until it has caught up");
                }
            }
        }
        int reachable = 0;
        for (int v : next.voterIds()) {
            int i = indexOf(v);
            if (i >= 0 && (progress[i] == self || progress[i].activeLately())) reachable++;
        }
        if (reachable < next.majority()) {
            return SubmitResult.refused(id, "only " + reachable + " of the " + next.voterIds().length + " voters after the change answered lately, "
                    + "below its quorum of " + next.majority());
        }
        return null;
    }

    /**
     * Hands leadership to the voter {@code target} (thesis §3.10): the leader stops taking proposals, brings the
     * target's log up to its own, then tells it to campaign at once (TIMEOUT_NOW); its VOTE is answered even by
     * voters that still hear this leader. Abandoned after an election timeout. Only the leader accepts.
     */
    public SubmitResult transferLeadership(int target) {
        checkNoReadyOutstanding();
        if (role != Role.LEADER) return SubmitResult.notLeader(leader);
        if (target == id) return SubmitResult.refused(id, "node " + id + " already leads");
        if (!membership.isVoter(target)) return SubmitResult.refused(id, "node " + target + " is not a voter of " + membership);
        if (leadTransferee != target) {
            leadTransferee = target;
            transferElapsed = 0;
            Progress pr = progress[indexOf(target)];
            if (pr.match() == log.lastIndex()) sendTimeoutNow(pr); else pr.markSendPending();
        }
        checkInvariants();
        return SubmitResult.accepted(0, term);
    }

    /** The configuration in force: the latest in the log, committed or not. */
    public Membership membership() {
        return membership;
    }

    /** Index of the entry that set {@link #membership()} (0 for the bootstrap configuration, the snapshot's index for its). */
    public long membershipIndex() {
        return log.membershipIndex();
    }

    /** Whether a configuration change is in the log and not yet committed. */
    public boolean membershipChangePending() {
        return log.membershipIndex() > log.committed;
    }

    /** The configuration in force at the commit index: the latest that can no longer be cut from the log. */
    public Membership committedMembership() {
        return log.committedMembership();
    }

    /** The configuration as of the applied index: the one a snapshot taken now holds. */
    public Membership appliedMembership() {
        return log.appliedMembership();
    }

    /**
     * Leader only: the voter other than itself that answered lately and holds the most of the log, to hand
     * leadership to; NONE when there is none (or this node does not lead).
     */
    public int mostCaughtUpVoter() {
        if (role != Role.LEADER) return NONE;
        int best = NONE;
        long bestMatch = -1;
        for (int i = 0; i < progress.length; i++) {
            Progress pr = progress[i];
            if (pr == self || !voting[i] || !pr.activeLately()) continue;
            if (pr.match() > bestMatch) {
                best = pr.peerId();
                bestMatch = pr.match();
            }
        }
        return best;
    }

    /** Leader only: the highest index known to be in {@code peer}'s log (-1 when it is not a member, or we do not lead). */
    public long matchOf(int peer) {
        int i = indexOf(peer);
        return role == Role.LEADER && i >= 0 ? progress[i].match() : -1;
    }

    // ---------------------------------------------------------------- outputs

    /**
     * Whether {@link #ready()} would hand out anything: true if and only if it would, and ready() checks that
     * the two agree. A pure query, as etcd's {@code RawNode.HasReady}: it changes nothing, and the APPENDs and
     * heartbeats it counts are only built by ready(). False while a Ready is outstanding.
     */
    public boolean hasReady() {
        if (readyOutstanding) return false;
        return log.hasUnstable() || !hardState().equals(lastHardState) || !messages.isEmpty()
                || !messagesAfterPersist.isEmpty() || !readStates.isEmpty() || log.hasNextCommitted() || sendsDue();
    }

    /**
     * Takes the work accumulated since the last call, building first the APPENDs and heartbeats that wait
     * for it (so that the proposals of one loop turn share messages). {@link #advance(Ready)} must follow
     * before any other call.
     */
    public Ready ready() {
        checkNoReadyOutstanding();
        readiesTaken++;
        boolean announced = hasReady();
        flushSends();
        HardState hs = hardState();
        boolean changed = !hs.equals(lastHardState);
        boolean mustSync = hs.term() != lastHardState.term() || hs.vote() != lastHardState.vote() || log.hasUnstable();
        Ready rd = new Ready(changed ? hs : null, mustSync, log.unstableSnapshot(), log.unstableSnapshotMembership(), log.unstableEntries(), messages, messagesAfterPersist,
                log.nextCommitted(config.applyBytesPerReadyMax), readStates);
        if (announced == isEmpty(rd)) {
            // A driver loops while hasReady(): a false true would spin it, a false false would strand the work.
            throw new IllegalStateException("hasReady() was " + announced + " but ready() built " + (announced ? "nothing" : rd));
        }
        lastHardState = hs;
        messages = new ArrayList<>();
        messagesAfterPersist = new ArrayList<>();
        readStates = new ArrayList<>();
        readyOutstanding = true;
        return rd;
    }

    /**
     * The driver has sent, installed and applied what {@code rd} asked for, and handed its hard state and entries to
     * the disk: they count once {@link #persisted} says they are durable.
     */
    public void advance(Ready rd) {
        if (!readyOutstanding) throw new IllegalStateException("advance without a ready");
        readyOutstanding = false;
        if (rd.snapshot() != null) log.snapshotInstalled(rd.snapshot());
        if (!rd.entries().isEmpty()) log.inProgressTo(rd.entries().get(rd.entries().size() - 1).index());
        if (!rd.committedEntries().isEmpty()) {
            log.appliedTo(rd.committedEntries().get(rd.committedEntries().size() - 1).index());
        }
        checkInvariants();
    }

    /**
     * The entries handed out up to ({@code index}, {@code term}) are durable, with everything handed out before them. A
     * report for entries replaced meanwhile (a follower's conflicting tail) changes nothing: the replacements are
     * reported in their turn.
     */
    public void persisted(long index, long term) {
        checkNoReadyOutstanding();
        log.stableTo(index, term);
        // The leader counts its own copy only once it is durable, like any follower's.
        if (role == Role.LEADER && self.maybeUpdate(log.stableLastIndex()) && maybeCommit()) markAllPending();
        checkInvariants();
    }

    public RaftStatus status() {
        return new RaftStatus(id, role, term, vote, leader, log.committed, log.applied, log.lastIndex(), log.lastTerm());
    }

    public int id() {
        return id;
    }

    public Role role() {
        return role;
    }

    public long term() {
        return term;
    }

    public int leader() {
        return leader;
    }

    public HardState hardState() {
        return new HardState(term, vote, log.committed);
    }

    // ---------------------------------------------------------------- roles

    private void reset(long newTerm) {
        if (newTerm != term) {
            term = newTerm;
            vote = NONE;
            handedOverInTerm = false;
        }
        leader = NONE;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        randomizedElectionTimeout = config.electionTicks + random.nextInt(config.electionTicks);
        Arrays.fill(votes, VOTE_UNKNOWN);
        leadTransferee = NONE;
        uncommittedBytes = 0;
        pendingReads.clear();
        readsAwaitingCommit.clear();
        readRoundWanted = false;
        for (Progress pr : progress) pr.reset(log.lastIndex() + 1);
    }

    private void becomeFollower(long newTerm, int newLeader) {
        reset(newTerm);
        leader = newLeader;
        role = Role.FOLLOWER;
        tickFn = this::tickElection;
        stepFn = this::stepFollower;
    }

    private void becomePreCandidate() {
        // §9.6 (thesis) PreVote: ask first whether we could win, without raising our term, so that a node
        // coming back from a partition does not disrupt a healthy cluster.
        reset(term);
        role = Role.PRE_CANDIDATE;
        tickFn = this::tickElection;
        stepFn = this::stepCandidate;
        requestVotes(MessageType.PRE_VOTE, term + 1, 0);
    }

    private void becomeCandidate() {
        becomeCandidate(0);
    }

    /** {@code context}: {@link #CAMPAIGN_TRANSFER} when the leader handed over, else 0. */
    private void becomeCandidate(long context) {
        reset(term + 1);
        vote = id;
        role = Role.CANDIDATE;
        tickFn = this::tickElection;
        stepFn = this::stepCandidate;
        requestVotes(MessageType.VOTE, term, context);
    }

    private void becomeLeader() {
        reset(term);
        leader = id;
        role = Role.LEADER;
        tickFn = this::tickHeartbeat;
        stepFn = this::stepLeader;
        self.maybeUpdate(log.stableLastIndex());
        self.becomeReplicate();
        // §8: a no-op of the new term, so that entries of earlier terms get committed through it.
        appendEntry(new byte[0]);
    }

    private void requestVotes(MessageType type, long voteTerm, long context) {
        votes[indexOf(id)] = VOTE_GRANTED;
        if (tally(VOTE_GRANTED) >= membership.majority()) {
            if (type == MessageType.PRE_VOTE) becomeCandidate(); else becomeLeader();
            return;
        }
        for (int peer : membership.voterIds()) {
            if (peer == id) continue;
            send(message(type, peer).term(voteTerm).logTerm(log.lastTerm()).index(log.lastIndex()).context(context).build());
        }
    }

    private int tally(byte outcome) {
        int n = 0;
        for (int i = 0; i < votes.length; i++) if (voting[i] && votes[i] == outcome) n++;
        return n;
    }

    // ---------------------------------------------------------------- ticks

    private void tickElection() {
        electionElapsed++;
        // Only voters campaign: a learner, a node that is joining or one that was removed only follows.
        if (electionElapsed >= randomizedElectionTimeout && membership.isVoter(id)) {
            electionElapsed = 0;
            if (config.preVote) becomePreCandidate(); else becomeCandidate();
        }
    }

    private void tickHeartbeat() {
        heartbeatElapsed++;
        electionElapsed++;
        // A transfer that has not happened within an election timeout is given up: the leader serves again.
        if (leadTransferee != NONE && ++transferElapsed >= config.electionTicks) leadTransferee = NONE;
        if (electionElapsed >= config.electionTicks) {
            electionElapsed = 0;
            // CheckQuorum (thesis §6.2): a leader that has not heard from a majority for an election timeout
            // steps down, so clients stop waiting on it and reads through it stop.
            if (config.checkQuorum && !quorumRecentlyActive()) {
                becomeFollower(term, NONE);
                return;
            }
        }
        if (heartbeatElapsed >= config.heartbeatTicks) {
            heartbeatElapsed = 0;
            broadcastHeartbeat();
        }
    }

    private boolean quorumRecentlyActive() {
        int active = 0;
        for (int i = 0; i < progress.length; i++) {
            Progress pr = progress[i];
            if (voting[i] && (pr == self || pr.recentActive())) active++;
            pr.clearRecentActive();
        }
        return active >= membership.majority();
    }

    // ---------------------------------------------------------------- steps

    private void handleVoteRequest(Message m) {
        boolean canVote = vote == m.from()
                || (vote == NONE && leader == NONE)
                || (m.type() == MessageType.PRE_VOTE && m.term() > term);
        boolean upToDate = config.injectedBug == InjectedBug.SKIP_UP_TO_DATE_CHECK || log.isUpToDate(m.index(), m.logTerm());
        MessageType response = m.type() == MessageType.VOTE ? MessageType.VOTE_RESP : MessageType.PRE_VOTE_RESP;
        if (canVote && upToDate) {
            // A grant carries the term asked for, so a pre-candidate can tell it from a stale answer.
            send(message(response, m.from()).term(m.term()).build());
            if (m.type() == MessageType.VOTE) {
                electionElapsed = 0;
                vote = m.from();
            }
        } else {
            send(message(response, m.from()).reject(true).build());
        }
    }

    private void stepFollower(Message m) {
        switch (m.type()) {
            case APPEND -> {
                electionElapsed = 0;
                leader = m.from();
                handleAppend(m);
            }
            case HEARTBEAT -> {
                electionElapsed = 0;
                leader = m.from();
                handleHeartbeat(m);
            }
            case READ_INDEX_RESP -> readStates.add(new ReadState(m.index(), m.context()));
            case SNAPSHOT -> {
                electionElapsed = 0;
                leader = m.from();
                handleSnapshot(m);
            }
            case TIMEOUT_NOW -> {
                // Our leader hands over: campaign now, without PreVote (it would be refused while the leader is
                // alive), with a VOTE that voters in its lease still answer.
                if (membership.isVoter(id)) becomeCandidate(CAMPAIGN_TRANSFER);
            }
            default -> { }
        }
    }

    private void stepCandidate(Message m) {
        switch (m.type()) {
            case APPEND -> {
                becomeFollower(m.term(), m.from());
                handleAppend(m);
            }
            case HEARTBEAT -> {
                becomeFollower(m.term(), m.from());
                handleHeartbeat(m);
            }
            case SNAPSHOT -> {
                becomeFollower(m.term(), m.from());
                handleSnapshot(m);
            }
            case PRE_VOTE_RESP, VOTE_RESP -> handleVoteResponse(m);
            default -> { }
        }
    }

    private void handleVoteResponse(Message m) {
        boolean preVote = role == Role.PRE_CANDIDATE;
        if (preVote != (m.type() == MessageType.PRE_VOTE_RESP)) return;
        long askedTerm = preVote ? term + 1 : term;
        if (m.reject() ? m.term() != term : m.term() != askedTerm) return;
        int i = indexOf(m.from());
        if (i < 0 || !voting[i]) return;
        if (votes[i] == VOTE_UNKNOWN) votes[i] = m.reject() ? VOTE_REJECTED : VOTE_GRANTED;
        if (tally(VOTE_GRANTED) >= membership.majority()) {
            if (preVote) becomeCandidate(); else becomeLeader();
        } else if (tally(VOTE_REJECTED) >= membership.majority()) {
            becomeFollower(term, NONE);
        }
    }

    private void stepLeader(Message m) {
        int i = indexOf(m.from());
        if (i < 0) return;
        Progress pr = progress[i];
        pr.markRecentActive();
        switch (m.type()) {
            case APPEND_RESP -> handleAppendResponse(pr, m);
            case HEARTBEAT_RESP -> {
                pr.heartbeatAnswered(m.index());
                if (pr.match() < log.lastIndex()) {
                    // The follower may have lost appends we count as in flight: an APPEND, even an empty
                    // one, makes it answer, and a rejection puts it back in PROBE (as etcd does).
                    pr.requestProbe();
                }
                if (pr.maybeAckReadRound(m.context())) releaseReads();
            }
            case READ_INDEX -> registerRead(m.from(), m.context());
            default -> { }
        }
    }

    // ---------------------------------------------------------------- replication, follower side

    private void handleAppend(Message m) {
        if (m.index() < log.committed) {
            send(message(MessageType.APPEND_RESP, m.from()).index(log.committed).build());
            return;
        }
        long lastNew = log.maybeAppend(m.index(), m.logTerm(), m.commit(), m.entries());
        syncMembership();
        if (lastNew >= 0) {
            send(message(MessageType.APPEND_RESP, m.from()).index(lastNew).build());
            return;
        }
        // §5.3 with the thesis' faster back-off: name our term at the rejected index and where it starts,
        // so the leader can skip the whole conflicting term in one round trip.
        long hintTerm = 0;
        long hintIndex = log.lastIndex() + 1;
        if (m.index() <= log.lastIndex()) {
            hintTerm = log.term(m.index());
            hintIndex = log.firstIndexOfTermAt(m.index());
        }
        send(message(MessageType.APPEND_RESP, m.from()).index(m.index()).reject(true)
                .hintTerm(hintTerm).hintIndex(hintIndex).build());
    }

    private void handleHeartbeat(Message m) {
        // The leader sends min(match, commit). A node that lost entries it had acknowledged (a disk that
        // dropped synced data, a damaged tail cut at restart) holds less than match: it commits what it has,
        // which matches the leader, and its answer names its last index so that the leader resends the rest.
        log.commitTo(Math.min(m.commit(), log.lastIndex()));
        send(message(MessageType.HEARTBEAT_RESP, m.from()).index(log.lastIndex()).context(m.context()).build());
    }

    /**
     * §7: the leader sent its snapshot because it no longer holds the entries we need. When our log already holds
     * the snapshot's last entry, the entries up to it are committed and nothing is restored (etcd does the same);
     * otherwise the whole log is replaced by the snapshot. The answer names our commit, or the snapshot's index
     * once it is installed (sent after the driver persisted it).
     */
    private void handleSnapshot(Message m) {
        SnapshotId id = new SnapshotId(m.index(), m.logTerm());
        if (id.index() <= log.committed) {
            send(message(MessageType.APPEND_RESP, m.from()).index(log.committed).build());
            return;
        }
        if (log.matchTerm(id.index(), id.term())) {
            log.commitTo(id.index());
            send(message(MessageType.APPEND_RESP, m.from()).index(log.committed).build());
            return;
        }
        log.restore(id, Membership.fromEntry(m.entries().get(0)));
        syncMembership();
        send(message(MessageType.APPEND_RESP, m.from()).index(log.lastIndex()).build());
    }

    // ---------------------------------------------------------------- replication, leader side

    private long appendEntry(byte[] data) {
        long index = log.lastIndex() + 1;
        Entry e = new Entry(term, index, data);
        log.append(List.of(e));
        uncommittedBytes += e.sizeBytes();
        syncMembership();
        markAllPending();
        return index;
    }

    private void handleAppendResponse(Progress pr, Message m) {
        if (m.reject()) {
            if (pr.maybeDecrTo(m.index(), nextAfterRejection(m))) pr.markSendPending();
            return;
        }
        // An acknowledgement of entries this leader does not hold comes from no correct peer: dropped, so
        // that match never passes our log.
        if (m.index() > log.lastIndex()) return;
        if (pr.maybeUpdate(m.index())) {
            if (pr.state() == Progress.State.PROBE) pr.becomeReplicate();
            if (maybeCommit()) markAllPending();
        }
        if (pr.peerId() == leadTransferee && pr.match() == log.lastIndex()) sendTimeoutNow(pr);
        pr.markSendPending();
    }

    /**
     * Where to probe after a rejection (§5.3 with the thesis' faster back-off): when the follower named its
     * term at the rejected index, just after our last entry of that term (if we have none, the first index
     * the follower holds for that term); when its log ends before, just after its last entry.
     */
    private long nextAfterRejection(Message m) {
        if (m.hintTerm() != 0) {
            long lastOfTerm = log.lastIndexOfTerm(m.hintTerm(), m.index());
            if (lastOfTerm >= 0) return lastOfTerm + 1;
        }
        return m.hintIndex();
    }

    /** §5.3/§5.4.2: commit the highest index a majority holds, but only counting replicas of the current term. */
    private boolean maybeCommit() {
        long[] matches = new long[membership.voterIds().length];
        int n = 0;
        for (int i = 0; i < progress.length; i++) if (voting[i]) matches[n++] = progress[i].match();
        Arrays.sort(matches);
        long quorumIndex = matches[matches.length - membership.majority()];
        if (quorumIndex <= log.committed) return false;
        boolean currentTerm = log.term(quorumIndex) == term;
        if (!currentTerm && config.injectedBug != InjectedBug.COMMIT_PREVIOUS_TERM_BY_COUNTING) return false;
        boolean firstCommitOfTerm = log.term(log.committed) != term;
        long committedBytes = 0;
        for (Entry e : log.entries(log.committed + 1, quorumIndex + 1, Long.MAX_VALUE)) {
            if (e.term() == term) committedBytes += e.sizeBytes();
        }
        if (committedBytes > uncommittedBytes) {
            throw new IllegalStateException("committing " + committedBytes + " bytes of term " + term + " up to " + quorumIndex
                    + ", but only " + uncommittedBytes + " were counted as uncommitted");
        }
        uncommittedBytes -= committedBytes;
        log.commitTo(quorumIndex);
        if (firstCommitOfTerm && currentTerm && !readsAwaitingCommit.isEmpty()) {
            // Already accepted and counted against pendingReadsMax: they move over without a second check.
            for (PendingRead r : readsAwaitingCommit) pendingReads.add(new PendingRead(r.from(), r.context(), log.committed, readRound + 1));
            readsAwaitingCommit.clear();
            readRoundWanted = true;
        }
        return true;
    }

    private void markAllPending() {
        for (Progress pr : progress) if (pr != self) pr.markSendPending();
    }

    /** Whether {@link #flushSends()} would send anything. Must agree with it: {@link #ready()} checks. */
    private boolean sendsDue() {
        if (role != Role.LEADER) return false;
        // A wanted round always sends: a heartbeat to each peer or, with none, releases the read waiting for
        // it (checkInvariants: a read waits for the next round whenever one is wanted).
        if (readRoundWanted) return true;
        for (Progress pr : progress) {
            if (pr != self && pr.sendPending() && appendWanted(pr)) return true;
        }
        return false;
    }

    /** Sends what each follower waits for, batched: called when the driver collects output. */
    private void flushSends() {
        if (role != Role.LEADER) return;
        if (readRoundWanted) broadcastHeartbeat();
        for (Progress pr : progress) {
            if (pr == self || !pr.sendPending()) continue;
            pr.clearSendPending();
            sendAppends(pr);
        }
    }

    /** Sends {@code pr} APPENDs while it is not paused and one would carry something. */
    private void sendAppends(Progress pr) {
        while (appendWanted(pr)) {
            if (pr.next() < log.firstIndex()) {
                // The entries it needs were compacted away: the snapshot replaces them (§7).
                SnapshotId snapshot = log.snapshot();
                Entry config = new Entry(snapshot.term(), snapshot.index(), log.snapshotMembership().toEntryData());
                send(message(MessageType.SNAPSHOT, pr.peerId()).index(snapshot.index()).logTerm(snapshot.term()).entries(List.of(config)).build());
                pr.becomeSnapshot(snapshot.index());
                return;
            }
            long prevIndex = pr.next() - 1;
            long last = log.lastIndex();
            // Batching limits (entries, then bytes), not a clamp: the rest goes in the next message.
            List<Entry> entries = pr.next() <= last
                    ? log.entries(pr.next(), Math.min(last + 1, pr.next() + config.entriesPerMessageMax), config.bytesPerMessageMax)
                    : List.of();
            send(message(MessageType.APPEND, pr.peerId()).index(prevIndex).logTerm(log.term(prevIndex))
                    .entries(entries).commit(log.committed).build());
            long entryBytes = 0;
            for (Entry e : entries) entryBytes += e.sizeBytes();
            pr.sentAppend(prevIndex, entries.size(), entryBytes, log.committed);
        }
    }

    /**
     * Whether an APPEND may go to {@code pr} now and would carry something: entries it lacks, a commit index
     * it was not sent, or a probe (in PROBE every APPEND is one; in REPLICATE when asked for).
     */
    private boolean appendWanted(Progress pr) {
        if (pr.paused()) return false;
        return pr.next() <= log.lastIndex() || pr.sentCommit() < log.committed
                || pr.state() == Progress.State.PROBE || pr.probeWanted();
    }

    private void broadcastHeartbeat() {
        readRound++;
        readRoundWanted = false;
        for (Progress pr : progress) {
            if (pr == self) continue;
            // Never a commit beyond what the follower is known to hold (see handleHeartbeat).
            send(message(MessageType.HEARTBEAT, pr.peerId()).commit(Math.min(pr.match(), log.committed)).context(readRound).build());
        }
        releaseReads();
    }

    // ---------------------------------------------------------------- ReadIndex, leader side

    private boolean registerRead(int from, long context) {
        if (pendingReads.size() + readsAwaitingCommit.size() >= config.pendingReadsMax) return false;
        if (log.term(log.committed) != term) {
            readsAwaitingCommit.add(new PendingRead(from, context, 0, 0));
        } else {
            pendingReads.add(new PendingRead(from, context, log.committed, readRound + 1));
            readRoundWanted = true;
        }
        return true;
    }

    private void releaseReads() {
        long[] rounds = new long[membership.voterIds().length];
        int n = 0;
        for (int i = 0; i < progress.length; i++) if (voting[i]) rounds[n++] = progress[i] == self ? readRound : progress[i].ackedReadRound();
        Arrays.sort(rounds);
        long confirmed = rounds[rounds.length - membership.majority()];
        while (!pendingReads.isEmpty() && pendingReads.peekFirst().round() <= confirmed) {
            PendingRead r = pendingReads.pollFirst();
            if (r.from() == id) {
                readStates.add(new ReadState(r.index(), r.context()));
            } else {
                send(message(MessageType.READ_INDEX_RESP, r.from()).index(r.index()).context(r.context()).build());
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private void send(Message m) {
        // Only what depends on no unpersisted state goes out before the driver's sync: the leader's appends
        // and heartbeats (its term is durable since it campaigned), read-index traffic, and the answer to a heartbeat,
        // which promises nothing durable (the leader never counts its last index as a match). Votes and
        // acknowledgements of entries promise what is being persisted, so they wait for it.
        boolean immediate = switch (m.type()) {
            case APPEND, HEARTBEAT, HEARTBEAT_RESP, SNAPSHOT, READ_INDEX, READ_INDEX_RESP, PRE_VOTE, TIMEOUT_NOW -> true;
            default -> false;
        };
        (immediate ? messages : messagesAfterPersist).add(m);
    }

    private MessageBuilder message(MessageType type, int to) {
        return new MessageBuilder(type, id, to, term);
    }

    private static boolean isFromLeader(MessageType type) {
        return type == MessageType.APPEND || type == MessageType.HEARTBEAT || type == MessageType.SNAPSHOT || type == MessageType.TIMEOUT_NOW;
    }

    private int indexOf(int nodeId) {
        for (int i = 0; i < progress.length; i++) if (progress[i].peerId() == nodeId) return i;
        return -1;
    }

    private void sendTimeoutNow(Progress pr) {
        send(message(MessageType.TIMEOUT_NOW, pr.peerId()).build());
        // Its VOTE is answered inside this leader's lease: no lease read for the rest of the term.
        handedOverInTerm = true;
    }

    /**
     * Makes the configuration in force the latest in the log, after anything that may have changed it (an append,
     * a cut tail, a snapshot): the progress of members that stay is kept, new members start as a new leader's
     * followers do, those that left are forgotten; a transfer to a node no longer a voter is given up.
     */
    private void syncMembership() {
        Membership latest = log.membership();
        if (latest == membership) return;
        membership = latest;
        List<Membership.Member> members = latest.members();
        Progress[] nextProgress = new Progress[members.size()];
        boolean[] nextVoting = new boolean[members.size()];
        byte[] nextVotes = new byte[members.size()];
        for (int i = 0; i < members.size(); i++) {
            Membership.Member m = members.get(i);
            int old = indexOf(m.id());
            if (old >= 0) {
                nextProgress[i] = progress[old];
                nextVotes[i] = votes[old];
            } else {
                nextProgress[i] = new Progress(m.id(), config.inflightMessagesMax, config.inflightBytesMax, config.snapshotInstallHeartbeatsMax);
                nextProgress[i].reset(log.lastIndex() + 1);
                if (role == Role.LEADER) nextProgress[i].markSendPending();
            }
            nextVoting[i] = m.isVoter();
        }
        progress = nextProgress;
        voting = nextVoting;
        votes = nextVotes;
        int selfIndex = indexOf(id);
        self = selfIndex >= 0 ? progress[selfIndex] : null;
        if (role == Role.LEADER) {
            if (self == null || !voting[selfIndex]) throw new IllegalStateException("leader " + id + " is not a voter of its configuration " + latest);
            // The leader's own entries count once durable; a new Progress for itself cannot appear (it was a voter).
        }
        if (leadTransferee != NONE && !latest.isVoter(leadTransferee)) leadTransferee = NONE;
    }

    /**
     * A message no correct peer sends (entries not following their preceding index, terms out of order) is
     * dropped: the log must never see it, and the node must not die of it.
     */
    private static boolean wellFormed(Message m) {
        if (m.term() < 0 || m.index() < 0 || m.logTerm() < 0 || m.commit() < 0) return false;
        if (m.type() == MessageType.SNAPSHOT) {
            if (m.index() < 1 || m.logTerm() < 1 || m.logTerm() > m.term() || m.entries().size() != 1) return false;
            Entry config = m.entries().get(0);
            return config.index() == m.index() && config.term() == m.logTerm() && decodes(config);
        }
        long term = m.logTerm();
        for (int i = 0; i < m.entries().size(); i++) {
            Entry e = m.entries().get(i);
            if (e.index() != m.index() + 1 + i || e.term() < term || e.term() > m.term()) return false;
            if (Membership.isConfigEntry(e) && !decodes(e)) return false;
            term = e.term();
        }
        return true;
    }

    private static boolean decodes(Entry config) {
        try {
            Membership.fromEntry(config);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean isEmpty(Ready rd) {
        return rd.hardState() == null && rd.snapshot() == null && rd.entries().isEmpty() && rd.messages().isEmpty()
                && rd.messagesAfterPersist().isEmpty() && rd.committedEntries().isEmpty() && rd.readStates().isEmpty();
    }

    private void checkNoReadyOutstanding() {
        if (readyOutstanding) throw new IllegalStateException("the last Ready was not advanced");
    }

    /** Cheap invariants, checked after every input: a violation stops the node instead of corrupting data. */
    private void checkInvariants() {
        if (log.committed > log.lastIndex()) throw new IllegalStateException("commit " + log.committed + " past last index " + log.lastIndex());
        if (log.applied > log.committed) throw new IllegalStateException("applied " + log.applied + " past commit " + log.committed);
        if ((role == Role.LEADER) != (leader == id)) throw new IllegalStateException("role " + role + " with leader " + leader);
        if (role == Role.LEADER && vote != id) throw new IllegalStateException("leader of term " + term + " voted for " + vote);
        if (role != Role.FOLLOWER && !membership.isVoter(id)) throw new IllegalStateException(role + " " + id + " is not a voter of " + membership);
        if (role != Role.LEADER && uncommittedBytes != 0) throw new IllegalStateException(role + " counts " + uncommittedBytes + " uncommitted bytes");
        if (role == Role.LEADER) {
            // The leader's log only grows while it leads, and acknowledgements past it are dropped.
            for (Progress pr : progress) {
                if (pr.match() > log.lastIndex()) throw new IllegalStateException("progress " + pr + " past the leader's last index " + log.lastIndex());
            }
        }
        if (readRoundWanted && (role != Role.LEADER || pendingReads.isEmpty() || pendingReads.peekLast().round() != readRound + 1)) {
            throw new IllegalStateException("a read round wanted by " + role + " with no read waiting for round " + (readRound + 1));
        }
    }

    @Override
    public String toString() {
        return "RaftCore" + status();
    }
}
