package io.raftkv.client;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.server.Node;
import io.raftkv.server.NodeOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** raftkvctl's user, role and auth commands and --user, against a 3-node cluster in this JVM, printed as etcdctl prints them. */
class RaftKvCtlAuthTest {

    @TempDir
    Path dir;

    private final List<Node> nodes = new ArrayList<>();
    private String endpoints;

    private record Result(int code, String out, String err) { }

    @AfterEach
    void stopCluster() throws InterruptedException {
        for (Node n : nodes) n.stop();
        for (Node n : nodes) n.awaitStopped();
    }

    private void start() throws Exception {
        InetAddress loopback = InetAddress.getByName("127.0.0.1");
        List<ServerSocket> sockets = new ArrayList<>();
        for (int i = 0; i < 3; i++) sockets.add(new ServerSocket(0, 1, loopback));
        StringBuilder conf = new StringBuilder();
        List<String> addresses = new ArrayList<>();
        for (int id = 1; id <= 3; id++) {
            int port = sockets.get(id - 1).getLocalPort();
            conf.append(id).append(" 127.0.0.1 ").append(port).append('\n');
            addresses.add("127.0.0.1:" + port);
        }
        for (ServerSocket s : sockets) s.close();
        endpoints = String.join(",", addresses);
        ClusterConfig config = ClusterConfig.parse(conf.toString(), "test");
        for (int id = 1; id <= 3; id++) nodes.add(Node.start(config, id, dir.resolve("n" + id), NodeOptions.defaults().withTickMs(20)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ctl("", "--timeout", "1", "leader").code() != 0) {
            if (System.nanoTime() > deadline) fail("no leader");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
        }
    }

    private Result ctl(String stdin, String... command) {
        String[] args = new String[command.length + 2];
        args[0] = "--endpoints";
        args[1] = endpoints;
        System.arraycopy(command, 0, args, 2, command.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8); PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            code = RaftKvCtl.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)), o, e, false);
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Result ok(String expected, String... command) {
        Result r = ctl("", command);
        assertEquals(new Result(0, expected, ""), r, String.join(" ", command));
        return r;
    }

    private void fails(String errorContains, String... command) {
        Result r = ctl("", command);
        assertEquals(1, r.code(), String.join(" ", command) + ": " + r);
        assertTrue(r.err().contains(errorContains), String.join(" ", command) + ": " + r.err());
    }

    @Test
    void userRoleAndAuthCommandsRoundTrip() throws Exception {
        start();
        ok("User root created\n", "user", "add", "root:rootpw");
        ok("User app created\n", "user", "add", "app", "--new-user-password", "apppw");
        assertEquals(new Result(0, "User ops created\n", ""), ctl("opspw\n", "user", "add", "ops", "--interactive=false"));
        ok("Role app-rw created\n", "role", "add", "app-rw");
        ok("Role app-rw updated\n", "role", "grant-permission", "app-rw", "readwrite", "app/", "--prefix");
        ok("Role app-rw updated\n", "role", "grant-permission", "app-rw", "read", "config");
        ok("Role app-rw updated\n", "role", "grant-permission", "app-rw", "write", "logs/", "logs0");
        ok("Role app-rw is granted to user app\n", "user", "grant-role", "app", "app-rw");
        Result badType = ctl("", "role", "grant-permission", "app-rw", "everything", "x");
        assertEquals(new Result(2, "", "error: invalid permission type everything (read, write or readwrite)\n"), badType, "a usage error");
        fails("user name already exists", "user", "add", "app:other");
        fails("role name not found", "user", "grant-role", "app", "nothing");
        // As etcdctl: the root user lacks the root role, so auth enable makes it and grants it first.
        ok("Authentication Enabled\n", "auth", "enable");
        ok("Authentication Status: true\nAuthRevision: 11\n", "auth", "status");

        fails("AUTH_REQUIRED: user name is empty", "put", "app/a", "1");
        fails("AUTH_FAILED: authentication failed, invalid user ID or password", "--user", "app:wrong", "get", "app/a");
        ok("OK\n", "--user", "app:apppw", "put", "app/a", "1");
        ok("app/a\n1\n", "get", "app/a", "--user", "app", "--password", "apppw");
        fails("PERMISSION_DENIED", "--user", "app:apppw", "put", "other", "1");
        fails("PERMISSION_DENIED", "--user", "app:apppw", "user", "list");
        ok("", "--user", "root:rootpw", "get", "other");

        ok("app\nops\nroot\n", "--user", "root:rootpw", "user", "list");
        ok("app-rw\nroot\n", "--user", "root:rootpw", "role", "list");
        ok("User: app\nRoles: app-rw\n", "--user", "root:rootpw", "user", "get", "app");
        String role = "Role app-rw\nKV Read:\n\t[app/, app0) (prefix app/)\n\tconfig\nKV Write:\n\t[app/, app0) (prefix app/)\n\t[logs/, logs0) (prefix logs/)\n";
        ok(role, "--user", "root:rootpw", "role", "get", "app-rw");
        ok("User: app\n\n" + role, "--user", "app:apppw", "user", "get", "app", "--detail");
        ok("Permission of key config is revoked from role app-rw\n", "--user", "root:rootpw", "role", "revoke-permission", "app-rw", "config");
        ok("Permission of range [logs/, logs0) is revoked from role app-rw\n", "--user", "root:rootpw", "role", "revoke-permission", "app-rw", "logs/",
                "--prefix");

        assertEquals(new Result(0, "Password updated\n", ""), ctl("newpw\n", "--user", "app:apppw", "user", "passwd", "app", "--interactive=false"),
                "a user changes its own password");
        fails("AUTH_FAILED", "--user", "app:apppw", "get", "app/a");
        ok("app/a\n1\n", "--user", "app:newpw", "get", "app/a");
        ok("Role app-rw is revoked from user app\n", "--user", "root:rootpw", "user", "revoke-role", "app", "app-rw");
        fails("PERMISSION_DENIED", "--user", "app:newpw", "get", "app/a");

        Path backup = dir.resolve("backup.snap");
        fails("PERMISSION_DENIED", "--user", "app:newpw", "snapshot", "save", backup.toString());
        Result saved = ctl("", "--user", "root:rootpw", "snapshot", "save", backup.toString());
        assertEquals(0, saved.code(), saved.toString());
        assertTrue(Files.exists(backup));

        ok("Authentication Disabled\n", "--user", "root:rootpw", "auth", "disable");
        ok("OK\n", "put", "other", "1");
        ok("User ops deleted\n", "user", "delete", "ops");
        ok("Role app-rw deleted\n", "role", "delete", "app-rw");
        ok("User: app\nRoles:\n", "user", "get", "app");
        ok("Authentication Status: false\nAuthRevision: 18\n", "auth", "status");
        Result usage = ctl("", "--password", "x", "get", "a");
        assertEquals(2, usage.code(), usage.toString());
    }
}
