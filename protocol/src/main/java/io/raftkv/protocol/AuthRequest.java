package io.raftkv.protocol;

/**
 * A request of etcd's Auth API, carried in an AUTH frame ({@link ClientRequest.Auth}). AUTHENTICATE makes the
 * connection it arrives on act as that user from then on (raftkv's token is the connection: docs/auth.md). The reads
 * ({@link Status}, {@link UserGet}, {@link UserList}, {@link RoleGet}, {@link RoleList}) are linearizable; every other
 * request changes the auth store through the Raft log. Passwords never appear in {@link #toString()}.
 */
public sealed interface AuthRequest {

    /** Checks the password and makes the connection act as {@code name}: answered OK, or ERROR AUTH_FAILED. */
    record Authenticate(String name, String password) implements AuthRequest {
        @Override
        public String toString() {
            return "Authenticate[name=" + name + "]";
        }
    }

    /** Turns permission checks on; refused unless user root exists with role root. */
    record Enable() implements AuthRequest { }

    record Disable() implements AuthRequest { }

    /** Answered AUTH_STATUS: whether checks are on, and the auth store's revision. */
    record Status() implements AuthRequest { }

    record UserAdd(String name, String password) implements AuthRequest {
        @Override
        public String toString() {
            return "UserAdd[name=" + name + "]";
        }
    }

    record UserDelete(String name) implements AuthRequest { }

    /** Answered NAMES: the user's roles. */
    record UserGet(String name) implements AuthRequest { }

    /** Answered NAMES: every user. */
    record UserList() implements AuthRequest { }

    record UserChangePassword(String name, String password) implements AuthRequest {
        @Override
        public String toString() {
            return "UserChangePassword[name=" + name + "]";
        }
    }

    record UserGrantRole(String user, String role) implements AuthRequest { }

    record UserRevokeRole(String user, String role) implements AuthRequest { }

    record RoleAdd(String name) implements AuthRequest { }

    record RoleDelete(String name) implements AuthRequest { }

    /** Answered PERMISSIONS: the role's permissions. */
    record RoleGet(String name) implements AuthRequest { }

    /** Answered NAMES: every role. */
    record RoleList() implements AuthRequest { }

    /** Adds the permission, or changes the type of the role's permission on the same keys. */
    record RoleGrantPermission(String role, Permission permission) implements AuthRequest { }

    /** Removes the role's permission on exactly these keys. */
    record RoleRevokePermission(String role, byte[] key, byte[] rangeEnd) implements AuthRequest {
        @Override
        public String toString() {
            return "RoleRevokePermission[role=" + role + ", " + new Permission(Permission.Type.READ, key, rangeEnd).toString().substring(5) + "]";
        }
    }

    /** Whether the request only reads the auth store. */
    default boolean reads() {
        return this instanceof Status || this instanceof UserGet || this instanceof UserList || this instanceof RoleGet || this instanceof RoleList;
    }
}
