package io.raftkv.client;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.MemberInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * raftkvctl's member commands (member list, add, remove, promote; move-leader) against fake nodes that answer as a
 * cluster would: the output etcdctl users know, the arguments checked before anything is sent, the node's refusals.
 */
class RaftKvCtlMemberTest {

    private static final long CLUSTER_ID = 0x1a2b3c4dL;

    /** node1 leads; node2 follows; node3 is a learner. Each answers what the test gives it. */
    private FakeNode node1;
    private FakeNode node2;
    private FakeNode node3;

    private record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.isEmpty() ? List.of() : List.of(out.split("\n"));
        }

        List<String> errLines() {
            return err.isEmpty() ? List.of() : List.of(err.split("\n"));
        }
    }

    @BeforeEach
    void startNodes() throws IOException {
        node1 = new FakeNode();
        node2 = new FakeNode();
        node3 = new FakeNode();
    }

    @AfterEach
    void stopNodes() throws IOException {
        for (FakeNode n : List.of(node1, node2, node3)) n.close();
    }

    private List<MemberInfo> threeMembers() {
        return List.of(new MemberInfo(1, node1.hostPort(), false), new MemberInfo(2, node2.hostPort(), false), new MemberInfo(3, node3.hostPort(), true));
    }

    private static ClientResponse.Members members(ClientRequest r, int answering, int leader, List<MemberInfo> members) {
        return new ClientResponse.Members(r.requestId(), CLUSTER_ID, answering, leader, 5, members);
    }

    private static List<MemberInfo> with(List<MemberInfo> members, MemberInfo more) {
        List<MemberInfo> all = new ArrayList<>(members);
        all.add(more);
        return all;
    }

    // ------------------------------------------------------------------ member list

    @Test
    void memberListPrintsALinePerMemberAsEtcdctl() {
        node2.answer(r -> members(r, 2, 1, threeMembers()));
        Result r = ctl(node2, "member", "list");
        assertEquals(new Result(0, "1, started, node1, " + node1.hostPort() + ", " + node1.hostPort() + ", false\n"
                + "2, started, node2, " + node2.hostPort() + ", " + node2.hostPort() + ", false\n"
                + "3, started, node3, " + node3.hostPort() + ", " + node3.hostPort() + ", true\n", ""), r);
        assertEquals(1, node2.received(ClientRequest.MemberList.class).size(), "answered by the node asked, a follower");
        assertEquals(List.of(), node1.received);
    }

    @Test
    void memberListAsATableMarksTheLeader() {
        node2.answer(r -> members(r, 2, 1, threeMembers()));
        Result r = ctl(node2, "member", "list", "-w", "table");
        assertEquals(0, r.code(), r.err());
        String a = node1.hostPort();
        int w = a.length();
        List<String> lines = r.outLines();
        String rule = "+----+---------+-------+-" + "-".repeat(w) + "-+-" + "-".repeat(w) + "-+------------+-----------+";
        assertEquals(rule, lines.get(0));
        assertEquals("| ID | STATUS  | NAME  | " + center("PEER ADDRS", w) + " | " + center("CLIENT ADDRS", w) + " | IS LEARNER | IS LEADER |", lines.get(1));
        assertEquals(rule, lines.get(2));
        assertEquals("|  1 | started | node1 | " + a + " | " + a + " |      false |      true |", lines.get(3));
        assertEquals("|  3 | started | node3 | " + node3.hostPort() + " | " + node3.hostPort() + " |       true |     false |", lines.get(5));
        assertEquals(rule, lines.get(6));
        assertEquals(7, lines.size());
    }

    @Test
    void memberListAsJsonIsEtcdsMemberListResponse() {
        node2.answer(r -> members(r, 2, 1, threeMembers()));
        Map<?, ?> json = json(ctl(node2, "member", "list", "-w", "json"));
        assertEquals(Map.of("cluster_id", CLUSTER_ID, "member_id", 2L), json.get("header"));
        List<?> members = (List<?>) json.get("members");
        assertEquals(3, members.size());
        assertEquals(Map.of("ID", 1L, "name", "node1", "peerURLs", List.of(node1.hostPort()), "clientURLs", List.of(node1.hostPort())), members.get(0));
        assertEquals(Map.of("ID", 3L, "name", "node3", "peerURLs", List.of(node3.hostPort()), "clientURLs", List.of(node3.hostPort()),
                "isLearner", true), members.get(2), "isLearner only when true, as Go's omitempty");
    }

    // ------------------------------------------------------------------ changes

    @Test
    void memberAddPrintsTheClusterAndTheMembersAsEtcdctl() throws IOException {
        try (FakeNode joining = new FakeNode()) {
            MemberInfo added = new MemberInfo(4, joining.hostPort(), true);
            node1.answer(r -> members(r, 1, 1, with(threeMembers(), added)));
            Result r = ctl(node1, "member", "add", "4", joining.hostPort(), "--learner");
            assertEquals(0, r.code(), r.err());
            assertEquals("Member 4 added to cluster 1a2b3c4d", r.outLines().get(0));
            assertEquals("4, started, node4, " + joining.hostPort() + ", " + joining.hostPort() + ", true", r.outLines().get(4));
            assertEquals(5, r.outLines().size());
            assertEquals(List.of(new ClientRequest.MemberAdd(node1.received.get(0).requestId(), 4, joining.hostPort(), true)), node1.received);

            Map<?, ?> json = json(ctl(node1, "member", "add", "--learner", "4", joining.hostPort(), "-w", "json"));
            assertEquals(Map.of("ID", 4L, "name", "node4", "peerURLs", List.of(joining.hostPort()), "clientURLs", List.of(joining.hostPort()),
                    "isLearner", true), json.get("member"), "etcd's MemberAddResponse names the new member");
            assertEquals(4, ((List<?>) json.get("members")).size());
            assertTrue(node1.received(ClientRequest.MemberAdd.class).get(1).learner(), "--learner before the arguments too");

            // etcdctl's form: a name (node4, raftkv's name for member 4) and --peer-urls.
            assertEquals(0, ctl(node1, "member", "add", "node4", "--peer-urls=http://" + joining.hostPort(), "--learner").code());
            assertEquals(new ClientRequest.MemberAdd(node1.received.get(2).requestId(), 4, joining.hostPort(), true), node1.received.get(2));
        }
    }

    @Test
    void aChangeSentToAFollowerIsMadeAtTheLeader() {
        node2.answer(r -> new ClientResponse.NotLeader(r.requestId(), 1, node1.host(), node1.port()));
        node1.answer(r -> members(r, 1, 1, threeMembers().subList(0, 2)));
        assertEquals(new Result(0, "Member 3 removed from cluster 1a2b3c4d\n", ""), ctl(node2, "member", "remove", "3"));
        assertEquals(1, node2.received(ClientRequest.MemberRemove.class).size());
        assertEquals(1, node1.received(ClientRequest.MemberRemove.class).size(), "asked again at the leader the follower named");
    }

    @Test
    void memberPromotePrintsAsEtcdctl() {
        node1.answer(r -> members(r, 1, 1, List.of(new MemberInfo(1, node1.hostPort(), false), new MemberInfo(3, node3.hostPort(), false))));
        assertEquals(new Result(0, "Member 3 promoted in cluster 1a2b3c4d\n", ""), ctl(node1, "member", "promote", "3"));
        assertEquals(List.of(new ClientRequest.MemberPromote(node1.received.get(0).requestId(), 3)), node1.received);
    }

    @Test
    void moveLeaderSaysWhoHandedOverToWhom() {
        node1.answer(r -> members(r, 1, 2, threeMembers()));
        assertEquals(new Result(0, "Leadership transferred from node 1 to node 2\n", ""), ctl(node1, "move-leader", "2"));
        assertEquals(List.of(new ClientRequest.MoveLeader(node1.received.get(0).requestId(), 2)), node1.received);
        node1.answer(r -> members(r, 1, 1, threeMembers()));
        assertEquals(new Result(0, "Node 1 is the leader already\n", ""), ctl(node1, "move-leader", "1"));
        assertEquals(Map.of("header", Map.of("cluster_id", CLUSTER_ID, "member_id", 1L)), json(ctl(node1, "move-leader", "1", "-w", "json")));
    }

    @Test
    void aRefusedChangePrintsTheNodesReasonAndExitsOne() {
        node1.answer(r -> new ClientResponse.Error(r.requestId(), ErrorCode.REFUSED, "node 3 has not caught up with the leader"));
        assertEquals(new Result(1, "", "error: REFUSED: node 3 has not caught up with the leader\n"), ctl(node1, "member", "promote", "3"));
        node1.answer(r -> new ClientResponse.Error(r.requestId(), ErrorCode.TIMEOUT, "node 2 did not take over in time"));
        Result timeout = ctl(node1, "move-leader", "2");
        assertEquals(1, timeout.code());
        assertTrue(timeout.err().startsWith("error: outcome unknown, the write may or may not have been applied: "), timeout.err());
    }

    @Test
    void badArgumentsAreUsageErrorsAndNothingIsSent() {
        for (String[] args : List.of(
                new String[] {"member"},
                new String[] {"member", "join", "4"},
                new String[] {"member", "list", "extra"},
                new String[] {"member", "add", "4"},
                new String[] {"member", "add", "four", "127.0.0.1:7004"},
                new String[] {"member", "add", "4", "127.0.0.1"},
                new String[] {"member", "add", "4", "127.0.0.1:0"},
                new String[] {"member", "add", "4", "127.0.0.1:7004", "extra"},
                new String[] {"member", "add", "node4", "--peer-urls=http://127.0.0.1:7004,http://127.0.0.1:7005"},
                new String[] {"member", "add", "node4", "127.0.0.1:7004", "--peer-urls=http://127.0.0.1:7004"},
                new String[] {"member", "add", "host4", "--peer-urls=http://127.0.0.1:7004"},
                new String[] {"member", "remove", "3", "--peer-urls=http://127.0.0.1:7004"},
                new String[] {"member", "remove"},
                new String[] {"member", "remove", "0"},
                new String[] {"member", "remove", "-1"},
                new String[] {"member", "remove", "3", "--learner"},
                new String[] {"member", "promote", "x"},
                new String[] {"member", "promote", "99999999999"},
                new String[] {"move-leader"},
                new String[] {"move-leader", "abc"},
                new String[] {"move-leader", "2", "-w", "table"},
                new String[] {"put", "k", "v", "--learner"})) {
            Result r = ctl(node1, args);
            assertEquals(2, r.code(), Arrays.toString(args) + ": " + r);
            assertEquals(1, r.errLines().size(), r.err());
            assertTrue(r.err().startsWith("error: "), r.err());
            assertEquals("", r.out());
        }
        assertEquals(List.of(), node1.received);
        assertEquals(List.of("error: a member ID is a number from 1 to 2147483647, not 'four'"), ctl(node1, "member", "add", "four", "h:1").errLines());
        assertEquals(List.of("error: member add: address \"127.0.0.1\" is not host:port"), ctl(node1, "member", "add", "4", "127.0.0.1").errLines());
        assertEquals(List.of("error: member add needs an ID and a HOST:PORT (member add ID HOST:PORT [--learner])"),
                ctl(node1, "member", "add", "4").errLines());
    }

    @Test
    void inTheShellTheMembersListedAreTheNodesStatusAsks() {
        node1.answer(r -> r instanceof ClientRequest.Status
                ? new ClientResponse.StatusResult(r.requestId(), 1, "LEADER", 2, 1, 10, 10, 0, 0)
                : members(r, 1, 1, threeMembers().subList(0, 2)));
        node2.answer(r -> new ClientResponse.StatusResult(r.requestId(), 2, "FOLLOWER", 2, 1, 10, 10, 0, 0));
        Result r = run(new String[] {"--endpoints", node1.hostPort(), "--timeout", "5"}, "status\nmember list\nstatus\n");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.outLines();
        assertEquals(2 + 2 + 3, lines.size(), r.out());
        assertTrue(lines.get(1).startsWith("1 "), lines.get(1));
        assertTrue(lines.get(5).startsWith("1 ") && lines.get(6).startsWith("2 "), "node 2 joined the rows: " + r.out());
    }

    @Test
    void helpListsTheMemberCommands() {
        Result r = run(new String[] {"help"}, "");
        assertEquals(0, r.code());
        for (String command : List.of("member list", "member add ID [HOST:PORT]", "member remove ID", "member promote ID", "move-leader ID")) {
            assertTrue(r.out().contains(command), command);
        }
    }

    // ------------------------------------------------------------------ helpers

    private static String center(String s, int width) {
        int gap = width - s.length();
        return " ".repeat(gap / 2) + s + " ".repeat(gap - gap / 2);
    }

    private static Map<?, ?> json(Result r) {
        assertEquals(0, r.code(), r.err());
        assertEquals(1, r.outLines().size(), "json is one line: " + r.out());
        return (Map<?, ?>) new RaftKvCtlTest.Json(r.out().strip()).value();
    }

    private static Result ctl(FakeNode node, String... command) {
        String[] args = new String[command.length + 4];
        args[0] = "--endpoints";
        args[1] = node.hostPort();
        args[2] = "--timeout";
        args[3] = "5";
        System.arraycopy(command, 0, args, 4, command.length);
        return run(args, "");
    }

    private static Result run(String[] args, String stdin) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e, false);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
