package io.raftkv.server.metrics;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A count that one thread adds to and any thread reads: no lock and no atomic read-modify-write, so counting costs the
 * writer a plain store (an opaque store is one on x86 and ARM). The single writer is a contract, not a check: each
 * counter names its thread where it is declared. Opaque access makes a long whole (never torn) and eventually seen by
 * readers, which is all a scrape needs.
 */
public final class Counter {

    private static final VarHandle VALUE;

    static {
        try {
            VALUE = MethodHandles.lookup().findVarHandle(Counter.class, "value", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // through VALUE
    private long value;

    /** From the writer's thread only. */
    public void add(long n) {
        VALUE.setOpaque(this, value + n);
    }

    /** From the writer's thread only. */
    public void inc() {
        add(1);
    }

    /** From any thread. */
    public long get() {
        return (long) VALUE.getOpaque(this);
    }
}
