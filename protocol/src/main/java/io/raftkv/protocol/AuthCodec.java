package io.raftkv.protocol;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.protocol.Frames.bytes;
import static io.raftkv.protocol.Frames.string;

/**
 * The bodies of the auth frames (docs/protocol.md, "Authentication and authorisation"): an AUTH request is
 * {@code [u64 requestId][auth request]}, an auth request {@code [u8 op][the op's fields]}, names and passwords
 * {@code str}, keys {@code bytes}; the answers AUTH_STATUS, NAMES and PERMISSIONS carry the usual header. Op codes are
 * written out here, never ordinals. A node's log writes auth changes with {@link #write} too (docs/auth.md).
 */
public final class AuthCodec {

    static final int AUTHENTICATE = 1;
    static final int ENABLE = 2;
    static final int DISABLE = 3;
    static final int STATUS = 4;
    static final int USER_ADD = 5;
    static final int USER_DELETE = 6;
    static final int USER_GET = 7;
    static final int USER_LIST = 8;
    static final int USER_CHANGE_PASSWORD = 9;
    static final int USER_GRANT_ROLE = 10;
    static final int USER_REVOKE_ROLE = 11;
    static final int ROLE_ADD = 12;
    static final int ROLE_DELETE = 13;
    static final int ROLE_GET = 14;
    static final int ROLE_LIST = 15;
    static final int ROLE_GRANT_PERMISSION = 16;
    static final int ROLE_REVOKE_PERMISSION = 17;

    /** A permission in PERMISSIONS, besides its keys: type and the two length fields. */
    private static final int PERMISSION_BYTES_MIN = 1 + 4 + 4;

    private AuthCodec() {
    }

    static ByteBuffer request(long requestId, AuthRequest r) {
        BodyWriter w = new BodyWriter(64).i64(requestId);
        write(w, r);
        return w.toFrame(FrameType.AUTH);
    }

    static ClientRequest.Auth readRequest(ByteBuffer b) {
        return new ClientRequest.Auth(b.getLong(), read(b));
    }

    /** An auth request: {@code [u8 op][the op's fields]}. */
    public static void write(BodyWriter w, AuthRequest r) {
        if (r instanceof AuthRequest.Authenticate a) w.u8(AUTHENTICATE).str(a.name()).str(a.password());
        else if (r instanceof AuthRequest.Enable) w.u8(ENABLE);
        else if (r instanceof AuthRequest.Disable) w.u8(DISABLE);
        else if (r instanceof AuthRequest.Status) w.u8(STATUS);
        else if (r instanceof AuthRequest.UserAdd u) w.u8(USER_ADD).str(u.name()).str(u.password());
        else if (r instanceof AuthRequest.UserDelete u) w.u8(USER_DELETE).str(u.name());
        else if (r instanceof AuthRequest.UserGet u) w.u8(USER_GET).str(u.name());
        else if (r instanceof AuthRequest.UserList) w.u8(USER_LIST);
        else if (r instanceof AuthRequest.UserChangePassword u) w.u8(USER_CHANGE_PASSWORD).str(u.name()).str(u.password());
        else if (r instanceof AuthRequest.UserGrantRole g) w.u8(USER_GRANT_ROLE).str(g.user()).str(g.role());
        else if (r instanceof AuthRequest.UserRevokeRole g) w.u8(USER_REVOKE_ROLE).str(g.user()).str(g.role());
        else if (r instanceof AuthRequest.RoleAdd a) w.u8(ROLE_ADD).str(a.name());
        else if (r instanceof AuthRequest.RoleDelete d) w.u8(ROLE_DELETE).str(d.name());
        else if (r instanceof AuthRequest.RoleGet g) w.u8(ROLE_GET).str(g.name());
        else if (r instanceof AuthRequest.RoleList) w.u8(ROLE_LIST);
        else if (r instanceof AuthRequest.RoleGrantPermission g) {
            w.u8(ROLE_GRANT_PERMISSION).str(g.role());
            writePermission(w, g.permission());
        } else {
            AuthRequest.RoleRevokePermission v = (AuthRequest.RoleRevokePermission) r;
            w.u8(ROLE_REVOKE_PERMISSION).str(v.role()).bytes(v.key()).bytes(v.rangeEnd());
        }
    }

    /** Reads what {@link #write} wrote; a malformed one throws FrameException (or BufferUnderflowException). */
    public static AuthRequest read(ByteBuffer b) {
        int op = Byte.toUnsignedInt(b.get());
        return switch (op) {
            case AUTHENTICATE -> new AuthRequest.Authenticate(string(b), string(b));
            case ENABLE -> new AuthRequest.Enable();
            case DISABLE -> new AuthRequest.Disable();
            case STATUS -> new AuthRequest.Status();
            case USER_ADD -> new AuthRequest.UserAdd(string(b), string(b));
            case USER_DELETE -> new AuthRequest.UserDelete(string(b));
            case USER_GET -> new AuthRequest.UserGet(string(b));
            case USER_LIST -> new AuthRequest.UserList();
            case USER_CHANGE_PASSWORD -> new AuthRequest.UserChangePassword(string(b), string(b));
            case USER_GRANT_ROLE -> new AuthRequest.UserGrantRole(string(b), string(b));
            case USER_REVOKE_ROLE -> new AuthRequest.UserRevokeRole(string(b), string(b));
            case ROLE_ADD -> new AuthRequest.RoleAdd(string(b));
            case ROLE_DELETE -> new AuthRequest.RoleDelete(string(b));
            case ROLE_GET -> new AuthRequest.RoleGet(string(b));
            case ROLE_LIST -> new AuthRequest.RoleList();
            case ROLE_GRANT_PERMISSION -> new AuthRequest.RoleGrantPermission(string(b), readPermission(b));
            case ROLE_REVOKE_PERMISSION -> new AuthRequest.RoleRevokePermission(string(b), bytes(b), bytes(b));
            default -> throw Frames.bad("unknown auth op " + op);
        };
    }

    /** A permission: {@code [u8 type][bytes key][bytes rangeEnd]}. */
    static void writePermission(BodyWriter w, Permission p) {
        w.u8(p.type().code).bytes(p.key()).bytes(p.rangeEnd());
    }

    static Permission readPermission(ByteBuffer b) {
        return new Permission(Permission.Type.ofCode(Byte.toUnsignedInt(b.get())), bytes(b), bytes(b));
    }

    // ------------------------------------------------------------------ answers

    static ByteBuffer status(ClientResponse.AuthStatus s) {
        BodyWriter w = new BodyWriter(8 + 20 + 1 + 8).i64(s.requestId());
        KvCodec.writeHeader(w, s.header());
        return w.bool(s.enabled()).i64(s.authRevision()).toFrame(FrameType.AUTH_STATUS);
    }

    static ClientResponse.AuthStatus readStatus(ByteBuffer b) {
        return new ClientResponse.AuthStatus(b.getLong(), KvCodec.readHeader(b), Frames.bool(b), b.getLong());
    }

    static ByteBuffer names(ClientResponse.Names n) {
        BodyWriter w = new BodyWriter(8 + 20 + 4 + 16 * n.names().size()).i64(n.requestId());
        KvCodec.writeHeader(w, n.header());
        w.u32(n.names().size());
        for (String name : n.names()) w.str(name);
        return w.toFrame(FrameType.NAMES);
    }

    static ClientResponse.Names readNames(ByteBuffer b) {
        long requestId = b.getLong();
        ResponseHeader header = KvCodec.readHeader(b);
        int count = Frames.count(b, 2);
        List<String> names = new ArrayList<>(count);
        for (int i = 0; i < count; i++) names.add(string(b));
        return new ClientResponse.Names(requestId, header, names);
    }

    static ByteBuffer permissions(ClientResponse.Permissions p) {
        BodyWriter w = new BodyWriter((int) Math.min(Integer.MAX_VALUE - 64, 8 + 20 + 4 + permissionsBytes(p.permissions()))).i64(p.requestId());
        KvCodec.writeHeader(w, p.header());
        w.u32(p.permissions().size());
        for (Permission permission : p.permissions()) writePermission(w, permission);
        return w.toFrame(FrameType.PERMISSIONS);
    }

    static ClientResponse.Permissions readPermissions(ByteBuffer b) {
        long requestId = b.getLong();
        ResponseHeader header = KvCodec.readHeader(b);
        int count = Frames.count(b, PERMISSION_BYTES_MIN);
        List<Permission> permissions = new ArrayList<>(count);
        for (int i = 0; i < count; i++) permissions.add(readPermission(b));
        return new ClientResponse.Permissions(requestId, header, permissions);
    }

    /** Bytes the permissions take in a PERMISSIONS frame: what a node checks against the answer's limit. */
    static long permissionsBytes(List<Permission> permissions) {
        long n = 0;
        for (Permission p : permissions) n += PERMISSION_BYTES_MIN + p.key().length + p.rangeEnd().length;
        return n;
    }
}
