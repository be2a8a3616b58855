package io.raftkv.client;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which node the client turns to when one goes silent. */
class EndpointsTest {

    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.1", 1001);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.1", 1002);
    private static final InetSocketAddress C = new InetSocketAddress("127.0.0.1", 1003);

    @Test
    void nextSkipsSilentNodesUntilEveryOtherIsSilent() {
        Endpoints e = new Endpoints(List.of(A, B, C));
        assertEquals(B, e.next(A));
        e.silent(B);
        assertEquals(C, e.next(A), "B is silent");
        assertEquals(A, e.next(C));
        assertTrue(e.anotherMayAnswer(B));
        e.silent(C);
        assertFalse(e.anotherMayAnswer(A));
        assertEquals(B, e.next(A), "every other node is silent: plain rotation");
        e.answered(B);
        assertFalse(e.isSilent(B), "a node that answers anything is not silent");
        assertEquals(B, e.next(A));
    }

    @Test
    void onlyEndpointsAreSilentAndAMemberListDropsThoseThatLeft() {
        Endpoints e = new Endpoints(List.of(A, B));
        InetSocketAddress stranger = new InetSocketAddress("127.0.0.1", 1009);
        e.silent(stranger);
        assertFalse(e.isSilent(stranger), "not an endpoint: nothing kept for it");
        e.silent(B);
        e.learn(List.of(A, C), null, 5, false);
        e.learn(List.of(A, B, C), null, 6, false);
        assertFalse(e.isSilent(B), "B left the list and came back: its silence was dropped with it");
    }
}
