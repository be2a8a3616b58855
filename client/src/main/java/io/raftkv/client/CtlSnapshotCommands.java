package io.raftkv.client;

import io.raftkv.client.CtlSession.Endpoint;
import io.raftkv.client.RaftKvCtl.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** etcdctl's snapshot save and status ({@link SnapshotBackup}); restore is bin/raftkv's, as etcdutl's is. */
@Command(name = "snapshot", description = {"snapshot save, status"},
        subcommands = {CtlSnapshotCommands.Save.class, CtlSnapshotCommands.Status.class, CtlSnapshotCommands.Restore.class})
final class CtlSnapshotCommands extends CtlCommand.Group {

    @Command(name = "save", abbreviateSynopsis = true,
            description = {"a backup of the first node that answers, as of now, into FILE (checked whole before it gets its name)"})
    static final class Save extends CtlCommand {
        @Parameters(index = "0", paramLabel = "FILE")
        String file;

        @Override
        int run() throws UsageException {
            CtlSession s = session();
            Path to = Path.of(file);
            IOException last = null;
            for (Endpoint e : s.endpoints()) {
                try {
                    SnapshotBackup.Status saved = SnapshotBackup.save(e.address(), to, s.settings.timeout(), s.settings.tls(), s.settings.user(),
                            s.settings.user() == null ? null : s.password());
                    s.out.println("Snapshot saved at " + to + " (from " + RaftKvCtl.hostPort(e.address()) + ": revision " + saved.revision()
                            + ", " + saved.keys() + " keys, " + saved.totalBytes() + " bytes)");
                    return RaftKvCtl.EXIT_OK;
                } catch (IOException ex) {
                    last = ex;
                }
            }
            return s.fail(RaftKvCtl.EXIT_FAILED, "no backup: " + RaftKvCtl.oneLine(last == null ? "no endpoint" : String.valueOf(last.getMessage())));
        }
    }

    @Command(name = "status", abbreviateSynopsis = true,
            description = {"checks FILE and prints its hash (CRC-32C), revision, keys, size, index, term"})
    static final class Status extends CtlCommand {
        @Parameters(index = "0", paramLabel = "FILE")
        String file;

        @Override
        int run() throws UsageException {
            CtlSession s = session();
            SnapshotBackup.Status status;
            try {
                status = SnapshotBackup.status(Path.of(file));
            } catch (IOException e) {
                return s.fail(RaftKvCtl.EXIT_FAILED, RaftKvCtl.oneLine(String.valueOf(e.getMessage())));
            }
            List<String> header = List.of("HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE", "INDEX", "TERM");
            List<String> row = List.of(status.hash(), Long.toString(status.revision()), Long.toString(status.keys()),
                    Long.toString(status.totalBytes()), Long.toString(status.index()), Long.toString(status.term()));
            switch (format()) {
                case SIMPLE -> s.out.println(String.join(", ", row));
                case TABLE -> CtlPrinter.Table.render(s.out, header, List.of(row));
                // etcdutl's fields, with raftkv's index and term.
                case JSON -> s.out.println("{\"hash\":" + Integer.toUnsignedLong(status.crc()) + ",\"revision\":" + status.revision()
                        + ",\"totalKey\":" + status.keys() + ",\"totalSize\":" + status.totalBytes() + ",\"index\":" + status.index()
                        + ",\"term\":" + status.term() + "}");
            }
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** etcdctl's snapshot restore moved to etcdutl; raftkv's is bin/raftkv restore. */
    @Command(name = "restore", hidden = true)
    static final class Restore extends CtlCommand {
        @Parameters(arity = "0..*")
        List<String> ignored = new ArrayList<>();

        @Override
        int run() throws UsageException {
            throw new UsageException("raftkvctl does not restore (etcdctl's snapshot restore moved to etcdutl too): "
                    + "use bin/raftkv restore FILE [--config FILE] [--data-dir DIR]");
        }
    }
}
