package io.raftkv.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Exclusive ownership of a WAL directory: an OS lock on {@code wal.lock} against other processes, and a
 * JVM-wide set against a second open in this process.
 *
 * <p>The set is checked before the lock file is even opened, and that matters: OS record locks belong to the
 * process, and on Linux closing <em>any</em> descriptor of the file drops them all. A second open that
 * opened the lock file, failed to lock it and closed it again would silently unlock the first owner.
 *
 * <p>The lock file is never deleted: deleting it would let two processes lock two different files of the
 * same name.
 */
final class DirectoryLock implements Closeable {

    static final String FILE_NAME = "wal.lock";

    private static final Set<Path> HELD_IN_THIS_JVM = ConcurrentHashMap.newKeySet();

    private final Path realDir;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean released;

    private DirectoryLock(Path realDir, FileChannel channel, FileLock lock) {
        this.realDir = realDir;
        this.channel = channel;
        this.lock = lock;
    }

    static DirectoryLock acquire(Path dir) throws IOException {
        Path realDir = dir.toRealPath();
        if (!HELD_IN_THIS_JVM.add(realDir)) throw new WalLockedException(dir);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(realDir.resolve(FILE_NAME), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null; // some other code in this JVM locked the file: still not ours
            }
            if (lock == null) throw new WalLockedException(dir);
            return new DirectoryLock(realDir, channel, lock);
        } catch (IOException | RuntimeException | Error e) {
            try {
                if (channel != null) channel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            HELD_IN_THIS_JVM.remove(realDir);
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        if (released) return;
        released = true;
        try {
            lock.release();
        } finally {
            try {
                channel.close();
            } finally {
                HELD_IN_THIS_JVM.remove(realDir);
            }
        }
    }
}
