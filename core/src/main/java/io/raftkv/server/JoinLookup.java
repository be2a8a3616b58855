package io.raftkv.server;

import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.FrameException;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.raft.Membership;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import javax.net.SocketFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What a node that joins a running cluster asks first, before its loop runs: the cluster id and the members, from
 * any member, over the client protocol (MEMBER_LIST). Blocking, with a deadline per member tried.
 */
final class JoinLookup {

    /** A MEMBERS answer is small; anything larger is not one. */
    private static final int ANSWER_BYTES_MAX = 1 << 20;

    /** {@code configIndex}: the log index of the entry that set {@code membership} on the member that answered. */
    record Found(long clusterId, Membership membership, long configIndex) { }

    private JoinLookup() {
    }

    /** Asks each of {@code members} in turn; IOException naming every failure when none answers. */
    static Found fetch(List<InetSocketAddress> members, long timeoutMs, SocketFactory sockets) throws IOException {
        List<String> failures = new ArrayList<>();
        for (InetSocketAddress a : members) {
            try {
                return ask(a, (int) Math.min(Integer.MAX_VALUE, timeoutMs), sockets);
            } catch (IOException | FrameException | IllegalArgumentException e) {
                failures.add(a + ": " + e.getMessage());
            }
        }
        throw new IOException("no member to join answered: " + String.join("; ", failures));
    }

    /**
     * The members as one of {@code members} knows them once it lists node {@code id}: a member that has not yet applied
     * (or even received) the entry that added {@code id} answers without it, so each is asked in turn, round after round,
     * for {@code timeoutMs}. The answer with the highest config index when none lists {@code id} by then (the caller says
     * the node is not a member); IOException when none answers at all.
     */
    static Found fetchListing(List<InetSocketAddress> members, int id, long timeoutMs, SocketFactory sockets) throws IOException {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        Found best = null;
        List<String> failures = new ArrayList<>();
        while (true) {
            for (InetSocketAddress a : members) {
                try {
                    Found found = ask(a, (int) Math.min(Integer.MAX_VALUE, timeoutMs), sockets);
                    if (found.membership().contains(id)) return found;
                    if (best == null || found.configIndex() > best.configIndex()) best = found;
                } catch (IOException | FrameException | IllegalArgumentException e) {
                    failures.add(a + ": " + e.getMessage());
                }
            }
            if (System.nanoTime() > deadline) break;
            java.util.concurrent.locks.LockSupport.parkNanos(ROUND_PAUSE_NANOS);
        }
        if (best == null) throw new IOException("no member to join answered: " + String.join("; ", failures));
        return best;
    }

    /** Between two rounds of asking: the add's entry reaches the others within a heartbeat or two. */
    private static final long ROUND_PAUSE_NANOS = 100_000_000;

    /** {@code sockets}: plain, or TLS as the node dials its peers (NodeTls). */
    private static Found ask(InetSocketAddress address, int timeoutMs, SocketFactory sockets) throws IOException {
        try (Socket socket = sockets.createSocket()) {
            socket.setSoTimeout(timeoutMs);
            socket.connect(address, timeoutMs);
            OutputStream out = socket.getOutputStream();
            out.write(whole(ClientCodec.helloClient()));
            out.write(whole(ClientCodec.request(new ClientRequest.MemberList(1))));
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int length = in.readInt();
            if (length < 1 || length > ANSWER_BYTES_MAX) throw new IOException("answer of " + length + " bytes");
            byte type = in.readByte();
            byte[] body = new byte[length - 1];
            in.readFully(body);
            ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
            if (!(r instanceof ClientResponse.Members m)) throw new IOException("answered " + r);
            List<Membership.Member> members = new ArrayList<>();
            for (MemberInfo i : m.members()) {
                members.add(new Membership.Member(i.id(), i.learner() ? Membership.Role.LEARNER : Membership.Role.VOTER, i.address()));
            }
            return new Found(m.clusterId(), new Membership(members, new int[0]), m.configIndex());
        }
    }

    private static byte[] whole(ByteBuffer frame) {
        byte[] bytes = new byte[frame.remaining()];
        frame.get(bytes);
        return bytes;
    }
}
