package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;

import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * {@code raftkvctl}: the command-line client, in the manner of etcdctl.
 *
 * <pre>
 * raftkvctl [--endpoints HOST:PORT,... | --config FILE] [--timeout SECONDS] [COMMAND [ARGS]]
 * </pre>
 *
 * With a command it runs that one command. Without one it reads commands from standard input: a shell
 * with a prompt on a terminal, or one command per line without a prompt when input is piped (the exit
 * code is then the worst of the commands'). Exit codes: 0 success, 1 a request failed (or the key was not
 * found), 2 a usage error. Every error is one line on standard error.
 */
public final class RaftKvCtl {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    private static final long TIMEOUT_MS_DEFAULT = 5_000;
    private static final double TIMEOUT_SECONDS_MAX = 3_600;
    /** A command line read from standard input longer than this is refused (values are at most 1 MiB). */
    private static final int LINE_CHARS_MAX = 4 << 20;

    private static final String USAGE = """
            usage: raftkvctl [--endpoints HOST:PORT,... | --config FILE] [--timeout SECONDS] [COMMAND]

            commands:
              put KEY VALUE             write VALUE under KEY; prints OK
              get KEY [--serializable]  print KEY's value; exit 1 if there is none. Linearizable, unless
                                        --serializable: then the node asked answers from its own copy,
                                        which may be stale
              del KEY                   delete KEY; prints OK (also when KEY was absent)
              status                    a row per node: id, address, role, term, leader, commit, applied, keys
              leader                    print the leader's id and address
              help                      this text

            Without a command, reads commands from standard input: a shell with a prompt on a terminal
            (exit or quit to leave), one command per line without a prompt otherwise (the exit code is then
            non-zero if any command failed). Quote words with spaces: put greeting "hello world".
            Use -- before a KEY or VALUE that starts with --.

            options:
              --endpoints HOST:PORT,... the nodes to talk to
              --config FILE             read the nodes from FILE (default: nodes.conf)
              --timeout SECONDS         deadline of each request, retries included (default: 5)

            exit codes: 0 success, 1 the request failed or the key was not found, 2 usage error""";

    private RaftKvCtl() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int code = run(args, in, out, err, System.console() != null);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs {@code raftkvctl args}, reading commands from {@code in} when no command is given; returns the exit code. */
    static int run(String[] args, BufferedReader in, PrintStream out, PrintStream err, boolean interactive) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (UsageException e) {
            err.println("error: " + e.getMessage());
            return EXIT_USAGE;
        }
        try (Session session = new Session(options, out, err)) {
            int code = options.command.isEmpty() ? session.shell(in, interactive) : session.execute(options.command);
            out.flush();
            return code;
        }
    }

    // ------------------------------------------------------------------ options

    /** A mistake in how raftkvctl was called: exit code 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    private record Options(String endpoints, Path config, Duration timeout, List<String> command) {

        /** Options come before the command; the command and its arguments are the rest. */
        static Options parse(String[] args) throws UsageException {
            String endpoints = null;
            Path config = null;
            Duration timeout = Duration.ofMillis(TIMEOUT_MS_DEFAULT);
            int i = 0;
            for (; i < args.length && args[i].startsWith("-"); i++) {
                String arg = args[i];
                String name = arg;
                String value = null;
                int eq = arg.indexOf('=');
                if (arg.startsWith("--") && eq > 0) {
                    name = arg.substring(0, eq);
                    value = arg.substring(eq + 1);
                }
                switch (name) {
                    case "-h", "--help" -> {
                        return new Options(endpoints, config, timeout, List.of("help"));
                    }
                    case "--endpoints", "--config", "--timeout" -> {
                        if (value == null) {
                            if (i + 1 >= args.length) throw new UsageException(name + " needs a value");
                            value = args[++i];
                        }
                        switch (name) {
                            case "--endpoints" -> endpoints = value;
                            case "--config" -> config = Path.of(value);
                            default -> timeout = parseTimeout(value);
                        }
                    }
                    default -> throw new UsageException("unknown option " + name + " (see 'raftkvctl help')");
                }
            }
            if (endpoints != null && config != null) throw new UsageException("give --endpoints or --config, not both");
            return new Options(endpoints, config, timeout, List.of(Arrays.copyOfRange(args, i, args.length)));
        }

        private static Duration parseTimeout(String value) throws UsageException {
            double seconds;
            try {
                seconds = Double.parseDouble(value);
            } catch (NumberFormatException e) {
                seconds = Double.NaN;
            }
            if (!(seconds > 0 && seconds <= TIMEOUT_SECONDS_MAX)) {
                throw new UsageException("--timeout takes a number of seconds in (0, " + (long) TIMEOUT_SECONDS_MAX + "], not '" + value + "'");
            }
            return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
        }
    }

    /** A node to talk to; {@code id} is known only when the nodes come from a config file. */
    private record Endpoint(Integer id, InetSocketAddress address) { }

    // ------------------------------------------------------------------ commands

    /** One run: the options, the endpoints and the client, made when the first command needs them. */
    private static final class Session implements AutoCloseable {

        private final Options options;
        private final PrintStream out;
        private final PrintStream err;
        private List<Endpoint> endpoints;
        private RaftKvClient client;
        /** Put before error messages: the line number when commands are piped in. */
        private String where = "";

        Session(Options options, PrintStream out, PrintStream err) {
            this.options = options;
            this.out = out;
            this.err = err;
        }

        /** Reads commands line by line; prompts only when {@code interactive}. */
        int shell(BufferedReader in, boolean interactive) {
            try {
                client();
            } catch (UsageException e) {
                return fail(EXIT_USAGE, e.getMessage());
            }
            int worst = EXIT_OK;
            for (long lineNumber = 1; ; lineNumber++) {
                if (interactive) {
                    out.print("raftkv " + hostPort(client.preferredEndpoint()) + "> ");
                    out.flush();
                }
                String line;
                try {
                    line = in.readLine();
                } catch (IOException e) {
                    return Math.max(worst, fail(EXIT_FAILED, "cannot read standard input: " + e.getMessage()));
                }
                if (line == null) {
                    if (interactive) out.println();
                    break;
                }
                where = interactive ? "" : "line " + lineNumber + ": ";
                List<String> words;
                try {
                    if (line.length() > LINE_CHARS_MAX) throw new UsageException("the line is longer than " + LINE_CHARS_MAX + " characters");
                    words = tokenize(line);
                } catch (UsageException e) {
                    worst = Math.max(worst, fail(EXIT_USAGE, e.getMessage()));
                    continue;
                }
                if (words.isEmpty()) continue;
                if (words.size() == 1 && (words.get(0).equals("exit") || words.get(0).equals("quit"))) break;
                worst = Math.max(worst, execute(words));
                out.flush();
            }
            out.flush();
            return interactive ? EXIT_OK : worst;
        }

        /** Runs one command; returns its exit code, having printed any error on one line. */
        int execute(List<String> words) {
            String command = words.get(0);
            List<String> rest = words.subList(1, words.size());
            try {
                switch (command) {
                    case "help", "-h", "--help" -> {
                        arguments("help", rest, Set.of(), 0);
                        out.println(USAGE);
                        return EXIT_OK;
                    }
                    case "put" -> {
                        List<String> a = arguments("put KEY VALUE", rest, Set.of(), 2).values();
                        client().put(key(a.get(0)), utf8(a.get(1)));
                        out.println("OK");
                        return EXIT_OK;
                    }
                    case "get" -> {
                        Arguments a = arguments("get KEY [--serializable]", rest, Set.of("--serializable"), 1);
                        String key = a.values().get(0);
                        Optional<byte[]> value = client().get(key(key), a.flags().contains("--serializable"));
                        if (value.isEmpty()) return fail(EXIT_FAILED, "key not found: " + key);
                        out.println(new String(value.get(), StandardCharsets.UTF_8));
                        return EXIT_OK;
                    }
                    case "del" -> {
                        List<String> a = arguments("del KEY", rest, Set.of(), 1).values();
                        client().delete(key(a.get(0)));
                        out.println("OK");
                        return EXIT_OK;
                    }
                    case "status" -> {
                        arguments("status", rest, Set.of(), 0);
                        return status();
                    }
                    case "leader" -> {
                        arguments("leader", rest, Set.of(), 0);
                        return leader();
                    }
                    default -> throw new UsageException("unknown command '" + command + "' (see 'raftkvctl help')");
                }
            } catch (UsageException e) {
                return fail(EXIT_USAGE, e.getMessage());
            } catch (RaftKvException e) {
                return fail(EXIT_FAILED, describe(e));
            } catch (RuntimeException e) {
                return fail(EXIT_FAILED, "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        private int status() throws UsageException {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "KEYS"});
            int answered = 0;
            List<Endpoint> all = endpoints();
            List<ClientResponse.StatusResult> results = statuses(all);
            for (int i = 0; i < all.size(); i++) {
                Endpoint e = all.get(i);
                ClientResponse.StatusResult s = results.get(i);
                if (s == null) {
                    rows.add(new String[] {e.id() == null ? "-" : e.id().toString(), hostPort(e.address()), "unreachable", "-", "-", "-", "-", "-"});
                } else {
                    answered++;
                    rows.add(new String[] {Integer.toString(s.nodeId()), hostPort(e.address()), s.role(), Long.toString(s.term()),
                            s.leaderId() == 0 ? "-" : Integer.toString(s.leaderId()), Long.toString(s.commit()),
                            Long.toString(s.applied()), Long.toString(s.keys())});
                }
            }
            printTable(rows);
            if (answered == 0) return fail(EXIT_FAILED, "no node answered");
            return EXIT_OK;
        }

        /** The node that says it is LEADER in the highest term: a deposed leader may not know yet. */
        private int leader() throws UsageException {
            List<Endpoint> all = endpoints();
            List<ClientResponse.StatusResult> results = statuses(all);
            int best = -1;
            int answered = 0;
            for (int i = 0; i < all.size(); i++) {
                ClientResponse.StatusResult s = results.get(i);
                if (s == null) continue;
                answered++;
                if (s.role().equals("LEADER") && (best < 0 || s.term() > results.get(best).term())) best = i;
            }
            if (best < 0) return fail(EXIT_FAILED, "no leader (" + answered + " of " + all.size() + " nodes answered)");
            out.println(results.get(best).nodeId() + " " + hostPort(all.get(best).address()));
            return EXIT_OK;
        }

        /** Asks every node at once; null for a node that did not answer within the timeout. */
        private List<ClientResponse.StatusResult> statuses(List<Endpoint> all) throws UsageException {
            RaftKvClient c = client();
            List<CompletableFuture<ClientResponse.StatusResult>> asked = new ArrayList<>();
            for (Endpoint e : all) asked.add(c.statusAsync(e.address()).exceptionally(t -> null));
            List<ClientResponse.StatusResult> results = new ArrayList<>();
            for (CompletableFuture<ClientResponse.StatusResult> f : asked) results.add(f.join());
            return results;
        }

        private void printTable(List<String[]> rows) {
            int[] widths = new int[rows.get(0).length];
            for (String[] row : rows) for (int i = 0; i < row.length; i++) widths[i] = Math.max(widths[i], row[i].length());
            for (String[] row : rows) {
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < row.length; i++) {
                    if (i > 0) line.append("  ");
                    line.append(row[i]);
                    if (i < row.length - 1) line.append(" ".repeat(widths[i] - row[i].length()));
                }
                out.println(line);
            }
        }

        private List<Endpoint> endpoints() throws UsageException {
            if (endpoints != null) return endpoints;
            List<Endpoint> list = new ArrayList<>();
            if (options.endpoints() != null) {
                try {
                    for (InetSocketAddress a : RaftKvClient.parseEndpoints(options.endpoints())) list.add(new Endpoint(null, a));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("bad --endpoints '" + options.endpoints() + "': expected host:port,... ("
                            + oneLine(e.getMessage()) + ")");
                }
            } else {
                Path file = options.config() != null ? options.config() : Path.of("nodes.conf");
                ClusterConfig config;
                try {
                    config = ClusterConfig.load(file);
                } catch (NoSuchFileException e) {
                    throw new UsageException("cannot read the cluster config " + file + ": no such file (give --endpoints HOST:PORT,... or --config FILE)");
                } catch (IOException e) {
                    throw new UsageException("cannot read the cluster config " + file + ": " + oneLine(String.valueOf(e.getMessage())));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("bad cluster config: " + oneLine(e.getMessage()));
                }
                for (ClusterConfig.Member m : config.members()) list.add(new Endpoint(m.id(), m.address()));
            }
            endpoints = List.copyOf(list);
            return endpoints;
        }

        private RaftKvClient client() throws UsageException {
            if (client == null) {
                List<InetSocketAddress> addresses = endpoints().stream().map(Endpoint::address).toList();
                client = new RaftKvClient(addresses, options.timeout());
            }
            return client;
        }

        private int fail(int code, String message) {
            out.flush();
            err.println("error: " + where + oneLine(message));
            return code;
        }

        @Override
        public void close() {
            if (client != null) client.close();
        }
    }

    private record Arguments(Set<String> flags, List<String> values) { }

    /**
     * A command's arguments, checked: exactly {@code positional} values, plus any of {@code flags}. A word
     * starting with {@code --} is a flag, unless it comes after a {@code --} word.
     */
    private static Arguments arguments(String usage, List<String> args, Set<String> flags, int positional) throws UsageException {
        String name = usage.split(" ")[0];
        Set<String> flagsSeen = new HashSet<>();
        List<String> values = new ArrayList<>();
        boolean onlyValues = false;
        for (String a : args) {
            if (!onlyValues && a.equals("--")) {
                onlyValues = true;
            } else if (!onlyValues && a.startsWith("--")) {
                if (!flags.contains(a)) throw new UsageException("unknown option " + a + " for " + name + " (usage: " + usage + ")");
                flagsSeen.add(a);
            } else {
                values.add(a);
            }
        }
        if (values.size() != positional) throw new UsageException(positional == 0 ? name + " takes no arguments" : "usage: " + usage);
        return new Arguments(flagsSeen, values);
    }

    private static byte[] key(String key) throws UsageException {
        if (key.isEmpty()) throw new UsageException("the key must not be empty");
        return utf8(key);
    }

    /** The message for a failed request, saying whether it may have taken effect. */
    static String describe(RaftKvException e) {
        String detail = oneLine(String.valueOf(e.getMessage()));
        return switch (e.kind()) {
            case REJECTED -> "request rejected: " + detail;
            case UNAVAILABLE -> "cluster unavailable: " + detail;
            case OUTCOME_UNKNOWN -> "outcome unknown, the write may or may not have been applied: " + detail;
        };
    }

    /**
     * Splits a line into words like a shell does, for the simple cases: whitespace separates words,
     * 'single quotes' keep everything, "double quotes" keep everything but \" and \\, a backslash outside
     * quotes keeps the next character, and # at the start of a word begins a comment.
     */
    static List<String> tokenize(String line) throws UsageException {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        int n = line.length();
        for (int i = 0; i < n; i++) {
            char c = line.charAt(i);
            if (c == '\'') {
                int end = line.indexOf('\'', i + 1);
                if (end < 0) throw new UsageException("unterminated ' quote");
                word.append(line, i + 1, end);
                i = end;
                inWord = true;
            } else if (c == '"') {
                int j = i + 1;
                for (; j < n && line.charAt(j) != '"'; j++) {
                    char d = line.charAt(j);
                    if (d == '\\' && j + 1 < n && (line.charAt(j + 1) == '"' || line.charAt(j + 1) == '\\')) d = line.charAt(++j);
                    word.append(d);
                }
                if (j >= n) throw new UsageException("unterminated \" quote");
                i = j;
                inWord = true;
            } else if (c == '\\') {
                if (i + 1 >= n) throw new UsageException("a line cannot end with \\");
                word.append(line.charAt(++i));
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
            } else if (c == '#' && !inWord) {
                break;
            } else {
                word.append(c);
                inWord = true;
            }
        }
        if (inWord) words.add(word.toString());
        return words;
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
