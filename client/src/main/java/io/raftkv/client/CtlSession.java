package io.raftkv.client;

import io.raftkv.client.CtlInput.LineReader;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.TlsFiles;

import javax.net.ssl.SSLContext;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One run of raftkvctl: the settings its global flags gave at start, standard input and output, the nodes, and the
 * client, made when the first command needs it. The shell runs its lines in one session, so the nodes a member
 * command learns are the ones the next status asks.
 */
final class CtlSession implements AutoCloseable {

    private static final long TIMEOUT_MS_DEFAULT = 5_000;
    private static final double TIMEOUT_SECONDS_MAX = 3_600;

    /** What the global flags given at start-up say: where the cluster is, the deadline, the default output. */
    record Settings(String endpoints, Path config, Duration timeout, Format format, boolean hex, SSLContext tls, String user, String password) {

        static Settings of(RaftKvCtl.Root root) throws UsageException {
            SSLContext tls = tls(root);
            if (root.endpoints != null && root.config != null) throw new UsageException("give --endpoints or --config, not both");
            if (root.timeout != null && root.commandTimeout != null) throw new UsageException("give --timeout or --command-timeout, not both");
            Duration timeout = Duration.ofMillis(TIMEOUT_MS_DEFAULT);
            if (root.timeout != null) timeout = parseTimeout(root.timeout);
            if (root.commandTimeout != null) timeout = parseGoDuration(root.commandTimeout);
            Format format = root.writeOut == null ? Format.SIMPLE : Format.parse(root.writeOut);
            String user = root.user;
            String password = root.password;
            if (password != null && user == null) throw new UsageException("--password needs --user");
            if (user != null && user.indexOf(':') >= 0) {
                if (password != null) throw new UsageException("give the password in --user NAME:PASSWORD or with --password, not both");
                password = user.substring(user.indexOf(':') + 1);
                user = user.substring(0, user.indexOf(':'));
            }
            if (user != null && user.isEmpty()) throw new UsageException("--user needs a user name");
            return new Settings(root.endpoints, root.config == null ? null : Path.of(root.config), timeout, format,
                    root.hex != null && root.hex, tls, user, password);
        }

        /** etcdctl's --cacert, --cert and --key: TLS when --cacert is given, with a client certificate when --cert is. */
        private static SSLContext tls(RaftKvCtl.Root root) throws UsageException {
            if (root.cacert == null) {
                if (root.cert != null || root.key != null) throw new UsageException("--cert and --key need --cacert, which turns TLS on");
                return null;
            }
            if ((root.cert == null) != (root.key == null)) throw new UsageException("give --cert and --key together");
            try {
                return TlsFiles.clientContext(Path.of(root.cacert), root.cert == null ? null : Path.of(root.cert),
                        root.key == null ? null : Path.of(root.key), null);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UsageException("cannot use the TLS files: no such file " + e.getFile());
            } catch (java.io.IOException | RuntimeException e) {
                throw new UsageException("cannot use the TLS files: " + e.getMessage());
            }
        }

        @Override
        public String toString() {
            return "Settings[endpoints=" + endpoints + ", config=" + config + ", timeout=" + timeout + ", user=" + user + "]";
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

    /** A node to talk to; {@code id} is known only when the nodes come from a config file or a member list. */
    record Endpoint(Integer id, InetSocketAddress address) { }

    /** Lines of commands or of a txn: standard input, or the shell's line editor. */
    interface Lines {
        /** The next line, without its end; null at the end of input. {@code prompt} is shown on a terminal. */
        byte[] next(String prompt) throws IOException, UsageException;

        /** The number of the line last read, from 1. */
        long number();
    }

    final Settings settings;
    /** Standard input: a value for put, a txn, or the commands when there is no terminal. */
    final LineReader stdin;
    /** Where a txn's lines come from: the shell's lines inside the shell, else standard input. */
    Lines lines;
    final PrintStream out;
    final PrintStream err;
    /** Prompts are shown: the shell runs on a terminal (or a test says it does). */
    final boolean interactive;
    /** raftkvctl's own process, where a signal must release what a command holds; null in a test JVM. */
    final CtlStopSignal stop;
    /** Commands run as lines of the shell: those that never return are refused, and put's value is not read from standard input. */
    boolean inShell;
    /** Put before error messages: the line number when commands are piped in. */
    String where = "";
    private List<Endpoint> endpoints;
    private RaftKvClient client;
    /** --user's password, once given or asked. */
    private String password;

    CtlSession(Settings settings, LineReader stdin, PrintStream out, PrintStream err, boolean interactive, CtlStopSignal stop) {
        this.settings = settings;
        this.stdin = stdin;
        this.out = out;
        this.err = err;
        this.interactive = interactive;
        this.stop = stop;
        this.lines = new Lines() {
            @Override
            public byte[] next(String prompt) throws IOException, UsageException {
                return stdin.readLine();
            }

            @Override
            public long number() {
                return stdin.lineNumber();
            }
        };
    }

    /** Runs one command; returns its exit code, having printed any error on one line. */
    int execute(Object command) {
        try {
            int code = ((CtlCommand) command).call();
            out.flush();
            return code;
        } catch (UsageException e) {
            return fail(RaftKvCtl.EXIT_USAGE, e.getMessage());
        } catch (RaftKvException e) {
            return fail(RaftKvCtl.EXIT_FAILED, RaftKvCtl.describe(e));
        } catch (RuntimeException e) {
            return fail(RaftKvCtl.EXIT_FAILED, "unexpected " + e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    int fail(int code, String message) {
        out.flush();
        err.println("error: " + where + RaftKvCtl.oneLine(message));
        return code;
    }

    List<Endpoint> endpoints() throws UsageException {
        if (endpoints != null) return endpoints;
        List<Endpoint> list = new ArrayList<>();
        if (settings.endpoints() != null) {
            try {
                for (InetSocketAddress a : RaftKvClient.parseEndpoints(settings.endpoints())) list.add(new Endpoint(null, a));
            } catch (IllegalArgumentException e) {
                throw new UsageException("bad --endpoints '" + settings.endpoints() + "': expected host:port,... ("
                        + RaftKvCtl.oneLine(e.getMessage()) + ")");
            }
        } else {
            Path file = settings.config() != null ? settings.config() : Path.of("nodes.conf");
            ClusterConfig config;
            try {
                config = ClusterConfig.load(file);
            } catch (NoSuchFileException e) {
                throw new UsageException("cannot read the cluster config " + file + ": no such file (give --endpoints HOST:PORT,... or --config FILE)");
            } catch (IOException e) {
                throw new UsageException("cannot read the cluster config " + file + ": " + RaftKvCtl.oneLine(String.valueOf(e.getMessage())));
            } catch (IllegalArgumentException e) {
                throw new UsageException("bad cluster config: " + RaftKvCtl.oneLine(e.getMessage()));
            }
            for (ClusterConfig.Member m : config.members()) list.add(new Endpoint(m.id(), m.address()));
        }
        endpoints = List.copyOf(list);
        return endpoints;
    }

    /**
     * The client, which fails a request at once when every node refuses the connection or is not a raftkv node (see
     * {@link RaftKvClient#unreachableFailsFast}): a user waits for nothing to hear the address is wrong.
     */
    RaftKvClient client() throws UsageException {
        if (client == null) {
            List<InetSocketAddress> addresses = endpoints().stream().map(Endpoint::address).toList();
            RaftKvClient c = new RaftKvClient(addresses, settings.timeout(), settings.tls()).unreachableFailsFast();
            try {
                if (settings.user() != null) c.authenticate(settings.user(), password());
            } catch (RuntimeException | UsageException e) {
                c.close();
                throw e;
            }
            client = c;
        }
        return client;
    }

    /** The password of --user: given with it, or asked on the terminal once (etcdctl asks too). */
    String password() throws UsageException {
        if (password != null) return password;
        if (settings.password() != null) return password = settings.password();
        java.io.Console console = System.console();
        if (console == null) throw new UsageException("--user " + settings.user() + " has no password: give --user NAME:PASSWORD or --password (no terminal to ask on)");
        char[] typed = console.readPassword("Password: ");
        if (typed == null) throw new UsageException("no password given");
        return password = new String(typed);
    }

    /** The members answered, ascending by id, become the nodes this session asks for status, leader and snapshot. */
    void followMembers(MemberList list) {
        if (list.members().isEmpty()) return;
        List<Endpoint> all = new ArrayList<>();
        for (MemberInfo m : list.members()) all.add(new Endpoint(m.id(), new InetSocketAddress(m.host(), m.port())));
        endpoints = List.copyOf(all);
    }

    /** Asks every node at once; null for a node that did not answer within the timeout. */
    List<ClientResponse.StatusResult> statuses(List<Endpoint> all) throws UsageException {
        RaftKvClient c = client();
        List<CompletableFuture<ClientResponse.StatusResult>> asked = new ArrayList<>();
        for (Endpoint e : all) asked.add(c.statusAsync(e.address()).exceptionally(t -> null));
        List<ClientResponse.StatusResult> results = new ArrayList<>();
        for (CompletableFuture<ClientResponse.StatusResult> f : asked) results.add(f.join());
        return results;
    }

    @Override
    public void close() {
        if (client != null) client.close();
    }
}
