package io.raftkv.client;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.RangeRequest;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * etcd's Auth API on a {@link RaftKvClient} ({@code client.auth().userAdd("app", "pw")}), blocking. Changes go through
 * the Raft log and are writes (never retried once they may have been applied: a lost answer is OUTCOME_UNKNOWN); reads
 * are linearizable. Once auth is enabled, only a user with the role root may call these, but any user may read itself
 * and its roles and change its own password. A refusal is REJECTED with the node's code (BAD_REQUEST with etcd's words:
 * "user name already exists", "role name not found"; PERMISSION_DENIED).
 */
public final class Auth {

    private final RaftKvClient client;

    Auth(RaftKvClient client) {
        this.client = client;
    }

    /** Turns permission checks on: refused ("root user does not exist", "root user does not have root role") until root may. */
    public void enable() {
        call(new AuthRequest.Enable());
    }

    public void disable() {
        call(new AuthRequest.Disable());
    }

    public ClientResponse.AuthStatus status() {
        return (ClientResponse.AuthStatus) call(new AuthRequest.Status());
    }

    /** Adds a user; the node that takes the request hashes the password before it goes in the log. */
    public void userAdd(String name, String password) {
        call(new AuthRequest.UserAdd(name, password));
    }

    public void userDelete(String name) {
        call(new AuthRequest.UserDelete(name));
    }

    /** The user's roles, ascending. */
    public List<String> userGet(String name) {
        return ((ClientResponse.Names) call(new AuthRequest.UserGet(name))).names();
    }

    public List<String> userList() {
        return ((ClientResponse.Names) call(new AuthRequest.UserList())).names();
    }

    public void userChangePassword(String name, String password) {
        call(new AuthRequest.UserChangePassword(name, password));
    }

    public void userGrantRole(String user, String role) {
        call(new AuthRequest.UserGrantRole(user, role));
    }

    public void userRevokeRole(String user, String role) {
        call(new AuthRequest.UserRevokeRole(user, role));
    }

    public void roleAdd(String name) {
        call(new AuthRequest.RoleAdd(name));
    }

    public void roleDelete(String name) {
        call(new AuthRequest.RoleDelete(name));
    }

    /** The role's permissions, ascending by key then range end. */
    public List<Permission> roleGet(String name) {
        return ((ClientResponse.Permissions) call(new AuthRequest.RoleGet(name))).permissions();
    }

    public List<String> roleList() {
        return ((ClientResponse.Names) call(new AuthRequest.RoleList())).names();
    }

    /** Grants {@code type} on {@code [key, rangeEnd)} (etcd's range conventions), or changes the type of the grant on those keys. */
    public void roleGrantPermission(String role, Permission.Type type, byte[] key, byte[] rangeEnd) {
        call(new AuthRequest.RoleGrantPermission(role, new Permission(type, key, rangeEnd)));
    }

    /** Grants {@code type} on every key with {@code prefix} (etcdctl's {@code --prefix}). */
    public void roleGrantPrefix(String role, Permission.Type type, byte[] prefix) {
        roleGrantPermission(role, type, prefix, prefix.length == 0 ? RangeRequest.FROM_KEY.clone() : RangeRequest.prefixEnd(prefix));
    }

    public void roleRevokePermission(String role, byte[] key, byte[] rangeEnd) {
        call(new AuthRequest.RoleRevokePermission(role, key, rangeEnd));
    }

    private ClientResponse call(AuthRequest request) {
        CompletableFuture<ClientResponse> answer = client.authAsync(request);
        boolean write = !request.reads();
        try {
            NodeConnection.sendHeld();
            return answer.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RaftKvException r) throw r;
            throw new RaftKvException(write ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.UNAVAILABLE, "unexpected failure: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RaftKvException(write ? RaftKvException.Kind.OUTCOME_UNKNOWN : RaftKvException.Kind.UNAVAILABLE, "interrupted while waiting");
        }
    }
}
