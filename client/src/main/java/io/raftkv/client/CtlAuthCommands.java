package io.raftkv.client;

import io.raftkv.client.CtlInput.Word;
import io.raftkv.client.CtlPrinter.Format;
import io.raftkv.client.RaftKvCtl.UsageException;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.Console;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * etcdctl's user, role and auth commands (docs/auth.md), with etcdctl's output lines ("User app created", "Role app
 * updated", "Authentication Enabled"). Simple output only. Passwords are asked on the terminal, twice for a new one,
 * unless given as NAME:PASSWORD, with --new-user-password, or on a line of standard input with --interactive=false.
 */
final class CtlAuthCommands {

    private CtlAuthCommands() {
    }

    abstract static class AuthCommand extends CtlCommand {
        @Override
        Set<Format> formats() {
            return Set.of(Format.SIMPLE);
        }

        Auth auth() throws UsageException {
            return session().client().auth();
        }

        PrintStream out() {
            return session().out;
        }
    }

    // ------------------------------------------------------------------ user

    @Command(name = "user", description = {"user add, delete, get, list, passwd, grant-role, revoke-role"},
            subcommands = {UserAdd.class, UserDelete.class, UserGet.class, UserList.class, UserPasswd.class, UserGrantRole.class, UserRevokeRole.class})
    static final class User extends CtlCommand.Group {
    }

    @Command(name = "add", abbreviateSynopsis = true, description = {"adds user NAME (NAME:PASSWORD gives the password): User NAME created"})
    static final class UserAdd extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME[:PASSWORD]")
        String user;

        @Option(names = "--new-user-password", paramLabel = "PASSWORD", description = "the password, from the command line")
        String newPassword;

        @Option(names = "--interactive", arity = "1", paramLabel = "true|false", description = "ask on the terminal (default), or read a line of standard input")
        boolean interactive = true;

        @Override
        int run() throws UsageException {
            String name = user;
            String password = newPassword;
            int colon = user.indexOf(':');
            if (password == null && colon >= 0) {
                name = user.substring(0, colon);
                password = user.substring(colon + 1);
                if (name.isEmpty()) throw new UsageException("empty user name is not allowed");
            }
            if (password == null) password = newPassword(session(), name, interactive);
            auth().userAdd(name, password);
            out().println("User " + name + " created");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "delete", abbreviateSynopsis = true, description = {"deletes user NAME"})
    static final class UserDelete extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        int run() throws UsageException {
            auth().userDelete(name);
            out().println("User " + name + " deleted");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "get", abbreviateSynopsis = true, description = {"user NAME's roles; --detail: and each role's permissions"})
    static final class UserGet extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--detail", description = "show the permissions of the user's roles")
        boolean detail;

        @Override
        int run() throws UsageException {
            Auth auth = auth();
            List<String> roles = auth.userGet(name);
            out().println("User: " + name);
            if (!detail) {
                StringBuilder line = new StringBuilder("Roles:");
                for (String role : roles) line.append(' ').append(role);
                out().println(line);
                return RaftKvCtl.EXIT_OK;
            }
            for (String role : roles) {
                out().println();
                printRole(out(), role, auth.roleGet(role));
            }
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "list", abbreviateSynopsis = true, description = {"every user, a line each"})
    static final class UserList extends AuthCommand {
        @Override
        int run() throws UsageException {
            for (String user : auth().userList()) out().println(user);
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "passwd", abbreviateSynopsis = true, description = {"changes user NAME's password: Password updated"})
    static final class UserPasswd extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--interactive", arity = "1", paramLabel = "true|false", description = "ask on the terminal (default), or read a line of standard input")
        boolean interactive = true;

        @Override
        int run() throws UsageException {
            auth().userChangePassword(name, newPassword(session(), name, interactive));
            out().println("Password updated");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "grant-role", abbreviateSynopsis = true, description = {"grants role ROLE to user NAME"})
    static final class UserGrantRole extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ROLE")
        String role;

        @Override
        int run() throws UsageException {
            auth().userGrantRole(name, role);
            out().println("Role " + role + " is granted to user " + name);
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "revoke-role", abbreviateSynopsis = true, description = {"revokes role ROLE from user NAME"})
    static final class UserRevokeRole extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "ROLE")
        String role;

        @Override
        int run() throws UsageException {
            auth().userRevokeRole(name, role);
            out().println("Role " + role + " is revoked from user " + name);
            return RaftKvCtl.EXIT_OK;
        }
    }

    // ------------------------------------------------------------------ role

    @Command(name = "role", description = {"role add, delete, get, list, grant-permission, revoke-permission"},
            subcommands = {RoleAdd.class, RoleDelete.class, RoleGet.class, RoleList.class, RoleGrantPermission.class, RoleRevokePermission.class})
    static final class Role extends CtlCommand.Group {
    }

    @Command(name = "add", abbreviateSynopsis = true, description = {"adds role NAME"})
    static final class RoleAdd extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        int run() throws UsageException {
            auth().roleAdd(name);
            out().println("Role " + name + " created");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "delete", abbreviateSynopsis = true, description = {"deletes role NAME, and takes it from every user"})
    static final class RoleDelete extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        int run() throws UsageException {
            auth().roleDelete(name);
            out().println("Role " + name + " deleted");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "get", abbreviateSynopsis = true, description = {"role NAME's permissions: the keys it may read, then those it may write"})
    static final class RoleGet extends AuthCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        int run() throws UsageException {
            printRole(out(), name, auth().roleGet(name));
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "list", abbreviateSynopsis = true, description = {"every role, a line each"})
    static final class RoleList extends AuthCommand {
        @Override
        int run() throws UsageException {
            for (String role : auth().roleList()) out().println(role);
            return RaftKvCtl.EXIT_OK;
        }
    }

    /** A permission's keys: KEY, [KEY, RANGE_END), --prefix (an empty KEY: every key) or --from-key, as etcdctl takes them. */
    abstract static class PermissionKeys extends AuthCommand {
        @Option(names = "--prefix", description = "every key starting with KEY")
        boolean prefix;

        @Option(names = "--from-key", description = "every key from KEY on (by byte order)")
        boolean fromKey;

        byte[][] keys(Word key, Word rangeEnd) throws UsageException {
            if (prefix && rangeEnd == null && key.bytes().length == 0 && !hex()) return new byte[][] {new byte[0], RangeRequest.FROM_KEY.clone()};
            return CtlKvCommands.keyRange(key, rangeEnd, prefix, fromKey, hex());
        }
    }

    @Command(name = "grant-permission", abbreviateSynopsis = true,
            description = {"grants ROLE read, write or readwrite on KEY, [KEY, RANGE_END), --prefix KEY or --from-key KEY"})
    static final class RoleGrantPermission extends PermissionKeys {
        @Parameters(index = "0", paramLabel = "ROLE")
        String role;

        @Parameters(index = "1", paramLabel = "TYPE")
        String type;

        @Parameters(index = "2", paramLabel = "KEY")
        Word key;

        @Parameters(index = "3", arity = "0..1", paramLabel = "RANGE_END")
        Word rangeEnd;

        @Override
        int run() throws UsageException {
            Permission.Type t = switch (type.toLowerCase()) {
                case "read" -> Permission.Type.READ;
                case "write" -> Permission.Type.WRITE;
                case "readwrite" -> Permission.Type.READWRITE;
                default -> throw new UsageException("invalid permission type " + type + " (read, write or readwrite)");
            };
            byte[][] k = keys(key, rangeEnd);
            auth().roleGrantPermission(role, t, k[0], k[1]);
            out().println("Role " + role + " updated");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "revoke-permission", abbreviateSynopsis = true,
            description = {"revokes ROLE's permission on exactly these keys: KEY, [KEY, RANGE_END), --prefix KEY or --from-key KEY"})
    static final class RoleRevokePermission extends PermissionKeys {
        @Parameters(index = "0", paramLabel = "ROLE")
        String role;

        @Parameters(index = "1", paramLabel = "KEY")
        Word key;

        @Parameters(index = "2", arity = "0..1", paramLabel = "RANGE_END")
        Word rangeEnd;

        @Override
        int run() throws UsageException {
            byte[][] k = keys(key, rangeEnd);
            auth().roleRevokePermission(role, k[0], k[1]);
            if (k[1].length == 0) out().println("Permission of key " + text(k[0]) + " is revoked from role " + role);
            else out().println("Permission of range " + range(k[0], k[1]) + " is revoked from role " + role);
            return RaftKvCtl.EXIT_OK;
        }
    }

    // ------------------------------------------------------------------ auth

    @Command(name = "auth", description = {"auth enable, disable, status"}, subcommands = {AuthEnable.class, AuthDisable.class, AuthStatus.class})
    static final class AuthGroup extends CtlCommand.Group {
    }

    /** As etcdctl: a root user without the root role is given it (the role made first if need be), then auth is enabled. */
    @Command(name = "enable", abbreviateSynopsis = true, description = {"turns permission checks on; needs user root (given role root if it lacks it)"})
    static final class AuthEnable extends AuthCommand {
        @Override
        int run() throws UsageException {
            Auth auth = auth();
            try {
                auth.enable();
            } catch (RaftKvException e) {
                if (e.errorCode() != ErrorCode.BAD_REQUEST || !String.valueOf(e.getMessage()).contains("root user does not have root role")) throw e;
                if (!auth.roleList().contains("root")) auth.roleAdd("root");
                auth.userGrantRole("root", "root");
                auth.enable();
            }
            out().println("Authentication Enabled");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "disable", abbreviateSynopsis = true, description = {"turns permission checks off: everything is allowed to anyone"})
    static final class AuthDisable extends AuthCommand {
        @Override
        int run() throws UsageException {
            auth().disable();
            out().println("Authentication Disabled");
            return RaftKvCtl.EXIT_OK;
        }
    }

    @Command(name = "status", abbreviateSynopsis = true, description = {"whether auth is enabled, and the auth store's revision"})
    static final class AuthStatus extends AuthCommand {
        @Override
        int run() throws UsageException {
            ClientResponse.AuthStatus s = auth().status();
            out().println("Authentication Status: " + s.enabled());
            out().println("AuthRevision: " + s.authRevision());
            return RaftKvCtl.EXIT_OK;
        }
    }

    // ------------------------------------------------------------------ shared

    /** etcdctl's role get: the keys the role may read, then those it may write, a line each. */
    static void printRole(PrintStream out, String role, List<Permission> permissions) {
        out.println("Role " + role);
        out.println("KV Read:");
        for (Permission p : permissions) if (p.type().reads()) out.println("\t" + keys(p));
        out.println("KV Write:");
        for (Permission p : permissions) if (p.type().writes()) out.println("\t" + keys(p));
    }

    private static String keys(Permission p) {
        if (p.rangeEnd().length == 0) return text(p.key());
        String s = range(p.key(), p.rangeEnd());
        if (Arrays.equals(RangeRequest.prefixEnd(p.key()), p.rangeEnd()) || (p.key().length == 0 && isFromKey(p.rangeEnd()))) s += " (prefix " + text(p.key()) + ")";
        return s;
    }

    private static String range(byte[] key, byte[] end) {
        return isFromKey(end) ? "[" + text(key) + ", <open ended>" : "[" + text(key) + ", " + text(end) + ")";
    }

    private static boolean isFromKey(byte[] end) {
        return end.length == 1 && end[0] == 0;
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * A new password for {@code name}: asked twice on the terminal (etcdctl's prompts), or read from a line of standard
     * input when not {@code interactive}. Never empty.
     */
    static String newPassword(CtlSession s, String name, boolean interactive) throws UsageException {
        String password;
        if (interactive) {
            Console console = System.console();
            if (console == null) throw new UsageException("no terminal to ask the password of " + name + " on: give NAME:PASSWORD, --new-user-password or --interactive=false");
            char[] first = console.readPassword("Password of %s: ", name);
            char[] again = console.readPassword("Type password of %s again for confirmation: ", name);
            if (first == null || again == null) throw new UsageException("no password given");
            if (!Arrays.equals(first, again)) throw new UsageException("given passwords are different");
            password = new String(first);
        } else {
            try {
                byte[] line = s.stdin.readLine();
                password = line == null ? "" : new String(line, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UsageException("cannot read the password from standard input: " + e.getMessage());
            }
        }
        if (password.isEmpty()) throw new UsageException("empty password");
        return password;
    }
}
