package io.raftkv.server;

import io.raftkv.protocol.ClusterConfig;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code raftkv node --id N [--config FILE] [--data-dir DIR] [--join HOST:PORT[,HOST:PORT...]]}: one node in the
 * foreground. SIGTERM stops it cleanly (a leader hands over first, the loop finishes its turn, the WAL is synced and
 * closed); SIGKILL loses nothing acknowledged. {@code --join}: a new member, added with {@code raftkvctl member add},
 * starts with an empty data directory and learns the cluster from the members named (nodes.conf is not read).
 */
public final class NodeMain {

    private NodeMain() {
    }

    public static void main(String[] args) throws Exception {
        run(args, InjectedRequestBug.NONE);
    }

    /** {@code bug}: tests only, reached from test sources alone (see {@link InjectedRequestBug}). */
    static void run(String[] args, InjectedRequestBug bug) throws Exception {
        Integer id = null;
        Path config = Path.of("nodes.conf");
        Path dataDir = null;
        List<InetSocketAddress> join = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--id" -> id = Integer.parseInt(required(args[i], value));
                case "--config" -> config = Path.of(required(args[i], value));
                case "--data-dir" -> dataDir = Path.of(required(args[i], value));
                case "--join" -> join = addresses(required(args[i], value));
                default -> usage("unknown option " + args[i]);
            }
            i++;
        }
        if (id == null) usage("--id is required");
        if (dataDir == null) dataDir = Path.of("data", "node" + id);
        Node node;
        try {
            node = join.isEmpty() ? Node.start(ClusterConfig.load(config), id, dataDir, NodeOptions.fromSystemProperties(), bug)
                    : Node.join(join, id, dataDir, NodeOptions.fromSystemProperties());
        } catch (Exception e) {
            System.err.println("raftkv node " + id + ": " + e.getMessage());
            System.exit(1);
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

    private static List<InetSocketAddress> addresses(String list) {
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String part : list.split(",")) {
            int colon = part.lastIndexOf(':');
            if (colon <= 0) usage("--join takes HOST:PORT[,HOST:PORT...], not '" + part + "'");
            try {
                addresses.add(new InetSocketAddress(part.substring(0, colon), Integer.parseInt(part.substring(colon + 1))));
            } catch (IllegalArgumentException e) {
                usage("--join: bad address '" + part + "'");
            }
        }
        return addresses;
    }

    private static String required(String option, String value) {
        if (value == null) usage(option + " needs a value");
        return value;
    }

    private static void usage(String problem) {
        System.err.println("raftkv node: " + problem);
        System.err.println("usage: raftkv node --id N [--config FILE] [--data-dir DIR] [--join HOST:PORT[,HOST:PORT...]]");
        System.exit(2);
    }
}
