package io.raftkv.client;

import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.CtlSession.Endpoint;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.MemberInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** The cluster's nodes: status and leader (each node asked directly), and etcdctl's member commands and move-leader. */
final class CtlClusterCommands {

    private CtlClusterCommands() {
    }

    @Command(name = "status", abbreviateSynopsis = true, description = {"a row per node: id, address, role, term, leader, commit, applied, keys"})
    static final class Status extends CtlCommand {
        @Override
        int run() throws UsageException {
            CtlSession s = session();
            List<String> header = List.of("ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "KEYS");
            List<List<String>> rows = new ArrayList<>();
            StringBuilder json = new StringBuilder("[");
            int answered = 0;
            List<Endpoint> all = s.endpoints();
            List<ClientResponse.StatusResult> results = s.statuses(all);
            for (int i = 0; i < all.size(); i++) {
                Endpoint e = all.get(i);
                ClientResponse.StatusResult r = results.get(i);
                String address = RaftKvCtl.hostPort(e.address());
                if (i > 0) json.append(',');
                json.append("{\"Endpoint\":").append(CtlPrinter.Json.string(address));
                if (r == null) {
                    rows.add(List.of(e.id() == null ? "-" : e.id().toString(), address, "unreachable", "-", "-", "-", "-", "-"));
                    json.append(",\"Error\":\"unreachable\"}");
                } else {
                    answered++;
                    rows.add(List.of(Integer.toString(r.nodeId()), address, r.role(), Long.toString(r.term()),
                            r.leaderId() == 0 ? "-" : Integer.toString(r.leaderId()), Long.toString(r.commit()),
                            Long.toString(r.applied()), Long.toString(r.keys())));
                    // etcd's epStatus shape, with raftkv's fields.
                    json.append(",\"Status\":{\"header\":{\"cluster_id\":0,\"member_id\":").append(r.nodeId())
                            .append(",\"raft_term\":").append(r.term()).append("},\"leader\":").append(r.leaderId())
                            .append(",\"raftIndex\":").append(r.commit()).append(",\"raftTerm\":").append(r.term())
                            .append(",\"raftAppliedIndex\":").append(r.applied()).append(",\"role\":").append(CtlPrinter.Json.string(r.role()))
                            .append(",\"keys\":").append(r.keys()).append("}}");
                }
            }
            switch (format()) {
                case SIMPLE -> printColumns(s.out, header, rows);
                case TABLE -> CtlPrinter.Table.render(s.out, header, rows);
                case JSON -> s.out.println(json.append(']'));
            }
            if (answered == 0) return s.fail(RaftKvCtl.EXIT_FAILED, "no node answered");
            return RaftKvCtl.EXIT_OK;
        }

        private static void printColumns(PrintStream out, List<String> header, List<List<String>> rows) {
            List<List<String>> all = new ArrayList<>();
            all.add(header);
            all.addAll(rows);
            int[] widths = new int[header.size()];
            for (List<String> row : all) for (int i = 0; i < row.size(); i++) widths[i] = Math.max(widths[i], row.get(i).length());
            for (List<String> row : all) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < row.size(); i++) {
                    if (i > 0) line.append("  ");
                    line.append(row.get(i));
                    if (i < row.size() - 1) line.append(" ".repeat(widths[i] - row.get(i).length()));
                }
                out.println(line);
            }
        }
    }

    /** The node that says it is LEADER in the highest term: a deposed leader may not know yet. */
    @Command(name = "leader", abbreviateSynopsis = true, description = {"the leader's id and address"})
    static final class Leader extends CtlCommand {
        @Override
        Set<Format> formats() {
            return Set.of(Format.SIMPLE);
        }

        @Override
        int run() throws UsageException {
            CtlSession s = session();
            List<Endpoint> all = s.endpoints();
            List<ClientResponse.StatusResult> results = s.statuses(all);
            int best = -1;
            int answered = 0;
            for (int i = 0; i < all.size(); i++) {
                ClientResponse.StatusResult r = results.get(i);
                if (r == null) continue;
                answered++;
                if (r.role().equals("LEADER") && (best < 0 || r.term() > results.get(best).term())) best = i;
            }
            if (best < 0) return s.fail(RaftKvCtl.EXIT_FAILED, "no leader (" + answered + " of " + all.size() + " nodes answered)");
            s.out.println(results.get(best).nodeId() + " " + RaftKvCtl.hostPort(all.get(best).address()));
            return RaftKvCtl.EXIT_OK;
        }
    }

    /**
     * etcdctl's member list, add, remove and promote. The client follows NOT_LEADER to the leader for the changes;
     * the list comes from the node asked. The members answered become the nodes status, leader and snapshot ask.
     */
    @Command(name = "member", description = {"member list, add, remove, promote"},
            subcommands = {MemberListCommand.class, MemberAdd.class, MemberRemove.class, MemberPromote.class})
    static final class Member extends CtlCommand.Group {
    }

    @Command(name = "list", abbreviateSynopsis = true,
            description = {"the members, a line each as etcdctl's: ID, started, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER; -w table adds IS LEADER"})
    static final class MemberListCommand extends CtlCommand {
        @Override
        int run() throws UsageException {
            MemberList list = session().client().members();
            session().followMembers(list);
            printer().memberList(list);
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** etcdctl names a member and gives --peer-urls; raftkv's member names are node&lt;ID&gt;, so that name is taken for the id. */
    @Command(name = "add", abbreviateSynopsis = true,
            description = {"adds node ID, serving at HOST:PORT, as a voter or a learner; etcdctl's form works too: member add node4 --peer-urls=http://HOST:PORT"})
    static final class MemberAdd extends CtlCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Parameters(index = "1", arity = "0..1", paramLabel = "HOST:PORT")
        String address;

        @Option(names = "--learner", description = "as a learner, to be promoted once it has caught up")
        boolean learner;

        @Option(names = "--peer-urls", paramLabel = "URL", description = "etcdctl's form of the address: http://HOST:PORT")
        String peerUrls;

        @Override
        int run() throws UsageException {
            if (peerUrls != null && address != null) throw new UsageException("member add with --peer-urls needs one ID (node4 or 4)");
            if (peerUrls == null && address == null) {
                throw new UsageException("member add needs an ID and a HOST:PORT (member add ID HOST:PORT [--learner])");
            }
            int member = memberId(peerUrls != null && id.startsWith("node") ? id.substring(4) : id);
            String at = peerUrls != null ? peerAddress(peerUrls) : address;
            String problem = MemberInfo.addressProblem(at);
            if (problem != null) throw new UsageException("member add: " + problem);
            MemberList list = session().client().addMember(member, at, learner);
            session().followMembers(list);
            printer().memberChange(CtlPrinter.MemberChange.ADDED, member, list);
            return RaftKvCtl.EXIT_OK;
        }

        /** The one address of etcdctl's --peer-urls: http://HOST:PORT (a node serves peers and clients on one port). */
        private static String peerAddress(String urls) throws UsageException {
            String[] all = urls.split(",");
            if (all.length != 1) throw new UsageException("--peer-urls: a raftkv node has one address, not " + all.length);
            String url = all[0].strip();
            for (String scheme : List.of("http://", "https://")) if (url.startsWith(scheme)) url = url.substring(scheme.length());
            if (url.endsWith("/")) url = url.substring(0, url.length() - 1);
            return url;
        }
    }

    @Command(name = "remove", abbreviateSynopsis = true, description = {"removes node ID (the leader too: it hands the leadership over first)"})
    static final class MemberRemove extends CtlCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run() throws UsageException {
            int member = memberId(id);
            MemberList list = session().client().removeMember(member);
            session().followMembers(list);
            printer().memberChange(CtlPrinter.MemberChange.REMOVED, member, list);
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "promote", abbreviateSynopsis = true, description = {"makes learner ID a voter, once it has caught up with the leader"})
    static final class MemberPromote extends CtlCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run() throws UsageException {
            int member = memberId(id);
            MemberList list = session().client().promoteMember(member);
            session().followMembers(list);
            printer().memberChange(CtlPrinter.MemberChange.PROMOTED, member, list);
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** etcdctl's move-leader: to the leader (the client follows NOT_LEADER), answered once the target leads. */
    @Command(name = "move-leader", abbreviateSynopsis = true, description = {"hands the leadership to node ID"})
    static final class MoveLeader extends CtlCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        Set<Format> formats() {
            return NO_TABLE;
        }

        @Override
        int run() throws UsageException {
            int target = memberId(id);
            MemberList list = session().client().moveLeader(target);
            session().followMembers(list);
            printer().leaderMoved(target, list);
            return RaftKvCtl.EXIT_OK;
        }
    }
}
