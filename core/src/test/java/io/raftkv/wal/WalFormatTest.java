package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The bytes on disk are exactly the layout docs/wal.md draws, built here by hand. */
class WalFormatTest {

    @TempDir
    Path tmp;

    @Test
    void aSegmentIsTheHeaderThenRecordsAsDocumented() throws Exception {
        Path dir = tmp.resolve("wal");
        byte[] data = {'a', 'b'};
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
            wal.saveHardState(new HardState(5, 2, 9));
            wal.append(List.of(new Entry(5, 1, data)));
            wal.sync();
        }
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.writeBytes(new byte[] {'R', 'K', 'V', 'W', 'A', 'L', 0, 1, 0, 0, 0, 0, 0, 0, 0, 1});
        byte[] hardState = WalTestFiles.frame(2, WalTestFiles.hardStatePayload(5, 2, 9));
        byte[] entry = WalTestFiles.frame(1, WalTestFiles.entryPayload(5, 1, data));
        // Spell out the first record's header: length 21 (type + payload), then the CRC.
        assertArrayEquals(new byte[] {0, 0, 0, 21}, java.util.Arrays.copyOf(hardState, 4));
        assertArrayEquals(new byte[] {0, 0, 0, 23}, java.util.Arrays.copyOf(entry, 4));
        expected.writeBytes(hardState);
        expected.writeBytes(entry);
        assertArrayEquals(expected.toByteArray(), Files.readAllBytes(WalTestFiles.segment(dir, 1)));
    }

    @Test
    void aLogStartRecordIsItsIndexThenItsTerm() throws Exception {
        Path dir = tmp.resolve("wal");
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
            wal.resetTo(7, 3);
            wal.sync();
        }
        byte[] segment = Files.readAllBytes(WalTestFiles.segment(dir, 1));
        byte[] logStart = WalTestFiles.frame(3, WalTestFiles.logStartPayload(7, 3));
        assertArrayEquals(new byte[] {0, 0, 0, 17}, java.util.Arrays.copyOf(logStart, 4));
        assertArrayEquals(logStart, java.util.Arrays.copyOfRange(segment, 16, segment.length));
    }
}
