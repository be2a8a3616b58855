package io.raftkv.client;

import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * What every raftkvctl command shares: the session it runs in, the global flags of its command line (-w, --hex),
 * the output formats it prints, and the checks of the words it takes (numbers, lease and member ids, keys as bytes).
 * A command throws {@link UsageException} for a mistake in its words and {@link RaftKvException} for a failed request;
 * {@link CtlSession#execute} turns them into an error line and an exit code.
 */
abstract class CtlCommand implements Callable<Integer> {

    static final Set<Format> ALL_FORMATS = Set.of(Format.SIMPLE, Format.JSON, Format.TABLE);
    /** etcdctl has no table for put, del, txn, watch, lease, lock and elect either. */
    static final Set<Format> NO_TABLE = Set.of(Format.SIMPLE, Format.JSON);

    /** A value read from standard input or a file: the client's frame limit; a node refuses more than its valueBytesMax anyway. */
    static final int VALUE_BYTES_MAX = 8 << 20;

    @Spec
    CommandSpec spec;

    /** The formats this command prints: -w with another is a usage error. */
    Set<Format> formats() {
        return ALL_FORMATS;
    }

    abstract int run() throws UsageException;

    @Override
    public final Integer call() throws UsageException {
        Format format = format();
        if (!formats().contains(format)) {
            throw new UsageException("-w " + format + " is not supported for " + name()
                    + (format == Format.TABLE && formats().size() > 1 ? " (etcdctl has no table for it either)" : ""));
        }
        return run();
    }

    /** The command's name as typed: {@code get}, {@code lease grant}. */
    String name() {
        return spec.qualifiedName(" ").substring("raftkvctl ".length());
    }

    CtlSession session() {
        return ((RaftKvCtl.Root) spec.root().userObject()).session;
    }

    /** -w on this line, else the one raftkvctl started with. */
    Format format() throws UsageException {
        String w = ((RaftKvCtl.Root) spec.root().userObject()).writeOut;
        return w == null ? session().settings.format() : Format.parse(w);
    }

    /** --hex on this line, else the one raftkvctl started with. */
    boolean hex() {
        Boolean hex = ((RaftKvCtl.Root) spec.root().userObject()).hex;
        return hex == null ? session().settings.hex() : hex;
    }

    CtlPrinter printer() throws UsageException {
        return CtlPrinter.of(format(), session().out, hex());
    }

    // ------------------------------------------------------------------ words

    /** A key or value word: its bytes as given, or decoded from hex with --hex. */
    static byte[] bytes(Word w, boolean hex) throws UsageException {
        return hex ? CtlInput.fromHex(w.text()) : w.bytes();
    }

    static long number(String s, String what) throws UsageException {
        try {
            long n = Long.parseLong(s);
            if (n >= 0) return n;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException(what + " takes a number >= 0, not '" + s + "'");
    }

    /** A session's --ttl: whole seconds, at least 1 (the cluster raises it to its minimum). */
    static long ttlSeconds(String s) throws UsageException {
        long ttl = number(s, "--ttl");
        if (ttl < 1) throw new UsageException("--ttl takes a number of seconds >= 1, not '" + s + "'");
        return ttl;
    }

    /** A lease ID as etcdctl takes it: hex (694d5765fc71500b), above 0; {@code zeroMeansNone}: put --lease 0 attaches to none. */
    static long leaseId(String s, boolean zeroMeansNone) throws UsageException {
        try {
            long id = Long.parseLong(s, 16);
            if (id > 0 || (id == 0 && zeroMeansNone)) return id;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException("bad lease ID arg (" + s + "), expecting ID in Hex");
    }

    /** A member's id: nodes.conf's, a decimal number from 1 (etcdctl's are hex: raftkv's ids are small numbers). */
    static int memberId(String s) throws UsageException {
        try {
            int id = Integer.parseInt(s);
            if (id >= 1) return id;
        } catch (NumberFormatException e) {
            // Said below.
        }
        throw new UsageException("a member ID is a number from 1 to " + Integer.MAX_VALUE + ", not '" + s + "'");
    }

    static byte[] readFile(Path file) throws UsageException {
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            if (ch.size() > VALUE_BYTES_MAX) throw new UsageException("--from-file " + file + ": larger than " + VALUE_BYTES_MAX + " bytes");
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new UsageException("--from-file " + file + ": no such file");
        } catch (IOException e) {
            throw new UsageException("--from-file " + file + ": " + e.getMessage());
        }
    }

    /** A command that only groups others (lease, member, snapshot, endpoint): run alone, it says which there are. */
    abstract static class Group extends CtlCommand {
        @Override
        int run() throws UsageException {
            throw new UsageException(name() + " needs a command: " + String.join(", ", spec.subcommands().keySet())
                    + " (see 'raftkvctl " + name() + " --help')");
        }
    }
}
