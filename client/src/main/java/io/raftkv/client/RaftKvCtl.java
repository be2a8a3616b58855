package io.raftkv.client;

import io.raftkv.client.CtlInput.LineReader;
import io.raftkv.client.CtlInput.Word;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code raftkvctl}: the command-line client, with etcdctl's commands, flags and output formats.
 *
 * <pre>
 * raftkvctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]
 * </pre>
 *
 * The command tree is picocli's: a class per command (CtlKvCommands, CtlTxn, CtlLeaseCommands, CtlClusterCommands,
 * CtlEndpointCommands, CtlSnapshotCommands, CtlHoldCommands, CtlAuthCommands), the global flags declared once here and taken before or
 * after the command (inherited options), a command's own flags before or after its arguments, {@code --} ending them,
 * and {@code raftkvctl COMMAND --help} for each. With a command it runs that one command. Without one it reads commands
 * from standard input ({@link CtlShell}). Exit codes: 0 success, 1 a request failed, 2 a usage error. Every error is
 * one line on standard error.
 *
 * <p>Keys and values are bytes from end to end: arguments are taken as the bytes the caller gave (see
 * {@link CtlInput#programArguments}) and handed to picocli as ISO-8859-1 text, one char per byte, so that a positional
 * {@link Word} gets the bytes back exactly (the converters below); lines of standard input are read as bytes, values
 * from standard input or {@code --from-file} verbatim, and simple output writes them to standard output as they are.
 */
public final class RaftKvCtl {

    static final int EXIT_OK = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;

    /** A command line read from standard input longer than this is refused (values are at most 1 MiB on a node by default). */
    static final int LINE_BYTES_MAX = 4 << 20;

    private RaftKvCtl() {
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        CtlStopSignal stop = CtlStopSignal.install(() -> {
            out.flush();
            err.flush();
        });
        boolean terminal = System.console() != null;
        int code = run(CtlInput.programArguments(args), System.in, out, err, terminal, stop, terminal);
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
        return run(args, in, out, err, interactive, null, false);
    }

    /**
     * {@code stop}: raftkvctl's own process, where Ctrl-C must release a lock (null in a test JVM: see {@link CtlRecipes});
     * {@code terminal}: standard input is a terminal, so the shell edits lines with JLine.
     */
    private static int run(byte[][] args, InputStream in, PrintStream out, PrintStream err, boolean interactive, CtlStopSignal stop,
                           boolean terminal) {
        List<Word> words = new ArrayList<>();
        for (byte[] a : args) words.add(Word.of(a));
        Root root = new Root();
        CommandLine commands = commandLine(root);
        ParseResult parsed;
        CtlSession.Settings settings;
        try {
            parsed = parse(commands, words);
            settings = CtlSession.Settings.of(root);
        } catch (UsageException e) {
            err.println("error: " + oneLine(e.getMessage()));
            return EXIT_USAGE;
        }
        try (CtlSession session = new CtlSession(settings, new LineReader(in, LINE_BYTES_MAX), out, err, interactive, stop)) {
            root.session = session;
            int code;
            if (printHelpIfAsked(parsed, out)) code = EXIT_OK;
            else if (leaf(parsed) == root) code = CtlShell.run(session, commands, terminal);
            else code = session.execute(leaf(parsed));
            out.flush();
            return code;
        }
    }

    /** Runs one line of the shell: the flags that choose the cluster belong to raftkvctl's start, not to a line. */
    static int runLine(CommandLine commands, CtlSession session, List<Word> words) {
        Root root = (Root) commands.getCommand();
        root.session = session;
        ParseResult parsed;
        try {
            parsed = parse(commands, words);
            for (String flag : root.startupFlagsGiven()) throw new UsageException(flag + " is given when raftkvctl starts, not in the shell");
        } catch (UsageException e) {
            return session.fail(EXIT_USAGE, e.getMessage());
        }
        if (printHelpIfAsked(parsed, session.out)) return EXIT_OK;
        if (leaf(parsed) == root) return session.fail(EXIT_USAGE, "no command on the line (see 'help')");
        return session.execute(leaf(parsed));
    }

    // ------------------------------------------------------------------ the command tree

    /** The top of the command tree: the global flags, which every command takes too (picocli's inherited options). */
    @Command(name = "raftkvctl", synopsisHeading = "usage: ", customSynopsis = "raftkvctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]",
            description = {"", "The raftkv client, with etcdctl's commands, flags and output formats."},
            commandListHeading = "%ncommands (raftkvctl COMMAND --help for each; flags as etcdctl's):%n",
            optionListHeading = "%nglobal flags (before or after the command):%n",
            footer = {"",
                    "Without a command, reads commands from standard input: a shell with line editing, history",
                    "(~/.raftkvctl_history) and Tab completion on a terminal (exit or quit to leave), one command per line",
                    "without a prompt otherwise (the exit code is then non-zero if any command failed). Quote words as a",
                    "shell does; double quotes take Go's escapes as etcdctl's txn lines do (put k \"a\\x00b\"). Use -- before",
                    "a KEY or VALUE that starts with -.",
                    "",
                    "exit codes: 0 success, 1 the request failed (the error names its code, e.g. COMPACTED), 2 usage error"},
            subcommands = {CtlKvCommands.Get.class, CtlKvCommands.Put.class, CtlKvCommands.Del.class, CtlTxn.class,
                    CtlKvCommands.Compaction.class, CtlHoldCommands.Watch.class, CtlLeaseCommands.class, CtlHoldCommands.Lock.class,
                    CtlHoldCommands.Elect.class, CtlClusterCommands.Member.class, CtlClusterCommands.MoveLeader.class,
                    CtlClusterCommands.Status.class, CtlClusterCommands.Leader.class, CtlSnapshotCommands.class, CtlEndpointCommands.class,
                    CtlAuthCommands.User.class, CtlAuthCommands.Role.class, CtlAuthCommands.AuthGroup.class, Help.class})
    static final class Root {

        @Option(names = "--endpoints", scope = ScopeType.INHERIT, paramLabel = "HOST:PORT,...", description = "the nodes to talk to")
        String endpoints;

        @Option(names = "--config", scope = ScopeType.INHERIT, paramLabel = "FILE", description = "read the nodes from FILE (default: nodes.conf)")
        String config;

        @Option(names = "--timeout", scope = ScopeType.INHERIT, paramLabel = "SECONDS",
                description = "deadline of each request, retries included (default: 5)")
        String timeout;

        @Option(names = "--command-timeout", scope = ScopeType.INHERIT, paramLabel = "DURATION",
                description = "the same in etcdctl's form: 5s, 500ms")
        String commandTimeout;

        @Option(names = "--user", scope = ScopeType.INHERIT, paramLabel = "NAME[:PASSWORD]",
                description = "authenticate as NAME (asks the password on the terminal unless given here or with --password)")
        String user;

        @Option(names = "--password", scope = ScopeType.INHERIT, paramLabel = "PASSWORD", description = "the password of --user")
        String password;

        @Option(names = {"-w", "--write-out"}, scope = ScopeType.INHERIT, paramLabel = "FORMAT",
                description = "simple (default), json (etcd's: base64 keys and values, the header with revision and raft_term) or table")
        String writeOut;

        @Option(names = "--hex", scope = ScopeType.INHERIT, description = "keys and values given and printed as hex (6b6579 or \\x6b\\x65\\x79)")
        Boolean hex;

        @Option(names = "--cacert", scope = ScopeType.INHERIT, paramLabel = "FILE",
                description = "talk TLS, trusting the CA of FILE (PEM or PKCS#12) only (docs/security.md)")
        String cacert;

        @Option(names = "--cert", scope = ScopeType.INHERIT, paramLabel = "FILE", description = "the client's certificate chain (PEM), with --key")
        String cert;

        @Option(names = "--key", scope = ScopeType.INHERIT, paramLabel = "FILE", description = "the client's private key (PEM, PKCS#8)")
        String key;

        @Option(names = {"-h", "--help"}, scope = ScopeType.INHERIT, usageHelp = true, description = "this help, or the command's")
        boolean help;

        /** The session the commands of this tree run in: set once the global flags are known. */
        CtlSession session;

        List<String> startupFlagsGiven() {
            List<String> given = new ArrayList<>();
            if (endpoints != null) given.add("--endpoints");
            if (config != null) given.add("--config");
            if (timeout != null) given.add("--timeout");
            if (commandTimeout != null) given.add("--command-timeout");
            if (user != null) given.add("--user");
            if (password != null) given.add("--password");
            return given;
        }
    }

    /** {@code help [COMMAND...]}: the usage of raftkvctl, or of a command. */
    @Command(name = "help", description = "this text, or a command's (help lease grant)")
    static final class Help extends CtlCommand {
        @CommandLine.Parameters(paramLabel = "COMMAND", arity = "0..*")
        List<String> command = new ArrayList<>();

        @Override
        int run() throws UsageException {
            CommandLine at = spec.root().commandLine();
            for (String name : command) {
                at = at.getSubcommands().get(name);
                if (at == null) throw new UsageException("unknown command '" + String.join(" ", command) + "' (see 'raftkvctl help')");
            }
            session().out.print(usage(at));
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** The tree of commands on {@code root}, reading words as ISO-8859-1 (one char per byte: see the class comment). */
    static CommandLine commandLine(Root root) {
        CommandLine c = new CommandLine(root);
        c.registerConverter(Word.class, s -> Word.of(s.getBytes(StandardCharsets.ISO_8859_1)));
        c.registerConverter(String.class, RaftKvCtl::text);
        c.setUsageHelpWidth(110);
        c.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST, help -> commandList(c));
        // The commands before the global flags: what to type comes first.
        List<String> order = new ArrayList<>(c.getHelpSectionKeys());
        order.remove(UsageMessageSpec.SECTION_KEY_COMMAND_LIST_HEADING);
        order.remove(UsageMessageSpec.SECTION_KEY_COMMAND_LIST);
        int at = order.indexOf(UsageMessageSpec.SECTION_KEY_OPTION_LIST_HEADING);
        order.addAll(at, List.of(UsageMessageSpec.SECTION_KEY_COMMAND_LIST_HEADING, UsageMessageSpec.SECTION_KEY_COMMAND_LIST));
        c.setHelpSectionKeys(order);
        for (CommandLine sub : c.getSubcommands().values()) commandHelp(sub);
        return c;
    }

    /** A command's help: its synopsis, what it does, its own flags; the global flags are raftkvctl --help's. */
    private static void commandHelp(CommandLine c) {
        UsageMessageSpec usage = c.getCommandSpec().usageMessage();
        usage.synopsisHeading("usage: ").abbreviateSynopsis(true).descriptionHeading("%n").optionListHeading("%nflags:%n").commandListHeading("%ncommands:%n")
                .footer("", "global flags, before or after the command: --endpoints, --config, --timeout, --command-timeout, --user,"
                        + " --password, -w, --hex, -h (see raftkvctl --help)");
        c.getHelpSectionMap().remove(UsageMessageSpec.SECTION_KEY_PARAMETER_LIST);
        c.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_OPTION_LIST, help -> help.optionListExcludingGroups(
                c.getCommandSpec().options().stream().filter(o -> !o.inherited()).toList(), help.createDefaultLayout(),
                help.createShortOptionNameComparator(), help.parameterLabelRenderer()));
        if (c.getCommandSpec().options().stream().allMatch(OptionSpec::inherited)) c.getHelpSectionMap().remove(UsageMessageSpec.SECTION_KEY_OPTION_LIST_HEADING);
        for (CommandLine sub : c.getSubcommands().values()) commandHelp(sub);
    }

    /** Parses a command line into {@code commands}' objects; a mistake in it is a UsageException, said as etcdctl's cobra says it. */
    static ParseResult parse(CommandLine commands, List<Word> words) throws UsageException {
        String[] args = new String[words.size()];
        for (int i = 0; i < args.length; i++) args[i] = new String(words.get(i).bytes(), StandardCharsets.ISO_8859_1);
        try {
            return commands.parseArgs(args);
        } catch (CommandLine.ParameterException e) {
            throw new UsageException(problem(e));
        }
    }

    /** The command the line names, the deepest: the root when it names none. */
    static Object leaf(ParseResult parsed) {
        ParseResult p = parsed;
        while (p.hasSubcommand()) p = p.subcommand();
        return p.commandSpec().userObject();
    }

    private static boolean printHelpIfAsked(ParseResult parsed, PrintStream out) {
        for (ParseResult p = parsed; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
            if (p.isUsageHelpRequested()) {
                ParseResult last = p;
                while (last.hasSubcommand()) last = last.subcommand();
                out.print(usage(last.commandSpec().commandLine()));
                return true;
            }
        }
        return false;
    }

    static String usage(CommandLine c) {
        return c.getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    /** The root's list of commands: every command to run, as {@code member add ID [HOST:PORT]}, with its first line of help. */
    private static String commandList(CommandLine root) {
        List<String[]> rows = new ArrayList<>();
        addCommands(root, rows);
        int width = rows.stream().mapToInt(r -> r[0].length()).max().orElse(0);
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) b.append("  ").append(r[0]).append(" ".repeat(width - r[0].length() + 2)).append(r[1]).append('\n');
        return b.toString();
    }

    private static void addCommands(CommandLine c, List<String[]> rows) {
        for (CommandLine sub : c.getSubcommands().values()) {
            if (sub.getCommandSpec().usageMessage().hidden()) continue;
            if (!sub.getSubcommands().isEmpty()) {
                addCommands(sub, rows);
                continue;
            }
            String name = sub.getCommandSpec().qualifiedName(" ").substring("raftkvctl ".length());
            String params = sub.getCommandSpec().positionalParameters().stream().filter(p -> !p.hidden())
                    .map(p -> p.arity().min() > 0 ? p.paramLabel() : "[" + p.paramLabel() + "]").collect(Collectors.joining(" "));
            String[] description = sub.getCommandSpec().usageMessage().description();
            rows.add(new String[] {params.isEmpty() ? name : name + " " + params, description.length == 0 ? "" : description[0]});
        }
    }

    /** A parse error in the words etcdctl's parser (cobra) uses, naming the command and where to look. */
    private static String problem(CommandLine.ParameterException e) {
        CommandLine at = e.getCommandLine();
        String name = at.getCommandSpec().qualifiedName(" ").substring("raftkvctl".length()).strip();
        String where = name.isEmpty() ? "" : " for " + name;
        if (e instanceof CommandLine.UnmatchedArgumentException u && !u.getUnmatched().isEmpty()) {
            String arg = text(u.getUnmatched().get(0));
            if (arg.startsWith("--")) {
                String flag = arg.substring(2).split("=", 2)[0];
                String hint = name.isEmpty() && anyCommandTakes(at, "--" + flag) ? " (a command's flags go after the command)" : " (see 'raftkvctl help')";
                return "unknown flag --" + flag + where + hint;
            }
            if (arg.startsWith("-") && arg.length() > 1) return "unknown shorthand flag '" + arg.charAt(1) + "' in " + arg + where;
            if (name.isEmpty()) return "unknown command '" + arg + "' (see 'raftkvctl help')";
            if (!at.getSubcommands().isEmpty()) return "unknown " + name + " command '" + arg + "' (see 'raftkvctl " + name + " --help')";
            return "too many arguments" + where + ": '" + arg + "' (see 'raftkvctl " + name + " --help')";
        }
        if (e instanceof CommandLine.MissingParameterException m && !m.getMissing().isEmpty()) {
            ArgSpec missing = m.getMissing().get(0);
            if (missing instanceof OptionSpec o) return "flag " + o.longestName() + " needs a value";
            String labels = m.getMissing().stream().map(ArgSpec::paramLabel).collect(Collectors.joining(" and "));
            return name + " needs " + labels + " (see 'raftkvctl " + name + " --help')";
        }
        return text(e.getMessage());
    }

    private static boolean anyCommandTakes(CommandLine c, String flag) {
        for (CommandLine sub : c.getSubcommands().values()) {
            if (sub.getCommandSpec().findOption(flag) != null && !sub.getCommandSpec().findOption(flag).inherited()) return true;
            if (anyCommandTakes(sub, flag)) return true;
        }
        return false;
    }

    /** Text handed to picocli as ISO-8859-1 (see the class comment) as the UTF-8 it was; other text as it is. */
    static String text(String latin1) {
        for (int i = 0; i < latin1.length(); i++) if (latin1.charAt(i) > 0xff) return latin1;
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ shared with the commands

    /** A mistake in how raftkvctl was called: exit code 2. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
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

    static String hostPort(java.net.InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    static String oneLine(String s) {
        return s.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
    }
}
