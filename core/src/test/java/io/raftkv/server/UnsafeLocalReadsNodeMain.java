package io.raftkv.server;

/**
 * A node with a deliberate bug, for tests only: linearizable reads are answered from the node's own map. The
 * chaos harness runs it to show its checks find stale reads. It lives in test sources, so no deployed node
 * can be started this way.
 */
public final class UnsafeLocalReadsNodeMain {

    private UnsafeLocalReadsNodeMain() {
    }

    public static void main(String[] args) throws Exception {
        NodeMain.run(args, InjectedRequestBug.LINEARIZABLE_READS_FROM_LOCAL_MAP);
    }
}
