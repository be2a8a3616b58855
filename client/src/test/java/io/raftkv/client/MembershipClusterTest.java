package io.raftkv.client;

import io.raftkv.protocol.MemberInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Membership changes with real node processes on loopback (docs/membership.md): growing 3 to 5 with learners that
 * join by snapshot, replacing a member whose disk is gone, moving and removing the leader, and the refusals.
 */
class MembershipClusterTest {

    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stopCluster() throws Exception {
        if (cluster != null) cluster.close();
    }

    /** Small snapshot thresholds, so that a node that joins after a few hundred writes catches up by snapshot. */
    private LocalCluster start(int size, int spares) throws IOException {
        LocalCluster c = new LocalCluster(dir, size, spares);
        c.jvmOptions.addAll(List.of("-Draftkv.snapshotEntries=100", "-Draftkv.snapshotCatchUpEntries=20", "-Draftkv.snapshotLogPercentMin=0"));
        return c.startAll();
    }

    private static void putMany(RaftKvClient client, int from, int to) {
        for (int i = from; i < to; i++) client.put("k" + (i % 50), "v" + i);
    }

    /** Adds {@code id} as a learner, starts it with --join, waits until it serves the last write, then promotes it. */
    private void addAndPromote(RaftKvClient client, int id, int lastWrite) throws IOException {
        MemberList added = client.addMember(id, cluster.hostPort(id), true);
        assertTrue(added.member(id).learner(), added.toString());
        cluster.join(id, cluster.members.stream().mapToInt(Integer::intValue).toArray()); // any live member answers
        cluster.members.add(id);
        cluster.awaitLocalValue(id, "k" + (lastWrite % 50), "v" + lastWrite, DEADLINE);
        MemberList promoted = LocalCluster.await(DEADLINE, "node " + id + " promoted", () -> {
            try {
                return client.promoteMember(id);
            } catch (RaftKvException e) {
                if (e.kind() != RaftKvException.Kind.REJECTED) throw e;
                return null; // still catching up
            }
        });
        assertFalse(promoted.member(id).learner(), promoted.toString());
    }

    @Test
    @DisplayName("3 to 5: learners join by snapshot and are promoted; 5 voters survive two down; a removed member stops")
    void growFromThreeToFiveAndBack() throws Exception {
        cluster = start(3, 2);
        try (RaftKvClient client = cluster.client()) {
            cluster.awaitLeader(client, DEADLINE);
            putMany(client, 0, 300);
            addAndPromote(client, 4, 299);
            assertTrue(cluster.log(4).contains("installed snapshot"), "node 4 caught up by snapshot:\n" + cluster.log(4));
            putMany(client, 300, 320);
            addAndPromote(client, 5, 319);
            MemberList five = client.members();
            assertEquals(List.of(1, 2, 3, 4, 5), five.members().stream().map(MemberInfo::id).toList());
            assertTrue(five.members().stream().noneMatch(MemberInfo::learner));
            assertEquals(5, client.endpoints().size(), "the client follows the members: " + client.endpoints());

            // Five voters: any two may be down.
            int leader = cluster.awaitLeader(client, DEADLINE);
            List<Integer> down = Stream.of(1, 2, 3, 4, 5).filter(id -> id != leader).limit(2).toList();
            for (int id : down) cluster.kill(id);
            putMany(client, 320, 330);
            for (int id : down) cluster.start(id);
            // Back in the quorum before the next change: it needs 3 of the 4 voters left, and the restarted JVMs are slow.
            for (int id : down) cluster.awaitLocalValue(id, "k" + (329 % 50), "v329", DEADLINE);

            // And back: a removed member is told so by its peers and stops.
            int removed = Stream.of(4, 5).filter(id -> id != cluster.awaitLeader(client, DEADLINE)).findFirst().orElseThrow();
            MemberList after = client.removeMember(removed);
            assertEquals(null, after.member(removed));
            cluster.members.remove(Integer.valueOf(removed));
            cluster.awaitExit(removed, DEADLINE);
            assertTrue(cluster.log(removed).contains("was removed from the cluster"), cluster.log(removed));
            putMany(client, 330, 340);
            for (int id : cluster.members) cluster.awaitLocalValue(id, "k" + (339 % 50), "v339", DEADLINE);
        }
    }

    @Test
    @DisplayName("a node that joins replays older configurations from the log (no snapshot) without losing its leader")
    void joinerReplaysOlderConfigurations() throws Exception {
        cluster = new LocalCluster(dir, 3, 2);
        cluster.jvmOptions.add("-Draftkv.snapshotEntries=1000000000");
        cluster.startAll();
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, DEADLINE);
            int gone = leader % 3 + 1;
            putMany(client, 0, 20);
            client.removeMember(gone); // a configuration without node 4 or 5, early in the log
            cluster.members.remove(Integer.valueOf(gone));
            cluster.kill(gone);
            putMany(client, 20, 40);
            addAndPromote(client, 4, 39);
            assertEquals(4, client.moveLeader(4).leaderId());
            putMany(client, 40, 60);
            // Node 5 replays the log from its start: the configuration without node 4, its leader, comes first.
            addAndPromote(client, 5, 59);
            assertFalse(cluster.log(5).contains("installed snapshot"), "caught up from the log alone");
            putMany(client, 60, 70);
            for (int id : cluster.members) cluster.awaitLocalValue(id, "k" + (69 % 50), "v69", DEADLINE);
        }
    }

    @Test
    @DisplayName("runbook: a member whose disk is gone is removed and replaced by a new one; its old id is never taken again")
    void replaceADeadMember() throws Exception {
        cluster = start(3, 1);
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, DEADLINE);
            int dead = leader % 3 + 1;
            putMany(client, 0, 200);
            cluster.kill(dead);
            deleteTree(cluster.dataDir(dead));

            client.removeMember(dead);
            cluster.members.remove(Integer.valueOf(dead));
            RaftKvException reused = assertThrows(RaftKvException.class, () -> client.addMember(dead, cluster.hostPort(4), true));
            assertTrue(reused.getMessage().contains("never used twice"), reused.getMessage());
            putMany(client, 200, 250);
            addAndPromote(client, 4, 249);
            putMany(client, 250, 260);
            for (int id : cluster.members) cluster.awaitLocalValue(id, "k" + (259 % 50), "v259", DEADLINE);

            // The dead machine comes back with an empty disk under its old id: the cluster refuses it, and it stops.
            cluster.start(dead);
            cluster.awaitExit(dead, DEADLINE);
            assertTrue(cluster.log(dead).contains("was removed from the cluster"), cluster.log(dead));
            assertEquals(List.of(1, 2, 3, 4).stream().filter(id -> id != dead).toList(),
                    client.members().members().stream().map(MemberInfo::id).toList());
        }
    }

    @Test
    @DisplayName("move-leader, a leader that stops hands over first, removing the leader, and every refusal changes nothing")
    void transfersAndRefusals() throws Exception {
        cluster = start(3, 1);
        try (RaftKvClient client = cluster.client()) {
            int leader = cluster.awaitLeader(client, DEADLINE);
            int target = leader % 3 + 1;
            assertEquals(target, client.moveLeader(target).leaderId());
            assertEquals(target, cluster.awaitLeader(client, DEADLINE));
            putMany(client, 0, 10);

            // Refusals.
            MemberList before = client.members();
            assertRefused(() -> client.addMember(1, cluster.hostPort(4), false), "already a member");
            assertRefused(() -> client.addMember(4, cluster.hostPort(1), false), "is node 1's");
            assertRefused(() -> client.removeMember(9), "not a member");
            assertRefused(() -> client.promoteMember(2), "not a learner");
            assertRefused(() -> client.moveLeader(9), "not a voter");
            client.addMember(4, cluster.hostPort(4), true); // never started: it cannot catch up
            assertRefused(() -> client.promoteMember(4), "behind the commit index");
            client.removeMember(4);
            assertEquals(before.members(), client.members().members());

            // SIGTERM on the leader: it hands over before it stops.
            leader = cluster.awaitLeader(client, DEADLINE);
            cluster.stop(leader);
            assertTrue(cluster.log(leader).contains("handing leadership to node"), cluster.log(leader));
            int next = cluster.awaitLeader(client, DEADLINE);
            assertNotEquals(leader, next);
            putMany(client, 10, 20);
            cluster.start(leader);
            cluster.awaitLocalValue(leader, "k19", "v19", DEADLINE);

            // Removing the leader: it hands over, the new leader removes it, and it stops.
            leader = cluster.awaitLeader(client, DEADLINE);
            MemberList after = client.removeMember(leader);
            assertEquals(null, after.member(leader));
            assertNotEquals(leader, after.leaderId());
            cluster.awaitExit(leader, DEADLINE);
            cluster.members.remove(Integer.valueOf(leader));
            putMany(client, 20, 30);
        }
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable call, String reason) {
        RaftKvException e = assertThrows(RaftKvException.class, call);
        assertEquals(RaftKvException.Kind.REJECTED, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(reason), "expected '" + reason + "' in: " + e.getMessage());
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
