package io.raftkv.server;

import io.raftkv.raft.Membership;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data directory's {@code member} file: who the directory belongs to, and the configuration its log starts from. */
class MemberMarkerTest {

    @TempDir
    Path dir;

    private static final Membership FIRST = new Membership(List.of(
            new Membership.Member(1, Membership.Role.VOTER, "10.0.0.1:2379"),
            new Membership.Member(2, Membership.Role.VOTER, "10.0.0.2:2379"),
            new Membership.Member(3, Membership.Role.VOTER, "10.0.0.3:2379")), new int[0]);

    @Test
    void aFirstMemberKeepsItsBootstrap() throws IOException {
        assertNull(MemberMarker.read(dir));
        new MemberMarker(dir, 0xabcdefL, 2, FIRST).writeIfAbsent();
        MemberMarker.Stored stored = MemberMarker.read(dir);
        assertEquals(new MemberMarker.Stored(0xabcdefL, 2, FIRST, null, 0), stored);
    }

    @Test
    void aJoinerKeepsTheMembersItWasToldOfUntilItsLogNamesThem() throws IOException {
        Membership told = FIRST.withMember(new Membership.Member(4, Membership.Role.LEARNER, "10.0.0.4:2379"));
        new MemberMarker(dir, 7L, 4, Membership.EMPTY, told, 1234).writeIfAbsent();
        assertEquals(new MemberMarker.Stored(7L, 4, Membership.EMPTY, told, 1234), MemberMarker.read(dir));
    }

    @Test
    void aFirstVersionMarkerHasNoBootstrapLine() throws IOException {
        Files.writeString(dir.resolve(MemberMarker.FILE), "cluster 1f node 3\n");
        assertEquals(new MemberMarker.Stored(0x1fL, 3, null, null, 0), MemberMarker.read(dir));
    }

    @Test
    void aDamagedMarkerIsRefusedByName() throws IOException {
        Files.writeString(dir.resolve(MemberMarker.FILE), "cluster 1f node 3\nbootstrap zz\n");
        IOException e = assertThrows(IOException.class, () -> MemberMarker.read(dir));
        assertTrue(e.getMessage().contains("is damaged"), e.getMessage());
    }

    @Test
    void anotherNodesDirectoryIsRefused() throws IOException {
        new MemberMarker(dir, 7L, 4, FIRST).writeIfAbsent();
        IOException e = assertThrows(IOException.class, () -> new MemberMarker(dir, 7L, 5, FIRST).check(false));
        assertTrue(e.getMessage().contains("belongs to another node or cluster"), e.getMessage());
    }
}
