package io.raftkv.client;

import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * etcdctl's txn: compares, a blank line, the success requests, a blank line, the failure requests, each line trimmed;
 * the end of input ends the part being read (etcdctl 3.6 wants the blank lines). Every line is read before any is
 * judged, so that in the shell a mistake does not leave the rest to run as commands. A request line is parsed by the
 * same command tree as raftkvctl's own command line (etcdctl reuses its command parser there too).
 */
@Command(name = "txn", abbreviateSynopsis = true,
        description = {"reads a transaction from standard input: compares, a blank line, the requests if they all hold, a blank line,",
                "the requests if not. Compares: value|version|create|mod(\"KEY\") =|!=|<|> \"VALUE\"; requests: put KEY VALUE,",
                "get KEY [flags], del KEY [flags]; e.g. printf 'mod(\"counter\") = \"5\"\\n\\nput counter 6\\n\\nget counter\\n' | raftkvctl txn"})
final class CtlTxn extends CtlCommand {

    /** Lines of one txn section (compares, success or failure requests); a node bounds the operations of a txn far below. */
    private static final int TXN_LINES_MAX = 10_000;

    @Option(names = {"-i", "--interactive"}, description = "prompts for each part, as etcdctl's")
    boolean interactive;

    @Override
    Set<Format> formats() {
        return NO_TABLE;
    }

    @Override
    int run() throws UsageException {
        CtlSession s = session();
        boolean hex = hex();
        boolean prompt = interactive || (s.inShell && s.interactive);
        String[] titles = {"compares:", "success requests (get, put, del):", "failure requests (get, put, del):"};
        List<List<byte[]>> parts = new ArrayList<>();
        UsageException problem = null;
        boolean ended = false;
        for (String title : titles) {
            List<byte[]> lines = new ArrayList<>();
            parts.add(lines);
            if (ended) continue;
            if (prompt) {
                s.out.println(title);
                s.out.flush();
            }
            while (true) {
                byte[] line;
                try {
                    line = s.lines.next("");
                } catch (UsageException e) {
                    if (problem == null) problem = e;
                    continue;
                } catch (IOException e) {
                    return s.fail(RaftKvCtl.EXIT_FAILED, "cannot read the txn from standard input: " + e.getMessage());
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
        CommandLine requests = RaftKvCtl.commandLine(new RaftKvCtl.Root());
        List<TxnOp> success = new ArrayList<>();
        for (byte[] line : parts.get(1)) success.add(parseRequest(requests, line, hex));
        List<TxnOp> failure = new ArrayList<>();
        for (byte[] line : parts.get(2)) failure.add(parseRequest(requests, line, hex));
        ClientResponse.TxnResult r = s.client().txn(new TxnRequest(compares, success, failure));
        printer().txn(r, r.succeeded() ? success : failure);
        return RaftKvCtl.EXIT_OK;
    }

    /** A request line of a txn: put, get or del with their flags, as etcdctl's parseRequestUnion. */
    private static TxnOp parseRequest(CommandLine requests, byte[] line, boolean hex) throws UsageException {
        String shown = new String(line, StandardCharsets.UTF_8);
        RaftKvCtl.Root root = (RaftKvCtl.Root) requests.getCommand();
        try {
            Object request = RaftKvCtl.leaf(RaftKvCtl.parse(requests, CtlInput.tokenize(line)));
            List<String> global = new ArrayList<>(root.startupFlagsGiven());
            if (root.writeOut != null) global.add("--write-out");
            if (root.hex != null) global.add("--hex");
            if (root.help) global.add("--help");
            if (request instanceof CtlKvCommands.Get g && g.printValueOnly) global.add("--print-value-only");
            if (!global.isEmpty()) throw new UsageException(global.get(0) + " has no meaning inside a txn");
            if (request instanceof CtlKvCommands.Put p) return p.op(hex, null);
            if (request instanceof CtlKvCommands.Get g) return new TxnOp.Range(g.request(hex));
            if (request instanceof CtlKvCommands.Del d) return d.op(hex);
            throw new UsageException("expected put, get or del");
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
}
