package io.raftkv.client;

import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.WatchRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.IParameterConsumer;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.Stack;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The commands that hold until Ctrl-C: watch, lock and elect. The shell refuses them (a line must return). No table,
 * as etcdctl.
 */
final class CtlHoldCommands {

    private CtlHoldCommands() {
    }

    abstract static class Holding extends CtlCommand {
        @Override
        Set<Format> formats() {
            return NO_TABLE;
        }

        void refuseInShell(String why) throws UsageException {
            if (session().inShell) throw new UsageException(why);
        }

        CtlRecipes recipes() throws UsageException {
            CtlSession s = session();
            return new CtlRecipes(s.client(), s.out, s.err, printer(), s.stop, s::fail);
        }
    }

    /**
     * etcdctl's watch: prints each event as it comes until Ctrl-C (or an interrupt), or until the watch ends (its
     * start revision was compacted: exit code 1 with the compact revision).
     */
    @Command(name = "watch", abbreviateSynopsis = true,
            description = {"prints each change as it comes (type, then key and value; with --prev-kv the previous key and value before them) until Ctrl-C"})
    static final class Watch extends Holding {
        @Parameters(index = "0", paramLabel = "KEY")
        Word key;

        @Parameters(index = "1", arity = "0..1", paramLabel = "RANGE_END")
        Word rangeEnd;

        @Option(names = "--prefix", description = "every key starting with KEY")
        boolean prefix;

        @Option(names = "--rev", paramLabel = "R", description = "from revision R: the history first")
        String rev;

        @Option(names = "--prev-kv", description = "each event with the key as it was")
        boolean prevKv;

        @Option(names = "--progress-notify", description = "progress notifications from the node")
        boolean progressNotify;

        @Override
        int run() throws UsageException {
            refuseInShell("watch runs until Ctrl-C: run it as a command of its own (raftkvctl watch KEY ...)");
            byte[][] range = CtlKvCommands.keyRange(key, rangeEnd, prefix, false, hex());
            long from = rev == null ? 0 : number(rev, "--rev");
            CtlSession s = session();
            CtlPrinter printer = printer();
            WatchRequest request = new WatchRequest(0, range[0], range[1], from, prevKv, false, false, progressNotify);
            CompletableFuture<String> ended = new CompletableFuture<>();
            try (Watcher ignored = s.client().watch(request, new WatchListener() {
                @Override
                public void onEvents(WatchResponse response) {
                    synchronized (s.out) {
                        printer.watch(response);
                        s.out.flush();
                    }
                }

                @Override
                public void onCanceled(long compactRevision, String reason) {
                    ended.complete(reason);
                }
            })) {
                return s.fail(RaftKvCtl.EXIT_FAILED, "watch ended: " + ended.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return RaftKvCtl.EXIT_OK;
            } catch (ExecutionException e) {
                return s.fail(RaftKvCtl.EXIT_FAILED, "watch ended: " + e.getCause());
            }
        }
    }

    /** Takes every word from COMMAND on as it is, flags included: they are COMMAND's, not raftkvctl's. */
    static final class Verbatim implements IParameterConsumer {
        @Override
        public void consumeParameters(Stack<String> args, ArgSpec argSpec, CommandSpec commandSpec) {
            List<Word> words = new ArrayList<>();
            while (!args.isEmpty()) words.add(Word.of(args.pop().getBytes(StandardCharsets.ISO_8859_1)));
            argSpec.setValue(words);
        }
    }

    /** etcdctl's lock NAME [COMMAND ARGS...] (CtlRecipes). */
    @Command(name = "lock", abbreviateSynopsis = true,
            description = {"takes lock NAME and holds it: prints the lock's key and holds it until Ctrl-C, or runs COMMAND while holding it",
                    "(ETCD_LOCK_KEY and ETCD_LOCK_REV in its environment) and exits with its code; words after COMMAND are its own"})
    static final class Lock extends Holding {
        @Parameters(index = "0", paramLabel = "NAME")
        Word lockName;

        @Parameters(index = "1", arity = "0..*", paramLabel = "COMMAND", parameterConsumer = Verbatim.class)
        List<Word> command = new ArrayList<>();

        @Option(names = "--ttl", paramLabel = "SECONDS",
                description = "the session's lease (default 10): how long the lock outlives a raftkvctl that dies without releasing it")
        String ttl;

        @Override
        int run() throws UsageException {
            refuseInShell("lock holds until Ctrl-C: run it as a command of its own (raftkvctl lock NAME ...)");
            byte[] name = bytes(lockName, hex());
            if (name.length == 0) throw new UsageException("lock needs a NAME that is not empty");
            long seconds = ttl == null ? CtlRecipes.LOCK_TTL_SECONDS_DEFAULT : ttlSeconds(ttl);
            return recipes().lock(name, command, seconds);
        }
    }

    /** etcdctl's elect NAME [PROPOSAL] and elect -l NAME (CtlRecipes). */
    @Command(name = "elect", abbreviateSynopsis = true,
            description = {"with PROPOSAL: campaigns in election NAME, prints the leader's key and value once elected, leads until Ctrl-C,",
                    "then resigns; without (or with -l): prints each leader's key and value as it comes, until Ctrl-C"})
    static final class Elect extends Holding {
        @Parameters(index = "0", paramLabel = "NAME")
        Word electionName;

        @Parameters(index = "1", arity = "0..1", paramLabel = "PROPOSAL")
        Word proposal;

        @Option(names = "--ttl", paramLabel = "SECONDS", description = "the session's lease (default 60)")
        String ttl;

        @Option(names = {"-l", "--listen"}, description = "observes only")
        boolean listen;

        @Override
        int run() throws UsageException {
            refuseInShell("elect holds until Ctrl-C: run it as a command of its own (raftkvctl elect NAME ...)");
            boolean hex = hex();
            byte[] name = bytes(electionName, hex);
            if (name.length == 0) throw new UsageException("elect needs a NAME that is not empty");
            if (proposal == null) {
                if (ttl != null) throw new UsageException("--ttl is for a campaign: an observer (no PROPOSAL) has no session");
                return recipes().observe(name);
            }
            if (listen) throw new UsageException("-l observes: it takes no PROPOSAL");
            long seconds = ttl == null ? CtlRecipes.ELECT_TTL_SECONDS_DEFAULT : ttlSeconds(ttl);
            return recipes().campaign(name, bytes(proposal, hex), seconds);
        }
    }
}
