package io.raftkv.sim;

import io.raftkv.server.Timers;

import java.util.HashSet;
import java.util.Set;

/**
 * The request table's timers for one life of a simulated node, on the simulation's virtual clock. After a
 * timer's task the node processes its Ready, as a real node does at the end of the loop turn that fired it.
 * A crash kills them all.
 */
final class SimTimers implements Timers {

    private record Label(int nodeId, long timerId) {
        @Override
        public String toString() {
            return "timer n" + nodeId + "#" + timerId;
        }
    }

    private final int nodeId;
    private final SimEvents events;
    private final Runnable afterFire;
    private final Set<Long> live = new HashSet<>();
    private long nextId;
    private boolean dead;

    SimTimers(int nodeId, SimEvents events, Runnable afterFire) {
        this.nodeId = nodeId;
        this.events = events;
        this.afterFire = afterFire;
    }

    @Override
    public long schedule(long delayMs, Runnable task) {
        long id = ++nextId;
        live.add(id);
        events.after(delayMs, new Label(nodeId, id), () -> {
            if (dead || !live.remove(id)) return;
            task.run();
            afterFire.run();
        });
        return id;
    }

    @Override
    public void cancel(long timerId) {
        live.remove(timerId);
    }

    void kill() {
        dead = true;
        live.clear();
    }
}
