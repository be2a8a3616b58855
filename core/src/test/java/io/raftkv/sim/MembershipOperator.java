package io.raftkv.sim;

import io.raftkv.raft.Membership;
import io.raftkv.raft.RaftCore;
import io.raftkv.raft.Role;
import io.raftkv.raft.SubmitResult;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The membership operator of a simulation: at random times drawn from the seed, under the nemesis's faults, it asks
 * the node it believes leads (the one a client would find) for a configuration change or a leadership transfer, as
 * {@code raftkvctl member add|promote|remove} and {@code move-leader} do through {@code MembershipRequests}: add a new
 * node as a learner (or, now and then, straight as a voter) and start it with an empty disk and no configuration,
 * promote a learner, remove a follower (voter or learner), remove the leader (hand leadership over to the most
 * caught-up voter, then ask the new leader to remove the old one, as {@code MembershipRequests} does when a leader
 * is asked to remove itself), transfer leadership, and ask for a change of two voters at once, which must be refused.
 * Ids are never used twice. A change the core refuses is counted, not retried.
 *
 * <p>A removed node stops as a real node does ({@link Simulation}: when its applied configuration removes it, or a
 * peer refuses it); a third of the removed nodes are instead kept running for 1-4 s, their messages delivered: a node
 * that never learnt it was removed, which must disrupt nothing and count for nothing.
 */
final class MembershipOperator {

    /** What the operator did and what came of it; the committed changes come from the {@link MembershipChecker}. */
    record Counts(long asked, long refused, long learnersAdded, long votersAdded, long learnersPromoted, long votersRemoved, long learnersRemoved,
                  long leadersRemoved, long transfersAsked, long transfersDone, long twoVoterChangesRefused, long zombies, long stoppedRemoved,
                  long stoppedBeforeRemovalCommitted, long restartsRefused, long joinerViews) {

        static final Counts NONE = new Counts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        Counts plus(Counts o) {
            return new Counts(asked + o.asked, refused + o.refused, learnersAdded + o.learnersAdded, votersAdded + o.votersAdded,
                    learnersPromoted + o.learnersPromoted, votersRemoved + o.votersRemoved, learnersRemoved + o.learnersRemoved,
                    leadersRemoved + o.leadersRemoved, transfersAsked + o.transfersAsked, transfersDone + o.transfersDone,
                    twoVoterChangesRefused + o.twoVoterChangesRefused, zombies + o.zombies, stoppedRemoved + o.stoppedRemoved,
                    stoppedBeforeRemovalCommitted + o.stoppedBeforeRemovalCommitted, restartsRefused + o.restartsRefused, joinerViews + o.joinerViews);
        }
    }

    /** How long a leader that handed over for its removal waits for the new leader's first commit: attempts, 50-150 ms apart. */
    static final int HAND_OVER_REMOVAL_ATTEMPTS_MAX = 8;
    /** A transfer counts as done when the target leads within this time. */
    static final long TRANSFER_MS_MAX = 4 * Simulation.ELECTION_TICKS * Simulation.TICK_MS;

    private final Simulation sim;
    private final SimEvents events;
    private final Random random;
    private final List<SimNode> nodes;
    /** Drawn per run: removals stop at this many voters (1 and 2 are safe, only less available). */
    private final int votersMin;

    private long asked;
    private long refused;
    private long transfersAsked;
    private long transfersDone;
    private long twoVoterChangesRefused;
    private long zombies;
    long stoppedRemoved;
    long stoppedBeforeRemovalCommitted;
    /** Restarts {@code Node.checkMembership} would refuse though the node was not removed. */
    long restartsRefused;
    /** Leaders that handed over in order to be removed: their committed removals are the leader removals. */
    private final Set<Integer> handedOverForRemoval = new HashSet<>();
    /** A leader handing over to be removed, 0 when none: the operator waits for the new leader before anything else. */
    private int handingOver;
    private int transferTarget;
    private long transferTerm;
    private long transferDeadlineMs;

    MembershipOperator(Simulation sim, SimEvents events, Random random, List<SimNode> nodes) {
        this.sim = sim;
        this.events = events;
        this.random = random;
        this.nodes = nodes;
        this.votersMin = new int[]{1, 2, 3, 3, 3, 3}[random.nextInt(6)];
    }

    int votersMin() {
        return votersMin;
    }

    Counts counts(MembershipChecker checker) {
        long leadersRemoved = handedOverForRemoval.stream().filter(id -> checker.removedAt(id) >= 0).count();
        return new Counts(asked, refused, checker.learnersAdded, checker.votersAdded, checker.learnersPromoted, checker.votersRemoved,
                checker.learnersRemoved, leadersRemoved, transfersAsked, transfersDone, twoVoterChangesRefused, zombies, stoppedRemoved,
                stoppedBeforeRemovalCommitted, restartsRefused, checker.joinerViews);
    }

    void step() {
        if (sim.clientsStopped()) return;
        SimNode leader = sim.currentLeader();
        if (leader != null && handingOver == 0) act(leader);
        events.after(200 + random.nextInt(1000), "operator", this::step);
    }

    private void act(SimNode leader) {
        Membership now = leader.core().membership();
        int dice = random.nextInt(100);
        if (dice < 22) {
            add(leader, now, Membership.Role.LEARNER);
        } else if (dice < 26) {
            add(leader, now, Membership.Role.VOTER);
        } else if (dice < 44) {
            List<Integer> learners = now.learners();
            if (!learners.isEmpty()) {
                int id = learners.get(random.nextInt(learners.size()));
                propose(leader, "promote n" + id, now.withPromoted(id));
            }
        } else if (dice < 62) {
            removeFollower(leader, now);
        } else if (dice < 74) {
            removeLeader(leader, now);
        } else if (dice < 92) {
            List<Integer> others = new ArrayList<>(now.voters());
            others.remove(Integer.valueOf(leader.id));
            if (!others.isEmpty()) transfer(leader, others.get(random.nextInt(others.size())), "transfer");
        } else {
            twoVotersAtOnce(leader, now);
        }
    }

    /**
     * Adds a node: one started before whose addition was lost (a leader change cut it away) if there is one, as an
     * operator asks again, else a new id from the pool, started with an empty disk once the leader accepts.
     */
    private void add(SimNode leader, Membership now, Membership.Role role) {
        SimNode joiner = null;
        for (SimNode n : nodes) {
            if (n.running() && !now.contains(n.id) && !now.wasRemoved(n.id)) {
                joiner = n;
                break;
            }
        }
        if (joiner == null) {
            for (SimNode n : nodes) {
                if (!n.started && !n.retired) {
                    joiner = n;
                    break;
                }
            }
        }
        if (joiner == null) return;
        String what = (role == Membership.Role.LEARNER ? "add learner n" : "add voter n") + joiner.id + (joiner.started ? " again" : "");
        long at = propose(leader, what, now.withMember(new Membership.Member(joiner.id, role, "")));
        if (at > 0 && !joiner.started) sim.join(joiner, at);
    }

    private void removeFollower(SimNode leader, Membership now) {
        List<Membership.Member> candidates = new ArrayList<>();
        for (Membership.Member m : now.members()) {
            if (m.id() == leader.id) continue;
            if (m.isVoter() && now.voters().size() - 1 < votersMin) continue;
            candidates.add(m);
        }
        if (candidates.isEmpty()) return;
        int id = candidates.get(random.nextInt(candidates.size())).id();
        if (propose(leader, "remove n" + id, now.withRemoved(id)) > 0) maybeKeepRunning(nodes.get(id - 1));
    }

    /** The leader is to be removed: it hands over first (it may not remove itself), then the new leader removes it. */
    private void removeLeader(SimNode leader, Membership now) {
        if (now.voters().size() - 1 < votersMin) return;
        int target = leader.core().mostCaughtUpVoter();
        if (target == RaftCore.NONE) {
            events.note("OPERATOR n" + leader.id + " remove the leader: no voter answered lately to take over");
            return;
        }
        if (!transfer(leader, target, "hand over to be removed")) return;
        handingOver = leader.id;
        events.after(30 + random.nextInt(200), "operator removes the former leader n" + leader.id, () -> removeFormerLeader(1));
    }

    private void removeFormerLeader(int attempt) {
        if (sim.clientsStopped()) {
            handingOver = 0;
            return;
        }
        SimNode leader = sim.currentLeader();
        int old = handingOver;
        if (leader != null && leader.id != old) {
            Membership now = leader.core().membership();
            if (!now.contains(old)) {
                handingOver = 0;
                return;
            }
            SubmitResult r = leader.core().proposeMembership(now.withRemoved(old));
            note(leader, "remove former leader n" + old + " (attempt " + attempt + ")", r);
            sim.process(leader);
            if (r.accepted()) {
                handedOverForRemoval.add(old);
                handingOver = 0;
                maybeKeepRunning(nodes.get(old - 1));
                return;
            }
            // Typically the new leader has not yet committed an entry of its term: a client asks again in a moment.
        }
        if (attempt >= HAND_OVER_REMOVAL_ATTEMPTS_MAX || (leader != null && leader.id == old && attempt > 2)) {
            events.note("OPERATOR gives up removing the former leader n" + old);
            handingOver = 0;
            return;
        }
        events.after(50 + random.nextInt(100), "operator removes the former leader n" + old, () -> removeFormerLeader(attempt + 1));
    }

    private boolean transfer(SimNode leader, int target, String what) {
        SubmitResult r = leader.core().transferLeadership(target);
        transfersAsked++;
        events.note("OPERATOR n" + leader.id + " " + what + " to n" + target + ": " + describe(r));
        sim.process(leader);
        if (!r.accepted()) return false;
        transferTarget = target;
        transferTerm = r.term();
        transferDeadlineMs = events.nowMs() + TRANSFER_MS_MAX;
        return true;
    }

    /** Two voters changed at once (two followers removed, or two unknown ids added): never a single-server change. */
    private void twoVotersAtOnce(SimNode leader, Membership now) {
        List<Integer> followers = new ArrayList<>(now.voters());
        followers.remove(Integer.valueOf(leader.id));
        Membership next;
        if (followers.size() >= 2 && random.nextBoolean()) {
            next = now.withRemoved(followers.get(0)).withRemoved(followers.get(1));
        } else {
            // Ids outside the pool: nothing runs there, so an accepted change would also stall the cluster.
            int a = 1000 + random.nextInt(1000);
            next = now.withMember(new Membership.Member(a, Membership.Role.VOTER, "")).withMember(new Membership.Member(a + 1, Membership.Role.VOTER, ""));
        }
        SubmitResult r = leader.core().proposeMembership(next);
        note(leader, "change two voters at once (" + now + " to " + next + ")", r);
        if (r.accepted()) SafetyChecker.fail("leader " + leader.id + " accepted a change of two voters at once, " + now + " to " + next + ", at " + r.index());
        if (r.status() == SubmitResult.Status.REFUSED) twoVoterChangesRefused++;
    }

    /** The index of the entry when accepted, else 0. */
    private long propose(SimNode leader, String what, Membership next) {
        SubmitResult r = leader.core().proposeMembership(next);
        note(leader, what, r);
        sim.process(leader);
        return r.accepted() ? r.index() : 0;
    }

    private void note(SimNode leader, String what, SubmitResult r) {
        asked++;
        if (!r.accepted()) refused++;
        events.note("OPERATOR n" + leader.id + " " + what + ": " + describe(r));
    }

    private static String describe(SubmitResult r) {
        return r.accepted() ? "accepted" + (r.index() > 0 ? " at " + r.index() : "") + " in term " + r.term()
                : r.status() + (r.reason() == null ? "" : " (" + r.reason() + ")");
    }

    /** A third of the removed nodes keep running for 1-4 s, as nodes that never learnt they were removed. */
    private void maybeKeepRunning(SimNode n) {
        if (!n.running() || random.nextInt(3) != 0) return;
        zombies++;
        n.zombieUntilMs = events.nowMs() + 1000 + random.nextInt(3000);
        events.note("OPERATOR keeps n" + n.id + " running until " + n.zombieUntilMs + "ms as if it never learnt it was removed");
        events.after(n.zombieUntilMs - events.nowMs(), "n" + n.id + " no longer ignores its removal", () -> sim.refuseIfRemoved(n));
    }

    /** After every event: a transfer is done once its target leads a later term. */
    void afterEvent() {
        if (transferTarget == 0) return;
        SimNode t = nodes.get(transferTarget - 1);
        if (t.up && t.core().role() == Role.LEADER && t.core().term() > transferTerm) {
            transfersDone++;
            transferTarget = 0;
        } else if (events.nowMs() > transferDeadlineMs) {
            transferTarget = 0;
        }
    }
}
