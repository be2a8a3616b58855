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

    private static final byte VOTE_UNKNOWN = 0;
    private static final byte VOTE_GRANTED = 1;
    private static final byte VOTE_REJECTED = 2;

    private final RaftConfig config;
    private final int id;
    private final int[] voters;
    private final int majority;
    private final Progress[] progress;
    private final Progress self;
    private final byte[] votes;
    private final RaftLog log;
    private final Random random;

    private Role role;
    private long term;
    private int vote;
    private int leader;
    private int electionElapsed;
    private int heartbeatElapsed;
    private int randomizedElectionTimeout;
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
    private boolean readRoundWanted;

    private ArrayList<Message> messages = new ArrayList<>();
    private ArrayList<Message> messagesAfterPersist = new ArrayList<>();
    private ArrayList<ReadState> readStates = new ArrayList<>();
    private HardState lastHardState;
    private boolean readyOutstanding;

    public RaftCore(RaftConfig config, Storage storage) {
        config.validate();
        this.config = config;
        this.id = config.id;
        this.voters = config.voters;
        this.majority = voters.length / 2 + 1;
        this.progress = new Progress[voters.length];
        for (int i = 0; i < voters.length; i++) progress[i] = new Progress(voters[i], config.inflightMessagesMax, config.inflightBytesMax,
                config.snapshotInstallHeartbeatsMax);
        this.self = progress[indexOf(id)];
        this.votes = new byte[voters.length];
        this.log = new RaftLog(storage, config.appliedIndex);
        this.random = new Random(config.randomSeed * 1_000_003L + id);
        HardState hs = storage.hardState();
        if (hs.vote() != NONE && indexOf(hs.vote()) < 0) throw new IllegalStateException("persisted vote for unknown node " + hs.vote());
        this.term = hs.term();
        this.vote = hs.vote();
        this.lastHardState = hs;
        becomeFollower(term, NONE);
    }

    // ---------------------------------------------------------------- inputs

    /** One unit of logical time. Election and heartbeat timeouts are counted in ticks. */
    public void tick() {
        checkNoReadyOutstanding();
        tickFn.run();
        checkInvariants();
    }

    /** Feeds a message received from a peer. Messages from unknown nodes, or not addressed to us, are ignored. */
    public void step(Message m) {
        checkNoReadyOutstanding();
        if (m.to() != id || m.from() == id || indexOf(m.from()) < 0 || !wellFormed(m)) return;
        if (m.term() > term) {
            if (m.type() == MessageType.VOTE || m.type() == MessageType.PRE_VOTE) {
                // §4.2.3 (thesis): while we hear from a live leader, ignore candidates that would depose it.
                boolean inLease = config.checkQuorum && leader != NONE && electionElapsed < config.electionTicks;
                if (inLease) return;
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
        if (role != Role.LEADER) return SubmitResult.notLeader(leader);
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
        boolean announced = hasReady();
        flushSends();
        HardState hs = hardState();
        boolean changed = !hs.equals(lastHardState);
        boolean mustSync = hs.term() != lastHardState.term() || hs.vote() != lastHardState.vote() || log.hasUnstable();
        Ready rd = new Ready(changed ? hs : null, mustSync, log.unstableSnapshot(), log.unstableEntries(), messages, messagesAfterPersist,
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

    /** The driver has persisted, sent and applied what {@code rd} asked for. */
    public void advance(Ready rd) {
        if (!readyOutstanding) throw new IllegalStateException("advance without a ready");
        readyOutstanding = false;
        if (rd.snapshot() != null) log.snapshotInstalled(rd.snapshot());
        if (!rd.entries().isEmpty()) {
            Entry last = rd.entries().get(rd.entries().size() - 1);
            log.stableTo(last.index(), last.term());
            // The leader counts its own copy only once it is durable, like any follower's.
            if (role == Role.LEADER && self.maybeUpdate(log.stableLastIndex()) && maybeCommit()) markAllPending();
        }
        if (!rd.committedEntries().isEmpty()) {
            log.appliedTo(rd.committedEntries().get(rd.committedEntries().size() - 1).index());
        }
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
        }
        leader = NONE;
        electionElapsed = 0;
        heartbeatElapsed = 0;
        randomizedElectionTimeout = config.electionTicks + random.nextInt(config.electionTicks);
        Arrays.fill(votes, VOTE_UNKNOWN);
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
        requestVotes(MessageType.PRE_VOTE, term + 1);
    }

    private void becomeCandidate() {
        reset(term + 1);
        vote = id;
        role = Role.CANDIDATE;
        tickFn = this::tickElection;
        stepFn = this::stepCandidate;
        requestVotes(MessageType.VOTE, term);
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

    private void requestVotes(MessageType type, long voteTerm) {
        votes[indexOf(id)] = VOTE_GRANTED;
        if (tally(VOTE_GRANTED) >= majority) {
            if (type == MessageType.PRE_VOTE) becomeCandidate(); else becomeLeader();
            return;
        }
        for (int peer : voters) {
            if (peer == id) continue;
            send(message(type, peer).term(voteTerm).logTerm(log.lastTerm()).index(log.lastIndex()).build());
        }
    }

    private int tally(byte outcome) {
        int n = 0;
        for (byte v : votes) if (v == outcome) n++;
        return n;
    }

    // ---------------------------------------------------------------- ticks

    private void tickElection() {
        electionElapsed++;
        if (electionElapsed >= randomizedElectionTimeout) {
            electionElapsed = 0;
            if (config.preVote) becomePreCandidate(); else becomeCandidate();
        }
    }

    private void tickHeartbeat() {
        heartbeatElapsed++;
        electionElapsed++;
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
        for (Progress pr : progress) {
            if (pr == self || pr.recentActive()) active++;
            pr.clearRecentActive();
        }
        return active >= majority;
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
        if (votes[i] == VOTE_UNKNOWN) votes[i] = m.reject() ? VOTE_REJECTED : VOTE_GRANTED;
        if (tally(VOTE_GRANTED) >= majority) {
            if (preVote) becomeCandidate(); else becomeLeader();
        } else if (tally(VOTE_REJECTED) >= majority) {
            becomeFollower(term, NONE);
        }
    }

    private void stepLeader(Message m) {
        Progress pr = progress[indexOf(m.from())];
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
        log.restore(id);
        send(message(MessageType.APPEND_RESP, m.from()).index(log.lastIndex()).build());
    }

    // ---------------------------------------------------------------- replication, leader side

    private long appendEntry(byte[] data) {
        long index = log.lastIndex() + 1;
        Entry e = new Entry(term, index, data);
        log.append(List.of(e));
        uncommittedBytes += e.sizeBytes();
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
        long[] matches = new long[progress.length];
        for (int i = 0; i < progress.length; i++) matches[i] = progress[i].match();
        Arrays.sort(matches);
        long quorumIndex = matches[matches.length - majority];
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
                send(message(MessageType.SNAPSHOT, pr.peerId()).index(snapshot.index()).logTerm(snapshot.term()).build());
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
        long[] rounds = new long[progress.length];
        for (int i = 0; i < progress.length; i++) rounds[i] = progress[i] == self ? readRound : progress[i].ackedReadRound();
        Arrays.sort(rounds);
        long confirmed = rounds[rounds.length - majority];
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
        // and heartbeats (its term is durable since it campaigned) and read-index traffic. Votes and
        // acknowledgements promise what is being persisted, so they wait for it.
        boolean immediate = switch (m.type()) {
            case APPEND, HEARTBEAT, SNAPSHOT, READ_INDEX, READ_INDEX_RESP, PRE_VOTE -> true;
            default -> false;
        };
        (immediate ? messages : messagesAfterPersist).add(m);
    }

    private MessageBuilder message(MessageType type, int to) {
        return new MessageBuilder(type, id, to, term);
    }

    private static boolean isFromLeader(MessageType type) {
        return type == MessageType.APPEND || type == MessageType.HEARTBEAT || type == MessageType.SNAPSHOT;
    }

    private int indexOf(int nodeId) {
        for (int i = 0; i < voters.length; i++) if (voters[i] == nodeId) return i;
        return -1;
    }

    /**
     * A message no correct peer sends (entries not following their preceding index, terms out of order) is
     * dropped: the log must never see it, and the node must not die of it.
     */
    private static boolean wellFormed(Message m) {
        if (m.term() < 0 || m.index() < 0 || m.logTerm() < 0 || m.commit() < 0) return false;
        if (m.type() == MessageType.SNAPSHOT && (m.index() < 1 || m.logTerm() < 1 || m.logTerm() > m.term())) return false;
        long term = m.logTerm();
        for (int i = 0; i < m.entries().size(); i++) {
            Entry e = m.entries().get(i);
            if (e.index() != m.index() + 1 + i || e.term() < term || e.term() > m.term()) return false;
            term = e.term();
        }
        return true;
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
