package io.raftkv.client;

/** An open watch; {@link #close()} cancels it. */
public interface Watcher extends AutoCloseable {

    /** Every event up to this revision has been handed to the listener (0 before the first). */
    long revision();

    @Override
    void close();
}
