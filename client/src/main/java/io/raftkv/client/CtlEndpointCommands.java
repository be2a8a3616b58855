package io.raftkv.client;

import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.RangeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * etcdctl's endpoint health and endpoint status, each endpoint asked at once: the endpoints raftkvctl was given, or with
 * {@code --cluster} every member of the cluster's member list.
 */
@Command(name = "endpoint", description = {"endpoint health, status"},
        subcommands = {CtlEndpointCommands.Health.class, CtlEndpointCommands.Status.class})
final class CtlEndpointCommands extends CtlCommand.Group {

    /** The key a health check reads, as etcd's: whether it exists does not matter, only that the read is served. */
    private static final byte[] HEALTH_KEY = "health".getBytes(StandardCharsets.US_ASCII);

    abstract static class EndpointCommand extends CtlCommand {
        @Option(names = "--cluster", description = "every member of the cluster, from its member list")
        boolean cluster;

        List<InetSocketAddress> addresses() throws UsageException {
            if (cluster) return session().client().members().members().stream().map(m -> new InetSocketAddress(m.host(), m.port())).toList();
            return session().endpoints().stream().map(CtlSession.Endpoint::address).toList();
        }
    }

    /**
     * etcd's health check: a linearizable read of the key "health" through the endpoint, which commits through the
     * leader's read index, so that it succeeds only where a leader serves a quorum. A follower that names the leader
     * sends the read there; an endpoint that refuses fails at once.
     */
    @Command(name = "health", abbreviateSynopsis = true,
            description = {"HOST:PORT is healthy: successfully committed proposal: took = 1.2ms, for each endpoint; exit code 1 if any is not"})
    static final class Health extends EndpointCommand {
        @Override
        int run() throws UsageException {
            CtlSession s = session();
            List<InetSocketAddress> all = addresses();
            List<RaftKvClient> clients = new ArrayList<>();
            List<CompletableFuture<Check>> checks = new ArrayList<>();
            for (InetSocketAddress a : all) {
                RaftKvClient one = new RaftKvClient(List.of(a), s.settings.timeout(), s.settings.tls()).unreachableFailsFast();
                clients.add(one);
                long start = System.nanoTime();
                checks.add(one.rangeAsync(RangeRequest.key(HEALTH_KEY).keysOnly(true))
                        .handle((r, e) -> e == null ? new Check(goDuration(System.nanoTime() - start), null) : new Check(null, why(e))));
            }
            List<List<String>> rows = new ArrayList<>();
            StringBuilder json = new StringBuilder("[");
            boolean allHealthy = true;
            for (int i = 0; i < all.size(); i++) {
                String endpoint = RaftKvCtl.hostPort(all.get(i));
                Check c = checks.get(i).join();
                boolean healthy = c.error() == null;
                allHealthy &= healthy;
                String tookText = healthy ? c.took() : "";
                String error = c.error();
                rows.add(List.of(endpoint, Boolean.toString(healthy), tookText, healthy ? "" : error));
                if (i > 0) json.append(',');
                json.append("{\"endpoint\":").append(CtlPrinter.Json.string(endpoint)).append(",\"health\":").append(healthy)
                        .append(",\"took\":").append(CtlPrinter.Json.string(tookText));
                if (error != null) json.append(",\"error\":").append(CtlPrinter.Json.string(error));
                json.append('}');
                if (format() == CtlPrinter.Format.SIMPLE) {
                    s.out.println(healthy ? endpoint + " is healthy: successfully committed proposal: took = " + c.took()
                            : endpoint + " is unhealthy: failed to commit proposal: " + error);
                }
            }
            clients.forEach(RaftKvClient::close);
            switch (format()) {
                case TABLE -> CtlPrinter.Table.render(s.out, List.of("ENDPOINT", "HEALTH", "TOOK", "ERROR"), rows);
                case JSON -> s.out.println(json.append(']'));
                case SIMPLE -> { }
            }
            return allHealthy ? RaftKvCtl.EXIT_OK : s.fail(RaftKvCtl.EXIT_FAILED, "unhealthy cluster");
        }

        /** One endpoint's answer: how long the read took, or why it failed. */
        private record Check(String took, String error) { }

        private static String why(Throwable e) {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            return RaftKvCtl.oneLine(cause instanceof RaftKvException r ? String.valueOf(r.getMessage()) : cause.toString());
        }
    }

    /**
     * etcdctl's endpoint status, with the columns the STATUS frame fills: no VERSION and no DB SIZE (a node does not say
     * them). RAFT INDEX is the node's commit index; IS LEARNER comes from the member list.
     */
    @Command(name = "status", abbreviateSynopsis = true,
            description = {"ENDPOINT, ID, IS LEADER, IS LEARNER, RAFT TERM, RAFT INDEX, RAFT APPLIED INDEX, ERRORS, for each endpoint"})
    static final class Status extends EndpointCommand {
        @Override
        int run() throws UsageException {
            CtlSession s = session();
            List<InetSocketAddress> all = addresses();
            RaftKvClient client = s.client();
            CompletableFuture<MemberList> members = client.membersAsync().exceptionally(e -> null);
            List<CompletableFuture<ClientResponse.StatusResult>> asked = new ArrayList<>();
            for (InetSocketAddress a : all) asked.add(client.statusAsync(a));
            Set<Integer> learners = new HashSet<>();
            MemberList list = members.join();
            if (list != null) for (MemberInfo m : list.members()) if (m.learner()) learners.add(m.id());
            List<List<String>> rows = new ArrayList<>();
            StringBuilder json = new StringBuilder("[");
            int code = RaftKvCtl.EXIT_OK;
            for (int i = 0; i < all.size(); i++) {
                String endpoint = RaftKvCtl.hostPort(all.get(i));
                ClientResponse.StatusResult r;
                try {
                    r = asked.get(i).join();
                } catch (CompletionException e) {
                    String why = e.getCause() instanceof RaftKvException x ? x.getMessage() : String.valueOf(e.getCause());
                    code = s.fail(RaftKvCtl.EXIT_FAILED, "failed to get the status of endpoint " + endpoint + " (" + why + ")");
                    continue;
                }
                boolean learner = learners.contains(r.nodeId());
                rows.add(List.of(endpoint, Integer.toString(r.nodeId()), Boolean.toString(r.nodeId() == r.leaderId()), Boolean.toString(learner),
                        Long.toString(r.term()), Long.toString(r.commit()), Long.toString(r.applied()), ""));
                if (json.length() > 1) json.append(',');
                // etcd's epStatus; fields at their zero value left out, as etcd's Go encoder does.
                json.append("{\"Endpoint\":").append(CtlPrinter.Json.string(endpoint)).append(",\"Status\":{\"header\":{\"cluster_id\":0,\"member_id\":")
                        .append(r.nodeId()).append(",\"raft_term\":").append(r.term()).append("},\"leader\":").append(r.leaderId())
                        .append(",\"raftIndex\":").append(r.commit()).append(",\"raftTerm\":").append(r.term())
                        .append(",\"raftAppliedIndex\":").append(r.applied()).append(learner ? ",\"isLearner\":true" : "").append("}}");
            }
            switch (format()) {
                case SIMPLE -> rows.forEach(row -> s.out.println(String.join(", ", row)));
                case TABLE -> CtlPrinter.Table.render(s.out, List.of("ENDPOINT", "ID", "IS LEADER", "IS LEARNER", "RAFT TERM", "RAFT INDEX",
                        "RAFT APPLIED INDEX", "ERRORS"), rows);
                case JSON -> s.out.println(json.append(']'));
            }
            return code;
        }
    }

    /** A duration as Go prints one (etcdctl's took): 850ns, 1.234µs, 12.5ms, 2.1s. */
    static String goDuration(long nanos) {
        if (nanos < 1_000) return nanos + "ns";
        if (nanos < 1_000_000) return decimal(nanos, 3) + "µs";
        if (nanos < 1_000_000_000) return decimal(nanos, 6) + "ms";
        return decimal(nanos, 9) + "s";
    }

    private static String decimal(long nanos, int scale) {
        return BigDecimal.valueOf(nanos, scale).stripTrailingZeros().toPlainString();
    }
}
