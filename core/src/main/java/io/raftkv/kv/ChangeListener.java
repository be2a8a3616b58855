package io.raftkv.kv;

import io.raftkv.protocol.WatchEvent;

import java.util.List;

/** Hears what each applied command changed: how watches learn of new revisions. Called on the applying thread. */
public interface ChangeListener {

    ChangeListener NONE = new ChangeListener() {
        @Override
        public boolean listening() {
            return false;
        }

        @Override
        public void changed(long revision, List<WatchEvent> events) {
        }

        @Override
        public void replaced() {
        }
    };

    /** Whether changes are wanted now: while not, writes record none, and the write path costs nothing more. */
    boolean listening();

    /** The command applied at {@code revision} made {@code events} (in key order; never empty). */
    void changed(long revision, List<WatchEvent> events);

    /** The store was replaced by a snapshot's: the revision jumped, and what happened in between is in its history, if anywhere. */
    void replaced();
}
