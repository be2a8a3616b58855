package io.raftkv.wal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The directory lock holds against another process, not just against this JVM. */
class WalLockProcessTest {

    private static final long PROBE_SECONDS_MAX = 30;

    @TempDir
    Path tmp;

    @Test
    void anotherProcessCannotOpenALockedDirectory() throws Exception {
        Path dir = tmp.resolve("wal");
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
            // A failed second open in this JVM must not release the OS lock on the way out (see DirectoryLock).
            assertThrows(WalLockedException.class, () -> WriteAheadLog.open(dir, WalOptions.defaults()));
            assertEquals(WalLockProbe.EXIT_LOCKED, runProbe(dir, "locked"));
            assertTrue(wal.entries().isEmpty());
        }
        // The probe really can open the directory once it is free: exit 3 above was the lock, not a setup error.
        assertEquals(WalLockProbe.EXIT_OPENED, runProbe(dir, "free"));
    }

    private int runProbe(Path dir, String name) throws Exception {
        // The console launcher loads test classes through its own class loader, so java.class.path may not
        // contain them: put the probe's own location first.
        String probeLocation = Path.of(WalLockProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        String classPath = probeLocation + File.pathSeparator + System.getProperty("java.class.path");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path output = tmp.resolve("probe-" + name + ".out");
        Process process = new ProcessBuilder(List.of(java, "-cp", classPath, WalLockProbe.class.getName(), dir.toString()))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            boolean exited = process.waitFor(PROBE_SECONDS_MAX, TimeUnit.SECONDS);
            assertTrue(exited, "probe did not exit within " + PROBE_SECONDS_MAX + " s");
            int exit = process.exitValue();
            if (exit == WalLockProbe.EXIT_FAILED) throw new AssertionError("probe failed:\n" + Files.readString(output));
            return exit;
        } finally {
            process.destroyForcibly();
        }
    }
}
