package io.raftkv.client;

import io.raftkv.client.CtlInput.LineReader;
import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.protocol.WatchRequest;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code raftkvctl}: the command-line client, with etcdctl's commands, flags and output formats.
 *
 * <pre>
 * raftkvctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]
 * </pre>
 *
 * Flags may come before or after the command and its arguments, as with etcdctl; {@code --} ends them. With a
 * command it runs that one command. Without one it reads commands from standard input: a shell with a prompt
 * on a terminal, or one command per line without a prompt when input is piped (the exit code is then the
 * worst of the commands'). Exit codes: 0 success, 1 a request failed, 2 a usage error. Every error is one line
 * on standard error.
 *
 * <p>Keys and values are bytes from end to end: arguments are taken as the bytes the caller gave (see
 * {@link CtlInput#programArguments}), lines of standard input are read as bytes, values from standard input or
 * {@code --from-file} verbatim, and simple output writes them to standard output as they are.
 */
public final class RaftKvCtl {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    private static final long TIMEOUT_MS_DEFAULT = 5_000;
    private static final double TIMEOUT_SECONDS_MAX = 3_600;
    /** A command line read from standard input longer than this is refused (values are at most 1 MiB on a node by default). */
    private static final int LINE_BYTES_MAX = 4 << 20;
    /** A value read from standard input or a file: the client's frame limit; a node refuses more than its valueBytesMax anyway. */
    private static final int VALUE_BYTES_MAX = 8 << 20;
    /** Lines of one txn section (compares, success or failure requests); a node bounds the operations of a txn far below. */
    private static final int TXN_LINES_MAX = 10_000;

    private static final String USAGE = """
            usage: raftkvctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]

            commands (flags as etcdctl's):
              get KEY [RANGE_END]    the key, or the keys in [KEY, RANGE_END); prints each key then its value
                  --prefix  --from-key  --limit N  --keys-only  --count-only  --rev R
                  --sort-by KEY|CREATE|MODIFY|VALUE|VERSION  --order ASCEND|DESCEND  --print-value-only
                  --consistency l|s      linearizable (default) or serializable: the node asked answers from
                                         its own copy, which may be stale (--serializable is the same as s)
              put KEY [VALUE]        writes VALUE (read from standard input when not given); prints OK
                  --prev-kv  --from-file PATH (the value is the file's bytes)
                  --lease ID             attaches the key to lease ID (hex, as lease grant prints it): the key is
                                         deleted when the lease ends; without it a put detaches the key from its lease
              del KEY [RANGE_END]    deletes the key or range; prints the number deleted
                  --prefix  --from-key  --prev-kv
              txn [-i]               reads a transaction from standard input: compares, a blank line, the
                                     requests if they all hold, a blank line, the requests if not; e.g.
                                       mod("counter") = "5"
                                       (blank line)
                                       put counter 6
                                       (blank line)
                                       get counter
                                     compares: value|version|create|mod("KEY") =|!=|<|> "VALUE"; requests:
                                     put KEY VALUE, get KEY [flags], del KEY [flags]. -i prompts for each part
              compaction REV         drops the history before revision REV
              status                 a row per node: id, address, role, term, leader, commit, applied, keys
              leader                 prints the leader's id and address
              member list            the members, a line each as etcdctl's: ID, started, NAME, PEER ADDRS,
                                     CLIENT ADDRS, IS LEARNER (one address serves peers and clients; NAME is
                                     node + ID); from the node asked, as it knows them; -w table adds IS LEADER
              member add ID HOST:PORT [--learner]
                                     adds node ID, serving at HOST:PORT, as a voter or a learner; etcdctl's
                                     form works too: member add node4 --peer-urls=http://HOST:PORT [--learner]
              member remove ID       removes node ID (the leader too: it hands the leadership over first)
              member promote ID      makes learner ID a voter, once it has caught up with the leader
              move-leader ID         hands the leadership to node ID
              watch KEY [RANGE_END]  prints each change as it comes (type, then key and value; with --prev-kv the
                                     previous key and value before them) until Ctrl-C; follows node failures
                  --prefix  --rev R (from revision R: the history first)  --prev-kv  --progress-notify
              lease grant TTL        grants a lease of TTL seconds (raised to the cluster's minimum, 2 s by default);
                                     prints "lease 694d5765fc71500b granted with TTL(10s)"
              lease revoke ID        ends lease ID (hex) and deletes its keys, in one revision
              lease keep-alive ID    keeps lease ID alive, printing each renewal, until Ctrl-C; "expired or revoked"
                                     when the cluster says it is gone
                  --once                 renews it once
              lease timetolive ID    its granted and remaining TTL ("already expired" when there is no such lease)
                  --keys                 and its keys
              lease list             every lease's ID
              lock NAME [COMMAND ARGS...]
                                     takes lock NAME (etcd's mutex: first come, first served) and holds it: without a
                                     COMMAND prints the lock's key (NAME/LEASE) and holds it until Ctrl-C, then
                                     releases it; with one, runs COMMAND while holding it (ETCD_LOCK_KEY and
                                     ETCD_LOCK_REV in its environment), releases it when COMMAND exits and exits with
                                     its code. Flags after COMMAND are COMMAND's
                  --ttl SECONDS          the session's lease (default 10): how long the lock outlives a raftkvctl
                                         that dies without releasing it
              elect NAME [PROPOSAL]  with PROPOSAL: campaigns in election NAME, prints the leader's key and value once
                                     elected, and leads until Ctrl-C, then resigns; without (or with -l, --listen):
                                     prints each leader's key and value as it comes, until Ctrl-C
                  --ttl SECONDS          the session's lease (default 60)
              snapshot save FILE     a backup of the first node that answers, as of now, into FILE (checked whole
                                     before it gets its name); bin/raftkv restore builds a new cluster from it
              snapshot status FILE   checks FILE and prints its hash (CRC-32C), revision, keys (a deleted key counts
                                     until a compaction passes its delete), size, index, term
              help                   this text

            global flags (before or after the command):
              --endpoints HOST:PORT,...   the nodes to talk to
              --config FILE               read the nodes from FILE (default: nodes.conf)
              --timeout SECONDS           deadline of each request, retries included (default: 5);
                                          --command-timeout 5s is the same, in etcdctl's form
              -w, --write-out FORMAT      simple (default), json (etcd's: base64 keys and values, the header
                                          with revision and raft_term) or table (get, status, member)
              --hex                       keys and values given and printed as hex (6b6579 or \\x6b\\x65\\x79)

            Without a command, reads commands from standard input: a shell with a prompt on a terminal
            (exit or quit to leave), one command per line without a prompt otherwise (the exit code is then
            non-zero if any command failed). Quote words as a shell does; double quotes take Go's escapes as
            etcdctl's txn lines do (put k "a\\x00b"). Use -- before a KEY or VALUE that starts with -.

            exit codes: 0 success, 1 the request failed (the error names its code, e.g. COMPACTED), 2 usage error""";

    private RaftKvCtl() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        CtlStopSignal stop = CtlStopSignal.install(() -> {
            out.flush();
            err.flush();
        });
        int code = run(CtlInput.programArguments(args), System.in, out, err, System.console() != null, stop);
        out.flush();
        err.flush();
        stop.exited(code);
        System.exit(code);
    }

    /** Runs {@code raftkvctl args}, reading {@code in} for commands, txns or a value; returns the exit code. */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean interactive) {
        byte[][] bytes = new byte[args.length][];
        for (int i = 0; i < args.length; i++) bytes[i] = args[i].getBytes(StandardCharsets.UTF_8);
        return run(bytes, in, out, err, interactive);
    }

    /** As {@link #run(String[], InputStream, PrintStream, PrintStream, boolean)}, with the arguments as bytes. */
    static int run(byte[][] args, InputStream in, PrintStream out, PrintStream err, boolean interactive) {
        return run(args, in, out, err, interactive, null);
    }

    /** {@code stop}: raftkvctl's own process, where Ctrl-C must release a lock (null in a test JVM: see {@link CtlRecipes}). */
    private static int run(byte[][] args, InputStream in, PrintStream out, PrintStream err, boolean interactive, CtlStopSignal stop) {
        List<Word> words = new ArrayList<>();
        for (byte[] a : args) words.add(Word.of(a));
        Parsed command;
        Settings settings;
        try {
            command = parse(words);
            settings = Settings.of(command);
        } catch (UsageException e) {
            err.println("error: " + oneLine(e.getMessage()));
            return EXIT_USAGE;
        }
        try (Session session = new Session(settings, new LineReader(in, LINE_BYTES_MAX), out, err, interactive, stop)) {
            int code = command.name == null && !command.on("help") ? session.shell() : session.execute(command, false);
            out.flush();
            return code;
        }
    }

    // ------------------------------------------------------------------ flags

    /** A mistake in how raftkvctl was called: exit code 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    /** A flag: its long name, a one-letter short name (or 0), whether it takes a value. */
    private record Flag(String name, char shortName, boolean takesValue) {
        static Flag bool(String name) {
            return new Flag(name, (char) 0, false);
        }

        static Flag value(String name) {
            return new Flag(name, (char) 0, true);
        }
    }

    /**
     * A command: its flags, the output formats it prints, and the argument from which every word is an argument, flags
     * included (0: none; lock's COMMAND, whose flags are its own).
     */
    private record Command(List<Flag> flags, Set<Format> formats, int verbatimFromArg) {
        Command(List<Flag> flags, Set<Format> formats) {
            this(flags, formats, 0);
        }
    }

    private static final Set<Format> ALL_FORMATS = Set.of(Format.SIMPLE, Format.JSON, Format.TABLE);
    /** etcdctl has no table for put, del and txn either. */
    private static final Set<Format> NO_TABLE = Set.of(Format.SIMPLE, Format.JSON);

    private static final List<Flag> GLOBAL_FLAGS = List.of(Flag.value("endpoints"), Flag.value("config"), Flag.value("timeout"),
            Flag.value("command-timeout"), new Flag("write-out", 'w', true), Flag.bool("hex"), new Flag("help", 'h', false));
    /** Global flags that choose the cluster: only when raftkvctl starts, not on a line of the shell. */
    private static final Set<String> STARTUP_FLAGS = Set.of("endpoints", "config", "timeout", "command-timeout");

    private static final List<Flag> GET_FLAGS = List.of(Flag.bool("prefix"), Flag.bool("from-key"), Flag.value("limit"),
            Flag.bool("keys-only"), Flag.bool("count-only"), Flag.value("rev"), Flag.value("sort-by"), Flag.value("order"),
            Flag.bool("print-value-only"), Flag.value("consistency"), Flag.bool("serializable"));
    private static final List<Flag> PUT_FLAGS = List.of(Flag.bool("prev-kv"), Flag.value("from-file"), Flag.value("lease"));
    /** {@code --range} is etcdctl's way to skip its 2-second pause before a ranged delete; raftkvctl never pauses. */
    private static final List<Flag> DEL_FLAGS = List.of(Flag.bool("prefix"), Flag.bool("from-key"), Flag.bool("prev-kv"), Flag.bool("range"));

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("get", new Command(GET_FLAGS, ALL_FORMATS));
        COMMANDS.put("put", new Command(PUT_FLAGS, NO_TABLE));
        COMMANDS.put("del", new Command(DEL_FLAGS, NO_TABLE));
        COMMANDS.put("txn", new Command(List.of(new Flag("interactive", 'i', false)), NO_TABLE));
        // etcdctl prints "compacted revision N" whatever -w says; so does raftkvctl.
        COMMANDS.put("compaction", new Command(List.of(), ALL_FORMATS));
        COMMANDS.put("status", new Command(List.of(), ALL_FORMATS));
        COMMANDS.put("leader", new Command(List.of(), Set.of(Format.SIMPLE)));
        COMMANDS.put("snapshot", new Command(List.of(), ALL_FORMATS));
        // --peer-urls: etcdctl's form of member add (member add node4 --peer-urls=http://HOST:PORT).
        COMMANDS.put("member", new Command(List.of(Flag.bool("learner"), new Flag("peer-urls", (char) 0, true)), ALL_FORMATS));
        COMMANDS.put("move-leader", new Command(List.of(), NO_TABLE));
        COMMANDS.put("watch", new Command(List.of(Flag.bool("prefix"), Flag.value("rev"), Flag.bool("prev-kv"), Flag.bool("progress-notify")), NO_TABLE));
        // etcdctl has no table for its lease commands either.
        COMMANDS.put("lease", new Command(List.of(Flag.bool("once"), Flag.bool("keys")), NO_TABLE));
        // etcdctl has no table for lock and elect either (they print what a get prints); lock's COMMAND starts at its second argument.
        COMMANDS.put("lock", new Command(List.of(Flag.value("ttl")), NO_TABLE, 2));
        COMMANDS.put("elect", new Command(List.of(Flag.value("ttl"), new Flag("listen", 'l', false)), NO_TABLE));
        COMMANDS.put("help", new Command(List.of(), ALL_FORMATS));
    }

    /** A command line taken apart: the command (null if none), its arguments, and the flags (a bool flag's value is true or false). */
    static final class Parsed {
        String name;
        final List<Word> args = new ArrayList<>();
        final Map<String, String> flags = new HashMap<>();

        boolean on(String flag) {
            return "true".equals(flags.get(flag));
        }

        String get(String flag) {
            return flags.get(flag);
        }
    }

    /**
     * Takes a command line apart as etcdctl's (cobra's) parser does: global flags anywhere, a command's own flags
     * after it, {@code --name value} or {@code --name=value}, {@code -w json}, {@code -w=json} or {@code -wjson};
     * after a {@code --} word every word is an argument. The last of a repeated flag wins.
     */
    static Parsed parse(List<Word> words) throws UsageException {
        Parsed p = new Parsed();
        boolean onlyArgs = false;
        for (int i = 0; i < words.size(); i++) {
            Word w = words.get(i);
            String t = w.text();
            if (!onlyArgs && t.equals("--")) {
                onlyArgs = true;
            } else if (!onlyArgs && t.length() > 1 && t.startsWith("-")) {
                String name;
                String value = null;
                if (t.startsWith("--")) {
                    int eq = t.indexOf('=');
                    name = eq < 0 ? t.substring(2) : t.substring(2, eq);
                    if (eq >= 0) value = t.substring(eq + 1);
                } else {
                    Flag f = byShortName(t.charAt(1), p.name);
                    if (f == null) throw new UsageException("unknown shorthand flag '" + t.charAt(1) + "' in " + t + where(p.name));
                    name = f.name();
                    String rest = t.substring(2);
                    if (rest.startsWith("=")) rest = rest.substring(1);
                    if (!rest.isEmpty() || t.length() > 2) value = rest;
                }
                Flag f = byName(name, p.name);
                if (f == null) {
                    String hint = p.name == null && isCommandFlag(name) ? " (a command's flags go after the command)" : " (see 'raftkvctl help')";
                    throw new UsageException("unknown flag --" + name + where(p.name) + hint);
                }
                if (f.takesValue()) {
                    if (value == null) {
                        if (i + 1 >= words.size()) throw new UsageException("flag --" + name + " needs a value");
                        value = words.get(++i).text();
                    }
                } else if (value == null) {
                    value = "true";
                } else if (!value.equals("true") && !value.equals("false")) {
                    throw new UsageException("flag --" + name + " takes no value (or =true, =false), not '" + value + "'");
                }
                p.flags.put(f.name(), value);
            } else if (p.name == null) {
                if (!COMMANDS.containsKey(t)) throw new UsageException("unknown command '" + t + "' (see 'raftkvctl help')");
                p.name = t;
            } else {
                p.args.add(w);
                if (p.args.size() == COMMANDS.get(p.name).verbatimFromArg()) onlyArgs = true;
            }
        }
        return p;
    }

    private static String where(String command) {
        return command == null ? "" : " for " + command;
    }

    private static Flag byName(String name, String command) {
        for (Flag f : GLOBAL_FLAGS) if (f.name().equals(name)) return f;
        if (command != null) for (Flag f : COMMANDS.get(command).flags()) if (f.name().equals(name)) return f;
        return null;
    }

    private static Flag byShortName(char c, String command) {
        for (Flag f : GLOBAL_FLAGS) if (f.shortName() == c) return f;
        if (command != null) for (Flag f : COMMANDS.get(command).flags()) if (f.shortName() == c) return f;
        return null;
    }

    private static boolean isCommandFlag(String name) {
        return COMMANDS.values().stream().anyMatch(c -> c.flags().stream().anyMatch(f -> f.name().equals(name)));
    }

    /** What the global flags given at start-up say: where the cluster is, the deadline, the default output. */
    private record Settings(String endpoints, Path config, Duration timeout, Format format, boolean hex) {

        static Settings of(Parsed p) throws UsageException {
            if (p.get("endpoints") != null && p.get("config") != null) throw new UsageException("give --endpoints or --config, not both");
            Duration timeout = Duration.ofMillis(TIMEOUT_MS_DEFAULT);
            if (p.get("timeout") != null && p.get("command-timeout") != null) {
                throw new UsageException("give --timeout or --command-timeout, not both");
            }
            if (p.get("timeout") != null) timeout = parseTimeout(p.get("timeout"));
            if (p.get("command-timeout") != null) timeout = parseGoDuration(p.get("command-timeout"));
            Format format = p.get("write-out") == null ? Format.SIMPLE : Format.parse(p.get("write-out"));
            return new Settings(p.get("endpoints"), p.get("config") == null ? null : Path.of(p.get("config")), timeout, format, p.on("hex"));
        }

        private static Duration parseTimeout(String value) throws UsageException {
            double seconds;
            try {
                seconds = Double.parseDouble(value);
            } catch (NumberFormatException e) {
                seconds = Double.NaN;
            }
            return checkedTimeout(seconds, "--timeout takes a number of seconds in (0, " + (long) TIMEOUT_SECONDS_MAX + "], not '" + value + "'");
        }

        private static final Pattern GO_DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(ns|us|µs|ms|s|m|h)");

        /** etcdctl's --command-timeout: a Go duration such as 5s, 500ms or 1m30s. */
        private static Duration parseGoDuration(String value) throws UsageException {
            String problem = "--command-timeout takes a duration such as 5s or 500ms, in (0, " + (long) TIMEOUT_SECONDS_MAX + "s], not '" + value + "'";
            Matcher m = GO_DURATION_PART.matcher(value);
            double seconds = 0;
            int at = 0;
            while (at < value.length() && m.find(at) && m.start() == at) {
                double n = Double.parseDouble(m.group(1));
                seconds += n * switch (m.group(2)) {
                    case "ns" -> 1e-9;
                    case "us", "µs" -> 1e-6;
                    case "ms" -> 1e-3;
                    case "s" -> 1;
                    case "m" -> 60;
                    default -> 3600;
                };
                at = m.end();
            }
            if (at != value.length() || value.isEmpty()) throw new UsageException(problem);
            return checkedTimeout(seconds, problem);
        }

        private static Duration checkedTimeout(double seconds, String problem) throws UsageException {
            if (!(seconds > 0 && seconds <= TIMEOUT_SECONDS_MAX)) throw new UsageException(problem);
            return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
        }
    }

    /** A node to talk to; {@code id} is known only when the nodes come from a config file. */
    private record Endpoint(Integer id, InetSocketAddress address) { }

    // ------------------------------------------------------------------ commands

    /** One run: the settings, standard input, and the client, made when the first command needs it. */
    private static final class Session implements AutoCloseable {

        private final Settings settings;
        private final LineReader in;
        private final PrintStream out;
        private final PrintStream err;
        private final boolean interactive;
        private final CtlStopSignal stop;
        private List<Endpoint> endpoints;
        private RaftKvClient client;
        /** Put before error messages: the line number when commands are piped in. */
        private String where = "";

        Session(Settings settings, LineReader in, PrintStream out, PrintStream err, boolean interactive, CtlStopSignal stop) {
            this.settings = settings;
            this.in = in;
            this.out = out;
            this.err = err;
            this.interactive = interactive;
            this.stop = stop;
        }

        /** Reads commands line by line; prompts only when interactive. */
        int shell() {
            try {
                client();
            } catch (UsageException e) {
                return fail(EXIT_USAGE, e.getMessage());
            }
            int worst = EXIT_OK;
            while (true) {
                if (interactive) {
                    out.print("raftkv " + hostPort(client.preferredEndpoint()) + "> ");
                    out.flush();
                }
                byte[] line;
                Parsed command;
                try {
                    try {
                        line = in.readLine();
                    } finally {
                        where = interactive ? "" : "line " + in.lineNumber() + ": ";
                    }
                    if (line == null) {
                        if (interactive) out.println();
                        break;
                    }
                    List<Word> words = CtlInput.tokenize(line);
                    if (words.isEmpty()) continue;
                    if (words.size() == 1 && (words.get(0).text().equals("exit") || words.get(0).text().equals("quit"))) break;
                    command = parse(words);
                    for (String f : STARTUP_FLAGS) {
                        if (command.get(f) != null) throw new UsageException("--" + f + " is given when raftkvctl starts, not in the shell");
                    }
                    if (command.name == null && !command.on("help")) throw new UsageException("no command on the line (see 'help')");
                } catch (UsageException e) {
                    worst = Math.max(worst, fail(EXIT_USAGE, e.getMessage()));
                    continue;
                } catch (IOException e) {
                    return Math.max(worst, fail(EXIT_FAILED, "cannot read standard input: " + e.getMessage()));
                }
                worst = Math.max(worst, execute(command, true));
                out.flush();
            }
            out.flush();
            return interactive ? EXIT_OK : worst;
        }

        /** Runs one command; returns its exit code, having printed any error on one line. */
        int execute(Parsed command, boolean inShell) {
            try {
                if (command.on("help") || "help".equals(command.name)) {
                    if (!command.args.isEmpty()) throw new UsageException("help takes no arguments");
                    out.println(USAGE);
                    return EXIT_OK;
                }
                Format format = command.get("write-out") == null ? settings.format() : Format.parse(command.get("write-out"));
                if (!COMMANDS.get(command.name).formats().contains(format)) {
                    throw new UsageException("-w " + format + " is not supported for " + command.name
                            + (format == Format.TABLE && !command.name.equals("leader") ? " (etcdctl has no table for it either)" : ""));
                }
                boolean hex = command.flags.containsKey("hex") ? command.on("hex") : settings.hex();
                CtlPrinter printer = CtlPrinter.of(format, out, hex);
                return switch (command.name) {
                    case "get" -> get(command, format, printer, hex);
                    case "put" -> put(command, printer, hex, inShell);
                    case "del" -> del(command, printer, hex);
                    case "txn" -> txn(command, printer, hex, inShell);
                    case "compaction" -> compaction(command);
                    case "status" -> status(command, format);
                    case "leader" -> leader(command);
                    case "snapshot" -> snapshot(command, format);
                    case "member" -> member(command, printer);
                    case "move-leader" -> moveLeader(command, printer);
                    case "watch" -> watch(command, printer, hex, inShell);
                    case "lease" -> lease(command, printer, inShell);
                    case "lock" -> lock(command, printer, hex, inShell);
                    case "elect" -> elect(command, printer, hex, inShell);
                    default -> throw new IllegalStateException("command " + command.name);
                };
            } catch (UsageException e) {
                return fail(EXIT_USAGE, e.getMessage());
            } catch (RaftKvException e) {
                return fail(EXIT_FAILED, describe(e));
            } catch (RuntimeException e) {
                return fail(EXIT_FAILED, "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }

        private int get(Parsed c, Format format, CtlPrinter printer, boolean hex) throws UsageException {
            boolean valueOnly = c.on("print-value-only");
            if (valueOnly && format != Format.SIMPLE) throw new UsageException("--print-value-only is only for -w simple");
            RangeRequest request = rangeRequest(c, hex);
            ClientResponse.RangeResult r = client().range(request);
            printer.get(r.header(), new OpResult.Range(r.kvs(), r.more(), r.count()), request, valueOnly);
            return EXIT_OK;
        }

        private int put(Parsed c, CtlPrinter printer, boolean hex, boolean inShell) throws UsageException {
            TxnOp.Put op = putOp(c, hex, inShell ? null : in);
            if (op.lease() != 0) {
                ClientResponse.TxnResult t = client().txn(new TxnRequest(List.of(), List.of(op), List.of()));
                printer.put(t.header(), (OpResult.Put) t.results().get(0));
                return EXIT_OK;
            }
            WithHeader<OpResult.Put> r = client().put(op.key(), op.value(), op.prevKv());
            printer.put(r.header(), r.value());
            return EXIT_OK;
        }

        /** etcdctl's lease grant, revoke, keep-alive, timetolive and list; lease IDs in hex, as etcdctl prints them. */
        private int lease(Parsed c, CtlPrinter printer, boolean inShell) throws UsageException {
            String usage = "usage: lease grant TTL | lease revoke ID | lease keep-alive ID [--once] | lease timetolive ID [--keys] | lease list";
            if (c.args.isEmpty()) throw new UsageException(usage);
            String sub = c.args.get(0).text();
            int wanted = switch (sub) {
                case "list" -> 1;
                case "grant", "revoke", "keep-alive", "timetolive" -> 2;
                default -> throw new UsageException("unknown lease command '" + sub + "' (" + usage + ")");
            };
            if (c.args.size() != wanted) throw new UsageException(sub.equals("list") ? "lease list takes no arguments" : "lease " + sub + " needs one "
                    + (sub.equals("grant") ? "TTL" : "ID"));
            if (c.flags.containsKey("once") && !sub.equals("keep-alive")) throw new UsageException("--once is only for lease keep-alive");
            if (c.flags.containsKey("keys") && !sub.equals("timetolive")) throw new UsageException("--keys is only for lease timetolive");
            switch (sub) {
                case "grant" -> {
                    long ttl = number(c.args.get(1).text(), "lease grant's TTL");
                    printer.leaseGranted(client().grant(ttl));
                }
                case "revoke" -> {
                    long id = leaseIdArg(c.args.get(1).text());
                    printer.leaseRevoked(id, client().revoke(id));
                }
                case "timetolive" -> {
                    long id = leaseIdArg(c.args.get(1).text());
                    ClientResponse.LeaseResult r;
                    try {
                        r = client().timeToLive(id, c.on("keys"));
                    } catch (RaftKvException e) {
                        if (e.errorCode() != io.raftkv.protocol.ErrorCode.LEASE_NOT_FOUND) throw e;
                        r = null; // etcd answers TTL -1, and etcdctl prints "already expired"
                    }
                    printer.leaseTimeToLive(id, r, c.on("keys"));
                }
                case "list" -> printer.leaseList(client().leases());
                default -> {
                    long id = leaseIdArg(c.args.get(1).text());
                    if (c.on("once")) {
                        printer.leaseKeptAlive(client().keepAliveOnce(id));
                        return EXIT_OK;
                    }
                    if (inShell) throw new UsageException("lease keep-alive runs until Ctrl-C: run it as a command of its own, or give --once");
                    return keepAlive(id, printer);
                }
            }
            return EXIT_OK;
        }

        /**
         * etcdctl's lease keep-alive: a keepalive now, then one a third of the TTL after each answer, each printed, until
         * Ctrl-C (an interrupt) or until the cluster says the lease is gone ("expired or revoked.", exit code 0 as etcdctl).
         * A keepalive no node could serve in time is an error line, and the next one is tried.
         */
        private int keepAlive(long id, CtlPrinter printer) throws UsageException {
            RaftKvClient c = client();
            while (!Thread.currentThread().isInterrupted()) {
                long pauseMs;
                try {
                    ClientResponse.LeaseResult r = c.keepAliveOnce(id);
                    synchronized (out) {
                        printer.leaseKeptAlive(r);
                        out.flush();
                    }
                    pauseMs = Math.max(1, r.ttlSeconds() * 1000 / 3);
                } catch (RaftKvException e) {
                    if (Thread.currentThread().isInterrupted()) break;
                    if (e.errorCode() == io.raftkv.protocol.ErrorCode.LEASE_NOT_FOUND) {
                        out.println("lease " + CtlPrinter.leaseId(id) + " expired or revoked.");
                        return EXIT_OK;
                    }
                    if (e.kind() == RaftKvException.Kind.REJECTED) return fail(EXIT_FAILED, describe(e));
                    fail(EXIT_FAILED, describe(e));
                    pauseMs = LeaseKeepAlive.RETRY_MS;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(pauseMs * 1_000_000L);
            }
            return EXIT_OK;
        }

        /** etcdctl's lock NAME [COMMAND ARGS...] (CtlRecipes). */
        private int lock(Parsed c, CtlPrinter printer, boolean hex, boolean inShell) throws UsageException {
            if (inShell) throw new UsageException("lock holds until Ctrl-C: run it as a command of its own (raftkvctl lock NAME ...)");
            if (c.args.isEmpty()) throw new UsageException("lock needs a NAME, and optionally a COMMAND to run while holding it");
            byte[] name = bytes(c.args.get(0), hex);
            if (name.length == 0) throw new UsageException("lock needs a NAME that is not empty");
            long ttl = c.get("ttl") == null ? CtlRecipes.LOCK_TTL_SECONDS_DEFAULT : ttlSeconds(c.get("ttl"));
            return recipes(printer).lock(name, c.args.subList(1, c.args.size()), ttl);
        }

        /** etcdctl's elect NAME [PROPOSAL] and elect -l NAME (CtlRecipes). */
        private int elect(Parsed c, CtlPrinter printer, boolean hex, boolean inShell) throws UsageException {
            if (inShell) throw new UsageException("elect holds until Ctrl-C: run it as a command of its own (raftkvctl elect NAME ...)");
            if (c.args.isEmpty() || c.args.size() > 2) throw new UsageException("elect takes one election NAME and an optional PROPOSAL");
            byte[] name = bytes(c.args.get(0), hex);
            if (name.length == 0) throw new UsageException("elect needs a NAME that is not empty");
            if (c.args.size() == 1) {
                if (c.get("ttl") != null) throw new UsageException("--ttl is for a campaign: an observer (no PROPOSAL) has no session");
                return recipes(printer).observe(name);
            }
            if (c.on("listen")) throw new UsageException("-l observes: it takes no PROPOSAL");
            long ttl = c.get("ttl") == null ? CtlRecipes.ELECT_TTL_SECONDS_DEFAULT : ttlSeconds(c.get("ttl"));
            return recipes(printer).campaign(name, bytes(c.args.get(1), hex), ttl);
        }

        private CtlRecipes recipes(CtlPrinter printer) throws UsageException {
            return new CtlRecipes(client(), out, err, printer, stop, this::fail);
        }

        /**
         * etcdctl's watch: prints each event as it comes until Ctrl-C (or an interrupt), or until the watch ends (its
         * start revision was compacted: exit code 1 with the compact revision).
         */
        private int watch(Parsed c, CtlPrinter printer, boolean hex, boolean inShell) throws UsageException {
            if (inShell) throw new UsageException("watch runs until Ctrl-C: run it as a command of its own (raftkvctl watch KEY ...)");
            if (c.args.isEmpty() || c.args.size() > 2) throw new UsageException("watch needs a KEY and an optional RANGE_END");
            byte[][] range = keyRange(c, hex, c.on("prefix"), false);
            long rev = c.get("rev") == null ? 0 : number(c.get("rev"), "--rev");
            if (rev < 0) throw new UsageException("--rev must not be negative");
            WatchRequest request = new WatchRequest(0, range[0], range[1], rev, c.on("prev-kv"), false, false, c.on("progress-notify"));
            CompletableFuture<String> ended = new CompletableFuture<>();
            try (Watcher ignored = client().watch(request, new WatchListener() {
                @Override
                public void onEvents(WatchResponse response) {
                    synchronized (out) {
                        printer.watch(response);
                        out.flush();
                    }
                }

                @Override
                public void onCanceled(long compactRevision, String reason) {
                    ended.complete(reason);
                }
            })) {
                return fail(EXIT_FAILED, "watch ended: " + ended.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return EXIT_OK;
            } catch (java.util.concurrent.ExecutionException e) {
                return fail(EXIT_FAILED, "watch ended: " + e.getCause());
            }
        }

        private int del(Parsed c, CtlPrinter printer, boolean hex) throws UsageException {
            TxnOp.DeleteRange op = deleteOp(c, hex);
            WithHeader<OpResult.DeleteRange> r = client().deleteRange(op.key(), op.rangeEnd(), op.prevKv());
            printer.del(r.header(), r.value());
            return EXIT_OK;
        }

        /**
         * etcdctl's txn: compares, a blank line, the success requests, a blank line, the failure requests, each
         * line trimmed; the end of input ends the part being read (etcdctl 3.6 wants the blank lines). Every line
         * is read before any is judged, so that in the shell a mistake does not leave the rest to run as commands.
         */
        private int txn(Parsed c, CtlPrinter printer, boolean hex, boolean inShell) throws UsageException {
            if (!c.args.isEmpty()) throw new UsageException("txn takes no arguments: it reads the compares and requests from standard input");
            boolean prompt = c.on("interactive") || (inShell && interactive);
            String[] titles = {"compares:", "success requests (get, put, del):", "failure requests (get, put, del):"};
            List<List<byte[]>> parts = new ArrayList<>();
            UsageException problem = null;
            boolean ended = false;
            for (String title : titles) {
                List<byte[]> lines = new ArrayList<>();
                parts.add(lines);
                if (ended) continue;
                if (prompt) {
                    out.println(title);
                    out.flush();
                }
                while (true) {
                    byte[] line;
                    try {
                        line = in.readLine();
                    } catch (UsageException e) {
                        if (problem == null) problem = e;
                        continue;
                    } catch (IOException e) {
                        return fail(EXIT_FAILED, "cannot read the txn from standard input: " + e.getMessage());
                    }
                    if (line == null) {
                        ended = true;
                        break;
                    }
                    line = CtlInput.trim(line);
                    if (line.length == 0) break;
                    if (lines.size() >= TXN_LINES_MAX) {
                        if (problem == null) problem = new UsageException("more than " + TXN_LINES_MAX + " lines in one part of the txn");
                        continue;
                    }
                    lines.add(line);
                }
            }
            if (problem != null) throw problem;
            List<Compare> compares = new ArrayList<>();
            for (byte[] line : parts.get(0)) compares.add(parseCompare(line, hex));
            List<TxnOp> success = new ArrayList<>();
            for (byte[] line : parts.get(1)) success.add(parseRequest(line, hex));
            List<TxnOp> failure = new ArrayList<>();
            for (byte[] line : parts.get(2)) failure.add(parseRequest(line, hex));
            ClientResponse.TxnResult r = client().txn(new TxnRequest(compares, success, failure));
            printer.txn(r, r.succeeded() ? success : failure);
            return EXIT_OK;
        }

        private int compaction(Parsed c) throws UsageException {
            if (c.args.size() != 1) throw new UsageException("usage: compaction REV");
            long revision = number(c.args.get(0).text(), "compaction's REV");
            client().compact(revision);
            out.println("compacted revision " + revision);
            return EXIT_OK;
        }

        private int status(Parsed c, Format format) throws UsageException {
            if (!c.args.isEmpty()) throw new UsageException("status takes no arguments");
            List<String> header = List.of("ID", "ADDRESS", "ROLE", "TERM", "LEADER", "COMMIT", "APPLIED", "KEYS");
            List<List<String>> rows = new ArrayList<>();
            StringBuilder json = new StringBuilder("[");
            int answered = 0;
            List<Endpoint> all = endpoints();
            List<ClientResponse.StatusResult> results = statuses(all);
            for (int i = 0; i < all.size(); i++) {
                Endpoint e = all.get(i);
                ClientResponse.StatusResult s = results.get(i);
                if (i > 0) json.append(',');
                json.append("{\"Endpoint\":").append(CtlPrinter.Json.string(hostPort(e.address())));
                if (s == null) {
                    rows.add(List.of(e.id() == null ? "-" : e.id().toString(), hostPort(e.address()), "unreachable", "-", "-", "-", "-", "-"));
                    json.append(",\"Error\":\"unreachable\"}");
                } else {
                    answered++;
                    rows.add(List.of(Integer.toString(s.nodeId()), hostPort(e.address()), s.role(), Long.toString(s.term()),
                            s.leaderId() == 0 ? "-" : Integer.toString(s.leaderId()), Long.toString(s.commit()),
                            Long.toString(s.applied()), Long.toString(s.keys())));
                    // etcd's epStatus shape, with raftkv's fields.
                    json.append(",\"Status\":{\"header\":{\"cluster_id\":0,\"member_id\":").append(s.nodeId())
                            .append(",\"raft_term\":").append(s.term()).append("},\"leader\":").append(s.leaderId())
                            .append(",\"raftIndex\":").append(s.commit()).append(",\"raftTerm\":").append(s.term())
                            .append(",\"raftAppliedIndex\":").append(s.applied()).append(",\"role\":").append(CtlPrinter.Json.string(s.role()))
                            .append(",\"keys\":").append(s.keys()).append("}}");
                }
            }
            switch (format) {
                case SIMPLE -> printColumns(header, rows);
                case TABLE -> CtlPrinter.Table.render(out, header, rows);
                case JSON -> out.println(json.append(']'));
            }
            if (answered == 0) return fail(EXIT_FAILED, "no node answered");
            return EXIT_OK;
        }

        private int snapshot(Parsed c, Format format) throws UsageException {
            if (!c.args.isEmpty() && c.args.get(0).text().equals("restore")) {
                throw new UsageException("raftkvctl does not restore (etcdctl's snapshot restore moved to etcdutl too): "
                        + "use bin/raftkv restore FILE [--config FILE] [--data-dir DIR]");
            }
            if (c.args.size() != 2 || !List.of("save", "status").contains(c.args.get(0).text())) {
                throw new UsageException("usage: snapshot save FILE | snapshot status FILE");
            }
            Path file = Path.of(c.args.get(1).text());
            if (c.args.get(0).text().equals("status")) {
                try {
                    printSnapshotStatus(SnapshotBackup.status(file), format);
                    return EXIT_OK;
                } catch (IOException e) {
                    return fail(EXIT_FAILED, oneLine(e.getMessage()));
                }
            }
            IOException last = null;
            for (Endpoint e : endpoints()) {
                try {
                    SnapshotBackup.Status s = SnapshotBackup.save(e.address(), file, settings.timeout());
                    out.println("Snapshot saved at " + file + " (from " + hostPort(e.address()) + ": revision " + s.revision() + ", "
                            + s.keys() + " keys, " + s.totalBytes() + " bytes)");
                    return EXIT_OK;
                } catch (IOException ex) {
                    last = ex;
                }
            }
            return fail(EXIT_FAILED, "no backup: " + oneLine(last == null ? "no endpoint" : last.getMessage()));
        }

        private void printSnapshotStatus(SnapshotBackup.Status s, Format format) {
            List<String> header = List.of("HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE", "INDEX", "TERM");
            List<String> row = List.of(s.hash(), Long.toString(s.revision()), Long.toString(s.keys()), Long.toString(s.totalBytes()),
                    Long.toString(s.index()), Long.toString(s.term()));
            switch (format) {
                case SIMPLE -> out.println(String.join(", ", row));
                case TABLE -> CtlPrinter.Table.render(out, header, List.of(row));
                // etcdutl's fields, with raftkv's index and term.
                case JSON -> out.println("{\"hash\":" + Integer.toUnsignedLong(s.crc()) + ",\"revision\":" + s.revision() + ",\"totalKey\":" + s.keys()
                        + ",\"totalSize\":" + s.totalBytes() + ",\"index\":" + s.index() + ",\"term\":" + s.term() + "}");
            }
        }

        /**
         * etcdctl's member list, add, remove and promote. The client follows NOT_LEADER to the leader for the changes;
         * the list comes from the node asked. The members answered become the nodes status, leader and snapshot ask.
         */
        private int member(Parsed c, CtlPrinter printer) throws UsageException {
            String usage = "usage: member list | member add ID HOST:PORT [--learner] | member remove ID | member promote ID";
            if (c.args.isEmpty()) throw new UsageException(usage);
            String sub = c.args.get(0).text();
            int wanted = switch (sub) {
                case "list" -> 1;
                case "add" -> 3;
                case "remove", "promote" -> 2;
                default -> throw new UsageException("unknown member command '" + sub + "' (" + usage + ")");
            };
            if (c.flags.containsKey("learner") && !sub.equals("add")) throw new UsageException("--learner is only for member add");
            String peerUrls = c.flags.get("peer-urls");
            if (peerUrls != null && !sub.equals("add")) throw new UsageException("--peer-urls is only for member add");
            if (peerUrls != null) wanted = 2;
            if (c.args.size() != wanted) {
                throw new UsageException(switch (sub) {
                    case "list" -> "member list takes no arguments";
                    case "add" -> peerUrls != null ? "member add with --peer-urls needs one ID (node4 or 4)"
                            : "member add needs an ID and a HOST:PORT (member add ID HOST:PORT [--learner])";
                    default -> "member " + sub + " needs one ID";
                });
            }
            if (sub.equals("list")) {
                MemberList list = client().members();
                followMembers(list);
                printer.memberList(list);
                return EXIT_OK;
            }
            String idText = c.args.get(1).text();
            // etcdctl names a member; raftkv's member names are node<ID>, so that name is accepted for the id.
            int id = memberId(peerUrls != null && idText.startsWith("node") ? idText.substring(4) : idText);
            MemberList list;
            CtlPrinter.MemberChange change;
            if (sub.equals("add")) {
                String address = peerUrls != null ? peerAddress(peerUrls) : c.args.get(2).text();
                String problem = MemberInfo.addressProblem(address);
                if (problem != null) throw new UsageException("member add: " + problem);
                list = client().addMember(id, address, c.on("learner"));
                change = CtlPrinter.MemberChange.ADDED;
            } else if (sub.equals("remove")) {
                list = client().removeMember(id);
                change = CtlPrinter.MemberChange.REMOVED;
            } else {
                list = client().promoteMember(id);
                change = CtlPrinter.MemberChange.PROMOTED;
            }
            followMembers(list);
            printer.memberChange(change, id, list);
            return EXIT_OK;
        }

        /** etcdctl's move-leader: to the leader (the client follows NOT_LEADER), answered once the target leads. */
        private int moveLeader(Parsed c, CtlPrinter printer) throws UsageException {
            if (c.args.size() != 1) throw new UsageException("usage: move-leader ID");
            int target = memberId(c.args.get(0).text());
            MemberList list = client().moveLeader(target);
            followMembers(list);
            printer.leaderMoved(target, list);
            return EXIT_OK;
        }

        /** The members answered, ascending by id, become the nodes this session asks for status, leader and snapshot. */
        private void followMembers(MemberList list) {
            if (list.members().isEmpty()) return;
            List<Endpoint> all = new ArrayList<>();
            for (MemberInfo m : list.members()) all.add(new Endpoint(m.id(), new InetSocketAddress(m.host(), m.port())));
            endpoints = List.copyOf(all);
        }

        /** The node that says it is LEADER in the highest term: a deposed leader may not know yet. */
        private int leader(Parsed c) throws UsageException {
            if (!c.args.isEmpty()) throw new UsageException("leader takes no arguments");
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

        private void printColumns(List<String> header, List<List<String>> rows) {
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

        private List<Endpoint> endpoints() throws UsageException {
            if (endpoints != null) return endpoints;
            List<Endpoint> list = new ArrayList<>();
            if (settings.endpoints() != null) {
                try {
                    for (InetSocketAddress a : RaftKvClient.parseEndpoints(settings.endpoints())) list.add(new Endpoint(null, a));
                } catch (IllegalArgumentException e) {
                    throw new UsageException("bad --endpoints '" + settings.endpoints() + "': expected host:port,... ("
                            + oneLine(e.getMessage()) + ")");
                }
            } else {
                Path file = settings.config() != null ? settings.config() : Path.of("nodes.conf");
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
                client = new RaftKvClient(addresses, settings.timeout());
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

    // ------------------------------------------------------------------ requests from words (commands and txn lines)

    /** etcdctl's getGetOp: a range request from get's arguments and flags. */
    private static RangeRequest rangeRequest(Parsed c, boolean hex) throws UsageException {
        if (c.args.isEmpty() || c.args.size() > 2) throw new UsageException("get needs a KEY and an optional RANGE_END");
        boolean prefix = c.on("prefix");
        boolean fromKey = c.on("from-key");
        if (c.on("keys-only") && c.on("count-only")) {
            throw new UsageException("--keys-only and --count-only cannot be set at the same time, choose one");
        }
        byte[][] range = keyRange(c, hex, prefix, fromKey);
        long limit = c.get("limit") == null ? 0 : number(c.get("limit"), "--limit");
        long revision = c.get("rev") == null ? 0 : number(c.get("rev"), "--rev");
        String order = c.get("order") == null ? "" : c.get("order").toUpperCase(Locale.ROOT);
        RangeRequest.SortOrder sortOrder = switch (order) {
            case "" -> RangeRequest.SortOrder.NONE;
            case "ASCEND" -> RangeRequest.SortOrder.ASCEND;
            case "DESCEND" -> RangeRequest.SortOrder.DESCEND;
            default -> throw new UsageException("bad sort order '" + c.get("order") + "' (ASCEND or DESCEND)");
        };
        String target = c.get("sort-by") == null ? "" : c.get("sort-by").toUpperCase(Locale.ROOT);
        RangeRequest.SortTarget sortTarget = switch (target) {
            case "", "KEY" -> RangeRequest.SortTarget.KEY;
            case "CREATE" -> RangeRequest.SortTarget.CREATE;
            case "MODIFY" -> RangeRequest.SortTarget.MOD;
            case "VALUE" -> RangeRequest.SortTarget.VALUE;
            case "VERSION" -> RangeRequest.SortTarget.VERSION;
            default -> throw new UsageException("bad sort target '" + c.get("sort-by") + "' (CREATE, KEY, MODIFY, VALUE or VERSION)");
        };
        // As etcd's server: sorting by anything but the key without an order sorts ascending.
        if (sortTarget != RangeRequest.SortTarget.KEY && sortOrder == RangeRequest.SortOrder.NONE) sortOrder = RangeRequest.SortOrder.ASCEND;
        String consistency = c.get("consistency");
        if (consistency != null && !consistency.equals("l") && !consistency.equals("s")) {
            throw new UsageException("unknown consistency flag '" + consistency + "' (l for linearizable, s for serializable)");
        }
        if ("l".equals(consistency) && c.on("serializable")) throw new UsageException("--consistency l and --serializable contradict each other");
        boolean serializable = "s".equals(consistency) || c.on("serializable");
        return RangeRequest.range(range[0], range[1]).withLimit(limit).atRevision(revision).sortedBy(sortTarget, sortOrder)
                .serializable(serializable).keysOnly(c.on("keys-only")).countOnly(c.on("count-only"));
    }

    /** etcdctl's getPutOp; the value from the arguments, else {@code --from-file}, else all of {@code stdin} (null: not allowed). */
    private static TxnOp.Put putOp(Parsed c, boolean hex, LineReader stdin) throws UsageException {
        if (c.args.isEmpty() || c.args.size() > 2) throw new UsageException("put needs a KEY and a VALUE (or the value on standard input or from --from-file)");
        byte[] key = bytes(c.args.get(0), hex);
        if (key.length == 0) throw new UsageException("the key must not be empty");
        String file = c.get("from-file");
        byte[] value;
        if (c.args.size() == 2) {
            if (file != null) throw new UsageException("give the VALUE or --from-file, not both");
            value = bytes(c.args.get(1), hex);
        } else if (file != null) {
            value = readFile(Path.of(file));
        } else if (stdin == null) {
            throw new UsageException("put needs a VALUE here (standard input holds the commands): give it, or --from-file PATH");
        } else {
            try {
                value = stdin.readAll(VALUE_BYTES_MAX);
            } catch (IOException e) {
                throw new UsageException("cannot read the value from standard input: " + e.getMessage());
            }
            if (value.length == 0) throw new UsageException("put needs a KEY and a VALUE, or the value on standard input (which is empty)");
        }
        long lease = c.get("lease") == null ? 0 : leaseIdArg(c.get("lease"), true);
        return new TxnOp.Put(key, value, c.on("prev-kv"), lease);
    }

    /** A lease ID as etcdctl takes it: hex (694d5765fc71500b), above 0. */
    private static long leaseIdArg(String s) throws UsageException {
        return leaseIdArg(s, false);
    }

    /** As {@link #leaseIdArg(String)}; {@code zeroMeansNone}: put --lease 0 attaches the key to no lease, as etcdctl's. */
    private static long leaseIdArg(String s, boolean zeroMeansNone) throws UsageException {
        try {
            long id = Long.parseLong(s, 16);
            if (id > 0 || (id == 0 && zeroMeansNone)) return id;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException("bad lease ID arg (" + s + "), expecting ID in Hex");
    }

    /** etcdctl's getDelOp. */
    private static TxnOp.DeleteRange deleteOp(Parsed c, boolean hex) throws UsageException {
        if (c.args.isEmpty() || c.args.size() > 2) throw new UsageException("del needs a KEY and an optional RANGE_END");
        byte[][] range = keyRange(c, hex, c.on("prefix"), c.on("from-key"));
        return new TxnOp.DeleteRange(range[0], range[1], c.on("prev-kv"));
    }

    /** The key and range end that get and del's arguments and --prefix, --from-key name, by etcdctl's rules. */
    private static byte[][] keyRange(Parsed c, boolean hex, boolean prefix, boolean fromKey) throws UsageException {
        if (prefix && fromKey) throw new UsageException("--prefix and --from-key cannot be set at the same time, choose one");
        byte[] key = bytes(c.args.get(0), hex);
        if (c.args.size() > 1) {
            if (prefix || fromKey) throw new UsageException("too many arguments: only one is taken with --prefix or --from-key");
            if (key.length == 0) throw new UsageException("the key must not be empty");
            return new byte[][] {key, bytes(c.args.get(1), hex)};
        }
        if (prefix) {
            RangeRequest r = RangeRequest.prefix(key);
            return new byte[][] {r.key(), r.rangeEnd()};
        }
        if (fromKey) return new byte[][] {key.length == 0 ? RangeRequest.FROM_KEY.clone() : key, RangeRequest.FROM_KEY.clone()};
        if (key.length == 0) throw new UsageException("the key must not be empty");
        return new byte[][] {key, new byte[0]};
    }

    /** A request line of a txn: put, get or del with their flags, as etcdctl's parseRequestUnion. */
    private static TxnOp parseRequest(byte[] line, boolean hex) throws UsageException {
        String shown = new String(line, StandardCharsets.UTF_8);
        Parsed c;
        try {
            c = parse(CtlInput.tokenize(line));
        } catch (UsageException e) {
            throw new UsageException("invalid txn request '" + shown + "': " + e.getMessage());
        }
        if (c.name == null || !Set.of("put", "get", "del").contains(c.name)) {
            throw new UsageException("invalid txn request '" + shown + "': expected put, get or del");
        }
        for (String flag : c.flags.keySet()) {
            if (GLOBAL_FLAGS.stream().anyMatch(f -> f.name().equals(flag)) || flag.equals("print-value-only")) {
                throw new UsageException("invalid txn request '" + shown + "': --" + flag + " has no meaning inside a txn");
            }
        }
        try {
            return switch (c.name) {
                case "put" -> putOp(c, hex, null);
                case "get" -> new TxnOp.Range(rangeRequest(c, hex));
                default -> deleteOp(c, hex);
            };
        } catch (UsageException e) {
            throw new UsageException("invalid txn request '" + shown + "': " + e.getMessage());
        }
    }

    /**
     * A compare line of a txn, etcdctl's {@code target("key") op "value"}: target ver|version, c|create, m|mod
     * (a number in quotes) or val|value (bytes in quotes, Go escapes); op =, !=, < or >.
     */
    static Compare parseCompare(byte[] line, boolean hex) throws UsageException {
        String shown = new String(line, StandardCharsets.UTF_8);
        int open = -1;
        for (int i = 0; i < line.length && open < 0; i++) if (line[i] == '(') open = i;
        if (open < 0) throw malformed(shown, "expected target(\"key\")");
        String target = new String(line, 0, open, StandardCharsets.UTF_8).strip();
        int[] at = {open + 1};
        byte[] key = quoted(line, at, shown, "the key");
        skipSpaces(line, at);
        if (at[0] >= line.length || line[at[0]] != ')') throw malformed(shown, "expected ) after the key");
        at[0]++;
        skipSpaces(line, at);
        int opStart = at[0];
        while (at[0] < line.length && "=!<>".indexOf(line[at[0]]) >= 0) at[0]++;
        String op = new String(line, opStart, at[0] - opStart, StandardCharsets.US_ASCII);
        Compare.Result result = switch (op) {
            case "=" -> Compare.Result.EQUAL;
            case "!=" -> Compare.Result.NOT_EQUAL;
            case "<" -> Compare.Result.LESS;
            case ">" -> Compare.Result.GREATER;
            default -> throw malformed(shown, "expected =, !=, < or > after the key");
        };
        byte[] value = quoted(line, at, shown, "the value");
        skipSpaces(line, at);
        if (at[0] != line.length) throw malformed(shown, "unexpected text after the value");
        if (hex) key = CtlInput.fromHex(new String(key, StandardCharsets.UTF_8));
        if (key.length == 0) throw malformed(shown, "the key must not be empty");
        String number = new String(value, StandardCharsets.UTF_8);
        return switch (target) {
            case "ver", "version" -> Compare.version(key, result, compareNumber(number, shown));
            case "c", "create" -> Compare.createRevision(key, result, compareNumber(number, shown));
            case "m", "mod" -> Compare.modRevision(key, result, compareNumber(number, shown));
            case "val", "value" -> Compare.value(key, result, hex ? CtlInput.fromHex(number) : value);
            case "lease" -> throw malformed(shown, "compares of a key's lease are not supported (value, version, create or mod)");
            default -> throw malformed(shown, "unknown target '" + target + "' (value, version, create or mod)");
        };
    }

    private static byte[] quoted(byte[] line, int[] at, String shown, String what) throws UsageException {
        skipSpaces(line, at);
        if (at[0] >= line.length || line[at[0]] != '"') throw malformed(shown, what + " must be in double quotes");
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            at[0] = CtlInput.unquote(line, at[0], b) + 1;
        } catch (UsageException e) {
            throw malformed(shown, e.getMessage());
        }
        return b.toByteArray();
    }

    private static void skipSpaces(byte[] line, int[] at) {
        while (at[0] < line.length && CtlInput.isSpace(line[at[0]])) at[0]++;
    }

    private static long compareNumber(String s, String shown) throws UsageException {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw malformed(shown, "'" + s + "' is not a number");
        }
    }

    private static UsageException malformed(String line, String why) {
        return new UsageException("malformed comparison '" + line + "': " + why);
    }

    /** A key or value word: its bytes as given, or decoded from hex with --hex. */
    private static byte[] bytes(Word w, boolean hex) throws UsageException {
        return hex ? CtlInput.fromHex(w.text()) : w.bytes();
    }

    /** A member's id: nodes.conf's, a decimal number from 1 (etcdctl's are hex: raftkv's ids are small numbers). */
    /** The one address of etcdctl's --peer-urls: http://HOST:PORT (a node serves peers and clients on one port). */
    private static String peerAddress(String urls) throws UsageException {
        String[] all = urls.split(",");
        if (all.length != 1) throw new UsageException("--peer-urls: a raftkv node has one address, not " + all.length);
        String url = all[0].strip();
        for (String scheme : List.of("http://", "https://")) if (url.startsWith(scheme)) url = url.substring(scheme.length());
        if (url.endsWith("/")) url = url.substring(0, url.length() - 1);
        return url;
    }

    private static int memberId(String s) throws UsageException {
        try {
            int id = Integer.parseInt(s);
            if (id >= 1) return id;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException("a member ID is a number from 1 to " + Integer.MAX_VALUE + ", not '" + s + "'");
    }

    /** A session's --ttl: whole seconds, at least 1 (the cluster raises it to its minimum). */
    private static long ttlSeconds(String s) throws UsageException {
        long ttl = number(s, "--ttl");
        if (ttl < 1) throw new UsageException("--ttl takes a number of seconds >= 1, not '" + s + "'");
        return ttl;
    }

    private static long number(String s, String what) throws UsageException {
        try {
            long n = Long.parseLong(s);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException(what + " takes a number >= 0, not '" + s + "'");
    }

    private static byte[] readFile(Path file) throws UsageException {
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            if (ch.size() > VALUE_BYTES_MAX) throw new UsageException("--from-file " + file + ": larger than " + VALUE_BYTES_MAX + " bytes");
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UsageException("--from-file " + file + ": no such file");
        } catch (IOException e) {
            throw new UsageException("--from-file " + file + ": " + e.getMessage());
        }
    }

    /** The message for a failed request: a refusal names its code (COMPACTED: ...); else whether it may have taken effect. */
    static String describe(RaftKvException e) {
        String detail = oneLine(String.valueOf(e.getMessage()));
        return switch (e.kind()) {
            case REJECTED -> detail;
            case UNAVAILABLE -> "cluster unavailable: " + detail;
            case OUTCOME_UNKNOWN -> "outcome unknown, the write may or may not have been applied: " + detail;
        };
    }

    /** The words of a line as text (the shell's tokenizer, {@link CtlInput#tokenize}, on a line given as text). */
    static List<String> tokenize(String line) throws UsageException {
        return CtlInput.tokenize(line.getBytes(StandardCharsets.UTF_8)).stream().map(Word::text).toList();
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
