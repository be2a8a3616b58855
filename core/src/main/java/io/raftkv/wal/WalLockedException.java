package io.raftkv.wal;

import java.io.IOException;
import java.nio.file.Path;

/** Another process, or another open {@link WriteAheadLog} in this JVM, owns the WAL directory. */
public final class WalLockedException extends IOException {

    private final Path dir;

    public WalLockedException(Path dir) {
        super("WAL directory " + dir + " is locked by another process or by another open WriteAheadLog in this JVM");
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }
}
