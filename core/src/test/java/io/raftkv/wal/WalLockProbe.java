package io.raftkv.wal;

import java.nio.file.Path;

/**
 * A separate process for {@link WalLockProcessTest}: tries to open the WAL in args[0]. Exit 3 when the
 * directory is locked, 0 when it opened (and closed it again), 1 on anything else.
 */
public final class WalLockProbe {

    static final int EXIT_OPENED = 0;
    static final int EXIT_FAILED = 1;
    static final int EXIT_LOCKED = 3;

    private WalLockProbe() {
    }

    public static void main(String[] args) {
        int exit;
        try (WriteAheadLog wal = WriteAheadLog.open(Path.of(args[0]), WalOptions.defaults())) {
            System.out.println("opened " + wal.dir() + " with " + wal.lastIndex() + " entries");
            exit = EXIT_OPENED;
        } catch (WalLockedException e) {
            System.out.println("locked: " + e.getMessage());
            exit = EXIT_LOCKED;
        } catch (Throwable t) {
            t.printStackTrace(System.out);
            exit = EXIT_FAILED;
        }
        System.exit(exit);
    }
}
