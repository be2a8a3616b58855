package io.raftkv.server;

import io.raftkv.protocol.ClusterConfig;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code raftkv node --id N [--config FILE] [--data-dir DIR] [--options FILE] [--join HOST:PORT[,HOST:PORT...]]}: one
 * node in the foreground. SIGTERM stops it cleanly (a leader hands over first, the loop finishes its turn, the WAL is
 * synced and closed); SIGKILL loses nothing acknowledged. {@code --join}: a new member, added with {@code raftkvctl
 * member add}, starts with an empty data directory and learns the cluster from the members named (nodes.conf is not
 * read). {@code --options}: node options in Java properties form, system properties {@code -Draftkv.NAME} winning
 * (docs/options.md). {@code --check}: checks nodes.conf (and the id, if given) and the options, starts nothing.
 *
 * <p>Everything is checked before anything is opened: a bad argument, nodes.conf or option exits 2 with one line per
 * problem; a node that fails to start (a locked or damaged data directory, a port in use) exits 1.
 */
public final class NodeMain {

    static final String USAGE = "usage: raftkv node --id N [--config FILE] [--data-dir DIR] [--options FILE] [--join HOST:PORT[,HOST:PORT...]]\n"
            + "       raftkv node --check [--id N] [--config FILE] [--options FILE]";
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    private NodeMain() {
    }

    /** A command line refused before anything started: the lines to print and the exit code. */
    static final class Refused extends Exception {
        final int exitCode;

        Refused(int exitCode, String lines) {
            super(lines, null, false, false);
            this.exitCode = exitCode;
        }
    }

    /** What the command line asks for, checked. {@code cluster}: null for a node that joins. */
    record Plan(Integer id, ClusterConfig cluster, List<InetSocketAddress> join, Path dataDir, NodeOptionsReader.Read options, boolean check) { }

    public static void main(String[] args) throws Exception {
        run(args, InjectedRequestBug.NONE);
    }

    /** {@code bug}: tests only, reached from test sources alone (see {@link InjectedRequestBug}). */
    static void run(String[] args, InjectedRequestBug bug) throws Exception {
        Plan plan;
        try {
            plan = plan(args);
        } catch (Refused r) {
            System.err.println(r.getMessage());
            System.exit(r.exitCode);
            return;
        }
        if (plan.check()) {
            System.out.println(plan.cluster() == null ? "options ok" : "config ok: " + plan.cluster().members().stream()
                    .map(m -> "node " + m.id() + " at " + m).collect(Collectors.joining(", ")) + "; options ok");
            return;
        }
        int id = plan.id();
        Log log = new Log(id);
        log.takeOverSystemLogger();
        log.info(plan.options().describe());
        for (String p : NodeOptionsReader.unknownSystemProperties(System.getProperties())) log.warn("system property " + p + " names no node option: ignored");
        Node node;
        try {
            NodeOptions options = plan.options().options();
            node = plan.cluster() != null ? Node.start(plan.cluster(), id, plan.dataDir(), options, bug) : Node.join(plan.join(), id, plan.dataDir(), options);
        } catch (Exception e) {
            log.error("raftkv node " + id + ": " + e.getMessage(), null);
            System.exit(EXIT_FAILED);
            return;
        }
        Thread hook = new Thread(() -> {
            node.stop();
            try {
                node.awaitStopped();
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "raftkv-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        node.awaitStopped();
    }

    static Plan plan(String[] args) throws Refused {
        Integer id = null;
        Path config = Path.of("nodes.conf");
        Path dataDir = null;
        Path optionsFile = null;
        boolean check = false;
        List<InetSocketAddress> join = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--check")) {
                check = true;
                continue;
            }
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--id" -> id = nodeId(required(args[i], value));
                case "--config" -> config = Path.of(required(args[i], value));
                case "--data-dir" -> dataDir = Path.of(required(args[i], value));
                case "--options" -> optionsFile = Path.of(required(args[i], value));
                case "--join" -> join = addresses(required(args[i], value));
                default -> throw usage("unknown option " + args[i]);
            }
            i++;
        }
        if (id == null && !check) throw usage("--id is required");
        if (check && !join.isEmpty()) throw usage("--check reads nodes.conf; a node that joins has none");
        String who = "raftkv node" + (id == null ? "" : " " + id);
        ClusterConfig cluster = null;
        if (join.isEmpty()) {
            try {
                cluster = ClusterConfig.load(config);
            } catch (NoSuchFileException e) {
                throw new Refused(EXIT_USAGE, who + ": no nodes.conf at " + config.toAbsolutePath() + " (--config FILE names another)");
            } catch (IOException e) {
                throw new Refused(EXIT_USAGE, who + ": cannot read " + config + ": " + e);
            } catch (IllegalArgumentException e) {
                throw new Refused(EXIT_USAGE, e.getMessage());
            }
            if (id != null && cluster.member(id) == null) throw new Refused(EXIT_USAGE, who + ": node " + id + " is not in " + config + " (its ids: " + cluster.ids() + ")");
        }
        NodeOptionsReader.Read options;
        try {
            options = NodeOptionsReader.read(optionsFile, System.getProperties());
            options.options().validate(cluster == null ? 0 : cluster.members().size() - 1);
        } catch (NoSuchFileException e) {
            throw new Refused(EXIT_USAGE, who + ": no options file at " + optionsFile.toAbsolutePath());
        } catch (IOException | IllegalArgumentException e) {
            throw new Refused(EXIT_USAGE, who + ": " + e.getMessage());
        }
        if (dataDir == null && id != null) dataDir = Path.of("data", "node" + id);
        return new Plan(id, cluster, join, dataDir, options, check);
    }

    private static int nodeId(String value) throws Refused {
        try {
            int id = Integer.parseInt(value);
            if (id >= 1) return id;
        } catch (NumberFormatException ignored) {
            // refused below, with the same words as a number below 1
        }
        throw usage("--id takes a node id (a whole number from 1), not '" + value + "'");
    }

    private static List<InetSocketAddress> addresses(String list) throws Refused {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String part : list.split(",")) {
            int colon = part.lastIndexOf(':');
            if (colon <= 0) throw usage("--join takes HOST:PORT[,HOST:PORT...], not '" + part + "'");
            try {
                addresses.add(new InetSocketAddress(part.substring(0, colon), Integer.parseInt(part.substring(colon + 1))));
            } catch (IllegalArgumentException e) {
                throw usage("--join: bad address '" + part + "'");
            }
        }
        return addresses;
    }

    private static String required(String option, String value) throws Refused {
        if (value == null) throw usage(option + " needs a value");
        return value;
    }

    private static Refused usage(String problem) {
        return new Refused(EXIT_USAGE, "raftkv node: " + problem + "\n" + USAGE);
    }
}
