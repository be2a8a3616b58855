package io.raftkv.kv;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.Compare;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.Frames;
import io.raftkv.protocol.Permission;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Users, roles and their permissions, and whether checks are on: etcd's auth store, changed only by committed auth
 * commands ({@link #apply}), so that every replica holds the same one at the same log index. Immutable: a change gives
 * a new store, so a snapshot takes it as it is and writes it on another thread. The user {@code root} and the role
 * {@code root} are etcd's: a user with the role {@code root} may do anything, and auth can be enabled only while the
 * user {@code root} exists and has that role.
 *
 * <p>Permission checks answer from each user's {@link KeyRanges}, built the first time the user is checked and kept
 * as long as this store: a check is a map lookup and a binary search. Only the thread that applies (the loop) checks.
 */
public final class AuthStore {

    public static final String ROOT = "root";
    /** Bytes of UTF-8 a user or role name may take. */
    public static final int NAME_BYTES_MAX = 256;
    public static final int USERS_MAX = 4096;
    public static final int ROLES_MAX = 4096;
    public static final int ROLES_PER_USER_MAX = 256;
    public static final int PERMISSIONS_PER_ROLE_MAX = 256;

    /** A user: its password's hash and its roles, ascending. */
    public record User(String name, PasswordHash password, List<String> roles) {
        public User {
            roles = List.copyOf(roles);
        }

        public boolean hasRole(String role) {
            return Collections.binarySearch(roles, role) >= 0;
        }
    }

    /** A role: its permissions, ascending by key then range end, no two on the same keys. */
    public record Role(String name, List<Permission> permissions) {
        public Role {
            permissions = List.copyOf(permissions);
        }
    }

    public static final AuthStore EMPTY = new AuthStore(false, 0, new TreeMap<>(), new TreeMap<>());

    private final boolean enabled;
    private final long revision;
    /** Never changed once the store is made: a change copies what it changes and shares the rest. */
    private final NavigableMap<String, User> users;
    private final NavigableMap<String, Role> roles;
    /** Per user checked so far: what it may read ([0]) and write ([1]). Loop thread only. */
    private final Map<String, KeyRanges[]> ranges = new HashMap<>();

    private AuthStore(boolean enabled, long revision, NavigableMap<String, User> users, NavigableMap<String, Role> roles) {
        this.enabled = enabled;
        this.revision = revision;
        this.users = users;
        this.roles = roles;
    }

    /**
     * A store read from a snapshot: the reader checked each user and role; this checks how they relate (every role a
     * user has exists, or is {@code root}; enabled only with the root user holding the root role). IllegalArgumentException
     * says what is wrong.
     */
    static AuthStore restored(boolean enabled, long revision, List<User> users, List<Role> roles) {
        TreeMap<String, Role> roleMap = new TreeMap<>();
        for (Role r : roles) roleMap.put(r.name(), r);
        TreeMap<String, User> userMap = new TreeMap<>();
        for (User u : users) {
            for (String role : u.roles()) {
                if (!role.equals(ROOT) && !roleMap.containsKey(role)) throw new IllegalArgumentException("user " + u.name() + " has role " + role + ", which does not exist");
            }
            userMap.put(u.name(), u);
        }
        if (revision < 0) throw new IllegalArgumentException("auth revision " + revision + " is negative");
        AuthStore s = new AuthStore(enabled, revision, userMap, roleMap);
        if (enabled && !s.isRoot(ROOT)) throw new IllegalArgumentException("auth is enabled without a root user holding the root role");
        return s;
    }

    public boolean enabled() {
        return enabled;
    }

    /** One more for every change applied (etcd's auth revision). */
    public long revision() {
        return revision;
    }

    public User user(String name) {
        return users.get(name);
    }

    public Role role(String name) {
        return roles.get(name);
    }

    /** Ascending by name. */
    public Collection<User> users() {
        return Collections.unmodifiableCollection(users.values());
    }

    /** Ascending by name. */
    public Collection<Role> roles() {
        return Collections.unmodifiableCollection(roles.values());
    }

    // ------------------------------------------------------------------ checks

    /** Whether {@code user} exists and has the role root: then it may do anything. */
    public boolean isRoot(String user) {
        User u = users.get(user);
        return u != null && u.hasRole(ROOT);
    }

    /** Whether {@code user} may read every key of {@code [key, rangeEnd)} (etcd's range conventions). */
    public boolean canRead(String user, byte[] key, byte[] rangeEnd) {
        return isRoot(user) || ranges(user)[0].covers(key, rangeEnd);
    }

    /** Whether {@code user} may write every key of {@code [key, rangeEnd)}. */
    public boolean canWrite(String user, byte[] key, byte[] rangeEnd) {
        return isRoot(user) || ranges(user)[1].covers(key, rangeEnd);
    }

    /**
     * etcd's rule for a transaction: read on every compare's keys, and for each operation of both branches (whichever
     * runs) read on a range, write on a put or a delete, and read as well when it asks for the previous key-values.
     */
    public boolean permitsTxn(String user, TxnRequest t) {
        if (isRoot(user)) return true;
        for (Compare c : t.compares()) if (!canRead(user, c.key(), c.rangeEnd())) return false;
        for (List<TxnOp> branch : List.of(t.success(), t.failure())) {
            for (TxnOp op : branch) {
                boolean ok;
                if (op instanceof TxnOp.Range r) ok = canRead(user, r.request().key(), r.request().rangeEnd());
                else if (op instanceof TxnOp.Put p) ok = canWrite(user, p.key(), NO_END) && (!p.prevKv() || canRead(user, p.key(), NO_END));
                else {
                    TxnOp.DeleteRange d = (TxnOp.DeleteRange) op;
                    ok = canWrite(user, d.key(), d.rangeEnd()) && (!d.prevKv() || canRead(user, d.key(), d.rangeEnd()));
                }
                if (!ok) return false;
            }
        }
        return true;
    }

    /** Whether {@code user} may ask {@code r}: root may ask anything; anyone may read its own user and roles, and change its own password. */
    public boolean permitsAuth(String user, AuthRequest r) {
        if (isRoot(user)) return true;
        if (r instanceof AuthRequest.Status) return true;
        if (r instanceof AuthRequest.UserGet g) return g.name().equals(user);
        if (r instanceof AuthRequest.UserChangePassword p) return p.name().equals(user);
        if (r instanceof AuthRequest.RoleGet g) {
            User u = users.get(user);
            return u != null && u.hasRole(g.name());
        }
        return false;
    }

    private static final byte[] NO_END = new byte[0];

    private KeyRanges[] ranges(String user) {
        KeyRanges[] r = ranges.get(user);
        if (r != null) return r;
        User u = users.get(user);
        if (u == null) return new KeyRanges[] {KeyRanges.NONE, KeyRanges.NONE};
        List<Permission> read = new ArrayList<>();
        List<Permission> write = new ArrayList<>();
        for (String name : u.roles()) {
            Role role = roles.get(name);
            if (role == null) continue;
            for (Permission p : role.permissions()) {
                if (p.type().reads()) read.add(p);
                if (p.type().writes()) write.add(p);
            }
        }
        r = new KeyRanges[] {KeyRanges.of(read), KeyRanges.of(write)};
        ranges.put(user, r);
        return r;
    }

    // ------------------------------------------------------------------ changes

    /**
     * The store after {@code change} (a request that changes the store; user add and password changes carry their
     * {@code password} hash, never the password): the same store for a change that changes nothing (enable when enabled,
     * a role granted twice), else one whose revision is one more. A change that cannot be made throws {@link KvException}
     * with etcd's message (BAD_REQUEST; TOO_LARGE past a limit), the same on every replica. Who may make it is the caller's
     * check.
     */
    public AuthStore apply(AuthRequest change, PasswordHash password) {
        if (change instanceof AuthRequest.Enable) {
            if (enabled) return this;
            if (!users.containsKey(ROOT)) throw refused("root user does not exist");
            if (!isRoot(ROOT)) throw refused("root user does not have root role");
            return new AuthStore(true, revision + 1, users, roles);
        }
        if (change instanceof AuthRequest.Disable) {
            return enabled ? new AuthStore(false, revision + 1, users, roles) : this;
        }
        if (change instanceof AuthRequest.UserAdd a) {
            checkName(a.name(), "user");
            if (users.containsKey(a.name())) throw refused("user name already exists");
            if (users.size() >= USERS_MAX) throw new KvException(ErrorCode.TOO_LARGE, "the cluster holds " + users.size() + " users: the limit is " + USERS_MAX);
            return withUser(new User(a.name(), hashOf(password), List.of()));
        }
        if (change instanceof AuthRequest.UserDelete d) {
            User u = existingUser(d.name());
            if (enabled && u.name().equals(ROOT)) throw refused("invalid auth management: the root user cannot be deleted while auth is enabled");
            TreeMap<String, User> next = new TreeMap<>(users);
            next.remove(u.name());
            return new AuthStore(enabled, revision + 1, next, roles);
        }
        if (change instanceof AuthRequest.UserChangePassword p) {
            User u = existingUser(p.name());
            return withUser(new User(u.name(), hashOf(password), u.roles()));
        }
        if (change instanceof AuthRequest.UserGrantRole g) {
            User u = existingUser(g.user());
            // As etcd: the role root may be granted without a role of that name, which only names the user's power.
            if (!g.role().equals(ROOT) && !roles.containsKey(g.role())) throw refused("role name not found");
            if (u.hasRole(g.role())) return this;
            if (u.roles().size() >= ROLES_PER_USER_MAX) throw new KvException(ErrorCode.TOO_LARGE, "user " + u.name() + " has " + u.roles().size() + " roles: the limit is " + ROLES_PER_USER_MAX);
            List<String> next = new ArrayList<>(u.roles());
            next.add(-Collections.binarySearch(next, g.role()) - 1, g.role());
            return withUser(new User(u.name(), u.password(), next));
        }
        if (change instanceof AuthRequest.UserRevokeRole r) {
            User u = existingUser(r.user());
            if (!u.hasRole(r.role())) throw refused("role is not granted to the user");
            if (enabled && u.name().equals(ROOT) && r.role().equals(ROOT)) throw refused("invalid auth management: the root role cannot be revoked from the root user while auth is enabled");
            List<String> next = new ArrayList<>(u.roles());
            next.remove(r.role());
            return withUser(new User(u.name(), u.password(), next));
        }
        if (change instanceof AuthRequest.RoleAdd a) {
            checkName(a.name(), "role");
            if (roles.containsKey(a.name())) throw refused("role name already exists");
            if (roles.size() >= ROLES_MAX) throw new KvException(ErrorCode.TOO_LARGE, "the cluster holds " + roles.size() + " roles: the limit is " + ROLES_MAX);
            return withRole(new Role(a.name(), List.of()));
        }
        if (change instanceof AuthRequest.RoleDelete d) {
            Role role = existingRole(d.name());
            if (enabled && role.name().equals(ROOT)) throw refused("invalid auth management: the root role cannot be deleted while auth is enabled");
            // As etcd: the role leaves every user that had it.
            TreeMap<String, User> nextUsers = new TreeMap<>(users);
            for (User u : users.values()) {
                if (!u.hasRole(role.name())) continue;
                List<String> left = new ArrayList<>(u.roles());
                left.remove(role.name());
                nextUsers.put(u.name(), new User(u.name(), u.password(), left));
            }
            TreeMap<String, Role> nextRoles = new TreeMap<>(roles);
            nextRoles.remove(role.name());
            return new AuthStore(enabled, revision + 1, nextUsers, nextRoles);
        }
        if (change instanceof AuthRequest.RoleGrantPermission g) {
            Role role = existingRole(g.role());
            Permission p = g.permission();
            String problem = permissionProblem(p.key(), p.rangeEnd());
            if (problem != null) throw refused(problem);
            List<Permission> next = new ArrayList<>(role.permissions());
            int at = find(next, p.key(), p.rangeEnd());
            if (at >= 0) {
                next.set(at, p);
            } else {
                if (next.size() >= PERMISSIONS_PER_ROLE_MAX) {
                    throw new KvException(ErrorCode.TOO_LARGE, "role " + role.name() + " has " + next.size() + " permissions: the limit is " + PERMISSIONS_PER_ROLE_MAX);
                }
                next.add(-at - 1, p);
            }
            return withRole(new Role(role.name(), next));
        }
        if (change instanceof AuthRequest.RoleRevokePermission r) {
            Role role = existingRole(r.role());
            List<Permission> next = new ArrayList<>(role.permissions());
            int at = find(next, r.key(), r.rangeEnd());
            if (at < 0) throw refused("permission is not granted to the role");
            next.remove(at);
            return withRole(new Role(role.name(), next));
        }
        throw new IllegalArgumentException(change + " does not change the auth store");
    }

    /** A name's problem, or null: not empty, at most {@link #NAME_BYTES_MAX} bytes. {@code what}: user or role. */
    public static String nameProblem(String name, String what) {
        if (name.isEmpty()) return what + " name is empty";
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        return bytes > NAME_BYTES_MAX ? what + " name of " + bytes + " bytes is over the limit of " + NAME_BYTES_MAX : null;
    }

    /** A permission's keys' problem, or null: an empty key needs a range end. */
    public static String permissionProblem(byte[] key, byte[] rangeEnd) {
        if (key.length == 0 && rangeEnd.length == 0) return "permission key is empty (give a range end: \"\\0\" for every key)";
        boolean fromKey = rangeEnd.length == 1 && rangeEnd[0] == 0;
        if (rangeEnd.length > 0 && !fromKey && Arrays.compareUnsigned(rangeEnd, key) <= 0) {
            return "the permission's range end " + Frames.printable(rangeEnd) + " is not after its key " + Frames.printable(key);
        }
        return null;
    }

    /** The order of a role's permissions: by key, then range end, unsigned. */
    static int compare(byte[] key, byte[] rangeEnd, Permission p) {
        int c = Arrays.compareUnsigned(key, p.key());
        return c != 0 ? c : Arrays.compareUnsigned(rangeEnd, p.rangeEnd());
    }

    /** Where the permission on these keys is, or -(where it would go) - 1. */
    private static int find(List<Permission> sorted, byte[] key, byte[] rangeEnd) {
        int lo = 0;
        int hi = sorted.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int c = compare(key, rangeEnd, sorted.get(mid));
            if (c == 0) return mid;
            if (c > 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return -lo - 1;
    }

    private static void checkName(String name, String what) {
        String problem = nameProblem(name, what);
        if (problem != null) throw refused(problem);
    }

    private static PasswordHash hashOf(PasswordHash password) {
        // The node that took the request hashed it before proposing: only a log written by another program lacks it.
        if (password == null) throw refused("a user's password comes as its hash");
        return password;
    }

    private User existingUser(String name) {
        User u = users.get(name);
        if (u == null) throw refused("user name not found");
        return u;
    }

    private Role existingRole(String name) {
        Role r = roles.get(name);
        if (r == null) throw refused("role name not found");
        return r;
    }

    private AuthStore withUser(User u) {
        TreeMap<String, User> next = new TreeMap<>(users);
        next.put(u.name(), u);
        return new AuthStore(enabled, revision + 1, next, roles);
    }

    private AuthStore withRole(Role r) {
        TreeMap<String, Role> next = new TreeMap<>(roles);
        next.put(r.name(), r);
        return new AuthStore(enabled, revision + 1, users, next);
    }

    private static KvException refused(String message) {
        return new KvException(ErrorCode.BAD_REQUEST, message);
    }
}
