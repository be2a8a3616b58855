package io.raftkv.client;

import io.raftkv.client.CtlInput.LineReader;
import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** etcdctl's key/value commands: get, put, del and compaction; get, put and del are also the requests of a txn. */
final class CtlKvCommands {

    private CtlKvCommands() {
    }

    /** A key or range: KEY, or [KEY, RANGE_END), or the keys under KEY with --prefix, or from KEY on with --from-key. */
    abstract static class Ranged extends CtlCommand {
        @Parameters(index = "0", paramLabel = "KEY")
        Word key;

        @Parameters(index = "1", arity = "0..1", paramLabel = "RANGE_END")
        Word rangeEnd;

        @Option(names = "--prefix", description = "every key starting with KEY")
        boolean prefix;

        @Option(names = "--from-key", description = "every key from KEY on (by byte order)")
        boolean fromKey;

        byte[][] keyRange(boolean hex) throws UsageException {
            return CtlKvCommands.keyRange(key, rangeEnd, prefix, fromKey, hex);
        }
    }

    /** The key and range end that KEY, RANGE_END, --prefix and --from-key name, by etcdctl's rules. */
    static byte[][] keyRange(Word key, Word rangeEnd, boolean prefix, boolean fromKey, boolean hex) throws UsageException {
        if (prefix && fromKey) throw new UsageException("--prefix and --from-key cannot be set at the same time, choose one");
        byte[] k = CtlCommand.bytes(key, hex);
        if (rangeEnd != null) {
            if (prefix || fromKey) throw new UsageException("too many arguments: only one is taken with --prefix or --from-key");
            if (k.length == 0) throw new UsageException("the key must not be empty");
            return new byte[][] {k, CtlCommand.bytes(rangeEnd, hex)};
        }
        if (prefix) {
            RangeRequest r = RangeRequest.prefix(k);
            return new byte[][] {r.key(), r.rangeEnd()};
        }
        if (fromKey) return new byte[][] {k.length == 0 ? RangeRequest.FROM_KEY.clone() : k, RangeRequest.FROM_KEY.clone()};
        if (k.length == 0) throw new UsageException("the key must not be empty");
        return new byte[][] {k, new byte[0]};
    }

    @Command(name = "get", abbreviateSynopsis = true, description = {"the key, or the keys in [KEY, RANGE_END): each key, then its value (linearizable)"})
    static final class Get extends Ranged {
        @Option(names = "--limit", paramLabel = "N", description = "at most N keys")
        String limit;

        @Option(names = "--keys-only", description = "keys without values")
        boolean keysOnly;

        @Option(names = "--count-only", description = "the number of keys only")
        boolean countOnly;

        @Option(names = "--rev", paramLabel = "R", description = "as of revision R")
        String rev;

        @Option(names = "--sort-by", paramLabel = "TARGET", description = "KEY, CREATE, MODIFY, VALUE or VERSION")
        String sortBy;

        @Option(names = "--order", paramLabel = "ORDER", description = "ASCEND or DESCEND")
        String order;

        @Option(names = "--print-value-only", description = "values only (simple output)")
        boolean printValueOnly;

        @Option(names = "--consistency", paramLabel = "l|s",
                description = "linearizable (default) or serializable: the node asked answers from its own copy, which may be stale")
        String consistency;

        @Option(names = "--serializable", description = "the same as --consistency s")
        boolean serializable;

        @Override
        int run() throws UsageException {
            Format format = format();
            if (printValueOnly && format != Format.SIMPLE) throw new UsageException("--print-value-only is only for -w simple");
            RangeRequest request = request(hex());
            ClientResponse.RangeResult r = session().client().rangeAll(request);
            printer().get(r.header(), new OpResult.Range(r.kvs(), r.more(), r.count()), request, printValueOnly);
            return RaftKvCtl.EXIT_OK;
        }

        /** etcdctl's getGetOp: a range request from get's arguments and flags. */
        RangeRequest request(boolean hex) throws UsageException {
            if (keysOnly && countOnly) throw new UsageException("--keys-only and --count-only cannot be set at the same time, choose one");
            byte[][] range = keyRange(hex);
            long limitN = limit == null ? 0 : number(limit, "--limit");
            long revision = rev == null ? 0 : number(rev, "--rev");
            String o = order == null ? "" : order.toUpperCase(Locale.ROOT);
            RangeRequest.SortOrder sortOrder = switch (o) {
                case "" -> RangeRequest.SortOrder.NONE;
                case "ASCEND" -> RangeRequest.SortOrder.ASCEND;
                case "DESCEND" -> RangeRequest.SortOrder.DESCEND;
                default -> throw new UsageException("bad sort order '" + order + "' (ASCEND or DESCEND)");
            };
            String target = sortBy == null ? "" : sortBy.toUpperCase(Locale.ROOT);
            RangeRequest.SortTarget sortTarget = switch (target) {
                case "", "KEY" -> RangeRequest.SortTarget.KEY;
                case "CREATE" -> RangeRequest.SortTarget.CREATE;
                case "MODIFY" -> RangeRequest.SortTarget.MOD;
                case "VALUE" -> RangeRequest.SortTarget.VALUE;
                case "VERSION" -> RangeRequest.SortTarget.VERSION;
                default -> throw new UsageException("bad sort target '" + sortBy + "' (CREATE, KEY, MODIFY, VALUE or VERSION)");
            };
            // As etcd's server: sorting by anything but the key without an order sorts ascending.
            if (sortTarget != RangeRequest.SortTarget.KEY && sortOrder == RangeRequest.SortOrder.NONE) sortOrder = RangeRequest.SortOrder.ASCEND;
            if (consistency != null && !consistency.equals("l") && !consistency.equals("s")) {
                throw new UsageException("unknown consistency flag '" + consistency + "' (l for linearizable, s for serializable)");
            }
            if ("l".equals(consistency) && serializable) throw new UsageException("--consistency l and --serializable contradict each other");
            boolean stale = "s".equals(consistency) || serializable;
            return RangeRequest.range(range[0], range[1]).withLimit(limitN).atRevision(revision).sortedBy(sortTarget, sortOrder)
                    .serializable(stale).keysOnly(keysOnly).countOnly(countOnly);
        }
    }

    @Command(name = "put", abbreviateSynopsis = true, description = {"writes VALUE (read from standard input when not given); prints OK"})
    static final class Put extends CtlCommand {
        @Parameters(index = "0", paramLabel = "KEY")
        Word key;

        @Parameters(index = "1", arity = "0..1", paramLabel = "VALUE")
        Word value;

        @Option(names = "--prev-kv", description = "also print the key as it was")
        boolean prevKv;

        @Option(names = "--from-file", paramLabel = "PATH", description = "the value is the file's bytes")
        String fromFile;

        @Option(names = "--lease", paramLabel = "ID",
                description = "attaches the key to lease ID (hex, as lease grant prints it); without it a put detaches the key from its lease")
        String lease;

        @Override
        Set<Format> formats() {
            return NO_TABLE;
        }

        @Override
        int run() throws UsageException {
            CtlSession s = session();
            TxnOp.Put op = op(hex(), s.inShell ? null : s.stdin);
            CtlPrinter printer = printer();
            if (op.lease() != 0) {
                ClientResponse.TxnResult t = s.client().txn(new TxnRequest(List.of(), List.of(op), List.of()));
                printer.put(t.header(), (OpResult.Put) t.results().get(0));
                return RaftKvCtl.EXIT_OK;
            }
            WithHeader<OpResult.Put> r = s.client().put(op.key(), op.value(), op.prevKv());
            printer.put(r.header(), r.value());
            return RaftKvCtl.EXIT_OK;
        }

        /** etcdctl's getPutOp; the value from the arguments, else {@code --from-file}, else all of {@code stdin} (null: not allowed). */
        TxnOp.Put op(boolean hex, LineReader stdin) throws UsageException {
            byte[] k = bytes(key, hex);
            if (k.length == 0) throw new UsageException("the key must not be empty");
            byte[] v;
            if (value != null) {
                if (fromFile != null) throw new UsageException("give the VALUE or --from-file, not both");
                v = bytes(value, hex);
            } else if (fromFile != null) {
                v = readFile(Path.of(fromFile));
            } else if (stdin == null) {
                throw new UsageException("put needs a VALUE here (standard input holds the commands): give it, or --from-file PATH");
            } else {
                try {
                    v = stdin.readAll(VALUE_BYTES_MAX);
                } catch (IOException e) {
                    throw new UsageException("cannot read the value from standard input: " + e.getMessage());
                }
                if (v.length == 0) throw new UsageException("put needs a KEY and a VALUE, or the value on standard input (which is empty)");
            }
            long leaseId = lease == null ? 0 : leaseId(lease, true);
            return new TxnOp.Put(k, v, prevKv, leaseId);
        }
    }

    @Command(name = "del", abbreviateSynopsis = true, description = {"deletes the key or range; prints the number deleted"})
    static final class Del extends Ranged {
        @Option(names = "--prev-kv", description = "also print each key deleted, with its value")
        boolean prevKv;

        /** etcdctl's way to skip its 2-second pause before a ranged delete; raftkvctl never pauses. */
        @Option(names = "--range", hidden = true)
        boolean range;

        @Override
        Set<Format> formats() {
            return NO_TABLE;
        }

        @Override
        int run() throws UsageException {
            TxnOp.DeleteRange op = op(hex());
            WithHeader<OpResult.DeleteRange> r = session().client().deleteRange(op.key(), op.rangeEnd(), op.prevKv());
            printer().del(r.header(), r.value());
            return RaftKvCtl.EXIT_OK;
        }

        /** etcdctl's getDelOp. */
        TxnOp.DeleteRange op(boolean hex) throws UsageException {
            byte[][] r = keyRange(hex);
            return new TxnOp.DeleteRange(r[0], r[1], prevKv);
        }
    }

    /** etcdctl prints "compacted revision N" whatever -w says; so does raftkvctl. */
    @Command(name = "compaction", abbreviateSynopsis = true, description = {"drops the history before revision REV"})
    static final class Compaction extends CtlCommand {
        @Parameters(index = "0", paramLabel = "REV")
        String revision;

        @Override
        int run() throws UsageException {
            long rev = number(revision, "compaction's REV");
            session().client().compact(rev);
            session().out.println("compacted revision " + rev);
            return RaftKvCtl.EXIT_OK;
        }
    }
}
