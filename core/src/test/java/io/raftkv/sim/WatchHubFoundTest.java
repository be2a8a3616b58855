package io.raftkv.sim;

import io.raftkv.kv.KvCommand;
import io.raftkv.kv.KvStateMachine;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.WatchRequest;
import io.raftkv.raft.Entry;
import io.raftkv.server.Watches;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** What the watch simulation found in the node's hub ({@link Watches}), each as the smallest story that shows it. */
class WatchHubFoundTest {

    /** A connection as {@code InboundConnections} gives the hub one: a closed one takes nothing more. */
    private static final class Connection implements Watches.Channel {
        boolean open = true;
        int sentAfterClose;
        ClientResponse answer;

        @Override
        public boolean send(ClientResponse frame) {
            if (!open) sentAfterClose++;
            return open;
        }

        @Override
        public long queuedBytes() {
            return 0;
        }
    }

    /**
     * Watch seed 13 (a backlog of 256 bytes, so 1,024 bytes of queue): client1's reader stalled, the answer to a read on
     * the same connection filled the queue, and the OK to its next WATCH_CREATE overflowed it: the connection closed
     * ({@code Connection.send} closes it, and {@code onClosed} tells the hub) while the hub was answering. The hub then
     * registered the watch on the closed connection: a slot of {@code watchesMax} taken for good, and frames sent to a
     * connection that is gone (n5 sent it revision 68); a watch whose send fails falls behind with its events pending,
     * and is given a catch-up step at every tick, for ever. Seeds 16, 474, 527, 822, 866, 888 and 907 of the first 1,000
     * found it too.
     */
    @Test
    void aCreateWhoseAnswerClosesTheConnectionLeavesNoWatch() {
        KvStateMachine kv = new KvStateMachine();
        Watches hub = new Watches(kv::store, 1, () -> 1, () -> 0, new Watches.Limits(10, 10, 1024, 512, 16, 100));
        kv.setChangeListener(hub);
        Connection c = new Connection();
        hub.handle(c, new ClientRequest.WatchCreate(1, WatchRequest.prefix(7, bytes("k"))), response -> {
            c.answer = response;
            c.open = false; // the answer did not fit: the connection closes, and the hub hears it at once
            hub.closed(c);
        });
        assertInstanceOf(ClientResponse.Ok.class, c.answer);
        assertEquals(0, hub.size(), "a watch left on a closed connection");
        kv.apply(new Entry(1, 1, KvCommand.put(bytes("k1"), bytes("v")).encode()));
        hub.tick();
        assertEquals(0, c.sentAfterClose, "frames sent to a connection the hub was told had closed");
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
