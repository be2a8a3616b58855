package io.raftkv.protocol;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The AUTH frame and its answers, as docs/protocol.md lays them out. */
class AuthCodecTest {

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuffer body(ByteBuffer frame, byte type) {
        ByteBuffer f = frame.duplicate();
        assertEquals(f.remaining() - 4, f.getInt(), "the length counts the type and the body");
        assertEquals(type, f.get());
        return f.slice();
    }

    private static String hex(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.duplicate().get(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    @Test
    void authRequestsByteByByte() {
        assertEquals("0000000000000007" + "01" + "0003" + "626f62" + "0002" + "7077",
                hex(body(ClientCodec.request(new ClientRequest.Auth(7, new AuthRequest.Authenticate("bob", "pw"))), FrameType.AUTH)));
        assertEquals("0000000000000008" + "02", hex(body(ClientCodec.request(new ClientRequest.Auth(8, new AuthRequest.Enable())), FrameType.AUTH)));
        assertEquals("0000000000000009" + "10" + "0003" + "617070" + "02" + "00000004" + "6170702f" + "00000004" + "61707030",
                hex(body(ClientCodec.request(new ClientRequest.Auth(9, new AuthRequest.RoleGrantPermission("app",
                        new Permission(Permission.Type.READWRITE, b("app/"), b("app0"))))), FrameType.AUTH)));
    }

    @Test
    void everyAuthRequestRoundTrips() {
        List<AuthRequest> all = List.of(new AuthRequest.Authenticate("u", "p"), new AuthRequest.Enable(), new AuthRequest.Disable(),
                new AuthRequest.Status(), new AuthRequest.UserAdd("ü", "pässword"), new AuthRequest.UserDelete("u"), new AuthRequest.UserGet("u"),
                new AuthRequest.UserList(), new AuthRequest.UserChangePassword("u", "q"), new AuthRequest.UserGrantRole("u", "r"),
                new AuthRequest.UserRevokeRole("u", "r"), new AuthRequest.RoleAdd("r"), new AuthRequest.RoleDelete("r"), new AuthRequest.RoleGet("r"),
                new AuthRequest.RoleList(), new AuthRequest.RoleGrantPermission("r", new Permission(Permission.Type.READ, b("k"), new byte[0])));
        for (AuthRequest r : all) {
            ByteBuffer frame = ClientCodec.request(new ClientRequest.Auth(3, r));
            assertEquals(new ClientRequest.Auth(3, r), ClientCodec.decodeRequest(FrameType.AUTH, body(frame, FrameType.AUTH)), r.toString());
        }
        ClientRequest.Auth revoke = (ClientRequest.Auth) ClientCodec.decodeRequest(FrameType.AUTH, body(ClientCodec.request(
                new ClientRequest.Auth(4, new AuthRequest.RoleRevokePermission("r", b("a"), b("b")))), FrameType.AUTH));
        AuthRequest.RoleRevokePermission v = (AuthRequest.RoleRevokePermission) revoke.request();
        assertArrayEquals(b("a"), v.key());
        assertArrayEquals(b("b"), v.rangeEnd());
    }

    @Test
    void passwordsNeverPrint() {
        assertFalse(new AuthRequest.Authenticate("bob", "s3cret").toString().contains("s3cret"));
        assertFalse(new AuthRequest.UserAdd("bob", "s3cret").toString().contains("s3cret"));
        assertFalse(new AuthRequest.UserChangePassword("bob", "s3cret").toString().contains("s3cret"));
    }

    @Test
    void badAuthBodiesAreRefused() {
        FrameException op = assertThrows(FrameException.class,
                () -> ClientCodec.decodeRequest(FrameType.AUTH, ByteBuffer.wrap(HexFormat.of().parseHex("000000000000000163"))));
        assertEquals(ErrorCode.BAD_REQUEST, op.code());
        FrameException type = assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.AUTH,
                ByteBuffer.wrap(HexFormat.of().parseHex("0000000000000001" + "10" + "000172" + "03" + "000000016b" + "00000000"))));
        assertTrue(type.getMessage().contains("permission type"), type.getMessage());
        assertThrows(FrameException.class, () -> ClientCodec.decodeRequest(FrameType.AUTH,
                ByteBuffer.wrap(HexFormat.of().parseHex("0000000000000001" + "01" + "0005" + "6162"))));
    }

    @Test
    void authAnswersRoundTrip() {
        ResponseHeader h = new ResponseHeader(12, 2, 3);
        ClientResponse.AuthStatus status = new ClientResponse.AuthStatus(5, h, true, 9);
        assertEquals("0000000000000005" + "000000000000000c" + "00000002" + "0000000000000003" + "01" + "0000000000000009",
                hex(body(ClientCodec.response(status), FrameType.AUTH_STATUS)));
        assertEquals(status, ClientCodec.decodeResponse(FrameType.AUTH_STATUS, body(ClientCodec.response(status), FrameType.AUTH_STATUS)));
        ClientResponse.Names names = new ClientResponse.Names(6, h, List.of("app", "root"));
        ByteBuffer frame = ClientCodec.response(names);
        assertEquals(ClientCodec.namesFrameBytes(names.names()), frame.remaining());
        assertEquals(names, ClientCodec.decodeResponse(FrameType.NAMES, body(frame, FrameType.NAMES)));
        List<Permission> perms = List.of(new Permission(Permission.Type.READ, b("a"), new byte[0]), new Permission(Permission.Type.WRITE, b("b"), b("c")));
        ClientResponse.Permissions p = new ClientResponse.Permissions(7, h, perms);
        frame = ClientCodec.response(p);
        assertEquals(ClientCodec.permissionsFrameBytes(perms), frame.remaining());
        assertEquals(p, ClientCodec.decodeResponse(FrameType.PERMISSIONS, body(frame, FrameType.PERMISSIONS)));
    }
}
