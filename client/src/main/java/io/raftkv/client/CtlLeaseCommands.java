package io.raftkv.client;

import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/** etcdctl's lease grant, revoke, keep-alive, timetolive and list; lease IDs in hex, as etcdctl prints them. No table, as etcdctl. */
@Command(name = "lease", description = {"lease grant, revoke, keep-alive, timetolive, list"},
        subcommands = {CtlLeaseCommands.Grant.class, CtlLeaseCommands.Revoke.class, CtlLeaseCommands.KeepAlive.class,
                CtlLeaseCommands.TimeToLive.class, CtlLeaseCommands.LeaseList.class})
final class CtlLeaseCommands extends CtlCommand.Group {

    abstract static class LeaseCommand extends CtlCommand {
        @Override
        Set<Format> formats() {
            return NO_TABLE;
        }
    }

    @Command(name = "grant", abbreviateSynopsis = true,
            description = {"grants a lease of TTL seconds (raised to the cluster's minimum): lease 694d5765fc71500b granted with TTL(10s)"})
    static final class Grant extends LeaseCommand {
        @Parameters(index = "0", paramLabel = "TTL")
        String ttl;

        @Override
        int run() throws UsageException {
            long seconds = number(ttl, "lease grant's TTL");
            printer().leaseGranted(session().client().grant(seconds));
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "revoke", abbreviateSynopsis = true, description = {"ends lease ID (hex) and deletes its keys, in one revision"})
    static final class Revoke extends LeaseCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        int run() throws UsageException {
            long lease = leaseId(id, false);
            printer().leaseRevoked(lease, session().client().revoke(lease));
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "timetolive", abbreviateSynopsis = true,
            description = {"its granted and remaining TTL (\"already expired\" when there is no such lease)"})
    static final class TimeToLive extends LeaseCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Option(names = "--keys", description = "and its keys")
        boolean keys;

        @Override
        int run() throws UsageException {
            long lease = leaseId(id, false);
            ClientResponse.LeaseResult r;
            try {
                r = session().client().timeToLive(lease, keys);
            } catch (RaftKvException e) {
                if (e.errorCode() != ErrorCode.LEASE_NOT_FOUND) throw e;
                r = null; // etcd answers TTL -1, and etcdctl prints "already expired"
            }
            printer().leaseTimeToLive(lease, r, keys);
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "list", abbreviateSynopsis = true, description = {"every lease's ID"})
    static final class LeaseList extends LeaseCommand {
        @Override
        int run() throws UsageException {
            printer().leaseList(session().client().leases());
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "keep-alive", abbreviateSynopsis = true,
            description = {"keeps lease ID alive, printing each renewal, until Ctrl-C; \"expired or revoked\" when the cluster says it is gone"})
    static final class KeepAlive extends LeaseCommand {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Option(names = "--once", description = "renews it once")
        boolean once;

        @Override
        int run() throws UsageException {
            long lease = leaseId(id, false);
            CtlPrinter printer = printer();
            if (once) {
                printer.leaseKeptAlive(session().client().keepAliveOnce(lease));
                return RaftKvCtl.EXIT_OK;
            }
            if (session().inShell) throw new UsageException("lease keep-alive runs until Ctrl-C: run it as a command of its own, or give --once");
            return keepAlive(lease, printer);
        }

        /**
         * etcdctl's lease keep-alive: a keepalive now, then one a third of the TTL after each answer, each printed, until
         * Ctrl-C (an interrupt) or until the cluster says the lease is gone ("expired or revoked.", exit code 0 as etcdctl).
         * A keepalive no node could serve in time is an error line, and the next one is tried.
         */
        private int keepAlive(long lease, CtlPrinter printer) throws UsageException {
            CtlSession s = session();
            RaftKvClient c = s.client();
            while (!Thread.currentThread().isInterrupted()) {
                long pauseMs;
                try {
                    ClientResponse.LeaseResult r = c.keepAliveOnce(lease);
                    synchronized (s.out) {
                        printer.leaseKeptAlive(r);
                        s.out.flush();
                    }
                    pauseMs = Math.max(1, r.ttlSeconds() * 1000 / 3);
                } catch (RaftKvException e) {
                    if (Thread.currentThread().isInterrupted()) break;
                    if (e.errorCode() == ErrorCode.LEASE_NOT_FOUND) {
                        s.out.println("lease " + CtlPrinter.leaseId(lease) + " expired or revoked.");
                        return RaftKvCtl.EXIT_OK;
                    }
                    if (e.kind() == RaftKvException.Kind.REJECTED) return s.fail(RaftKvCtl.EXIT_FAILED, RaftKvCtl.describe(e));
                    s.fail(RaftKvCtl.EXIT_FAILED, RaftKvCtl.describe(e));
                    pauseMs = LeaseKeepAlive.RETRY_MS;
                }
                LockSupport.parkNanos(pauseMs * 1_000_000L);
            }
            return RaftKvCtl.EXIT_OK;
        }
    }
}
