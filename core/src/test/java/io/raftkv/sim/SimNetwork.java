package io.raftkv.sim;

import java.util.Random;

/**
 * The simulated network between nodes: per-message delay (so reordering), loss and duplication, and a
 * matrix of cut links for partitions, symmetric or one-way. Links are checked at delivery, so a partition
 * also cuts messages already in flight.
 */
final class SimNetwork {

    private final Random random;
    private final boolean[][] cut;
    double lossRate;
    double duplicateRate;
    long delayMsMax = 10;
    /** Extra delay on slow links, per directed link, 0 for none. */
    private final long[][] slowMs;

    SimNetwork(int nodes, Random random) {
        this.random = random;
        this.cut = new boolean[nodes + 1][nodes + 1];
        this.slowMs = new long[nodes + 1][nodes + 1];
    }

    boolean delivers(int from, int to) {
        return !cut[from][to];
    }

    void cut(int from, int to) {
        cut[from][to] = true;
    }

    void cutBoth(int a, int b) {
        cut[a][b] = true;
        cut[b][a] = true;
    }

    void slow(int from, int to, long ms) {
        slowMs[from][to] = ms;
    }

    void heal() {
        for (boolean[] row : cut) java.util.Arrays.fill(row, false);
        for (long[] row : slowMs) java.util.Arrays.fill(row, 0);
        lossRate = 0;
        duplicateRate = 0;
        delayMsMax = 10;
    }

    /** How many copies of a message the network delivers now: 0 (lost), 1, or 2 (duplicated). */
    int copies() {
        if (random.nextDouble() < lossRate) return 0;
        return random.nextDouble() < duplicateRate ? 2 : 1;
    }

    long delayMs(int from, int to) {
        return 1 + random.nextInt((int) delayMsMax) + slowMs[from][to];
    }

    String describe() {
        StringBuilder b = new StringBuilder("loss=").append(lossRate).append(" dup=").append(duplicateRate)
                .append(" delayMax=").append(delayMsMax).append(" cut=[");
        for (int i = 1; i < cut.length; i++) for (int j = 1; j < cut.length; j++) if (cut[i][j]) b.append(i).append("->").append(j).append(' ');
        return b.append(']').toString();
    }
}
