package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.raftkv.wal.WalTestFiles.SEGMENT_HEADER_BYTES;
import static io.raftkv.wal.WalTestFiles.assertSameEntries;
import static io.raftkv.wal.WalTestFiles.entries;
import static io.raftkv.wal.WalTestFiles.entry;
import static io.raftkv.wal.WalTestFiles.entryFrameBytes;
import static io.raftkv.wal.WalTestFiles.segment;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Torn tails are cut off and forgotten; every other kind of damage stops the open, naming file and offset. */
class WalRecoveryTest {

    private static final HardState HS = new HardState(1, 1, 3);
    private static final int DATA_BYTES = 20;
    private static final int FRAME_BYTES = entryFrameBytes(DATA_BYTES);

    @TempDir
    Path tmp;

    /** One segment: hard state, then entries 1..count of DATA_BYTES each. */
    private Path writeOneSegment(String name, int count) throws Exception {
        Path dir = tmp.resolve(name);
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
            wal.saveHardState(HS);
            wal.append(entries(1, 1, count, DATA_BYTES));
            wal.sync();
        }
        return dir;
    }

    /** Offset in a {@link #writeOneSegment} file of the record of entry {@code index}. */
    private static long entryRecordOffset(long index) {
        return SEGMENT_HEADER_BYTES + WalTestFiles.HARD_STATE_FRAME_BYTES + (index - 1) * FRAME_BYTES;
    }

    private static WalCorruptionException assertCorrupt(Path dir, Path file, long offset) {
        return assertCorrupt(dir, WalOptions.defaults(), file, offset);
    }

    private static WalCorruptionException assertCorrupt(Path dir, WalOptions options, Path file, long offset) {
        WalCorruptionException e = assertThrows(WalCorruptionException.class, () -> WriteAheadLog.open(dir, options).close());
        assertEquals(file, e.file(), e.getMessage());
        assertEquals(offset, e.offset(), e.getMessage());
        assertTrue(e.getMessage().contains(file.getFileName().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("offset " + offset + ":"), e.getMessage());
        return e;
    }

    private static void assertRecovers(Path dir, List<Entry> expected, long tornTailBytes) throws Exception {
        try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
            assertSameEntries(expected, wal.entries());
            assertEquals(HS, wal.hardState());
            assertEquals(tornTailBytes, wal.tornTailBytes());
        }
    }

    @Test
    void theLastRecordCutAtEveryByteOffsetRecoversEverythingBeforeIt() throws Exception {
        Path original = tmp.resolve("original");
        List<Entry> before = entries(1, 1, 5, DATA_BYTES);
        int lastDataBytes = 3; // a small last record keeps the loop short
        try (WriteAheadLog wal = WriteAheadLog.open(original, WalOptions.defaults())) {
            wal.saveHardState(HS);
            wal.append(before);
            wal.sync();
            wal.append(List.of(entry(1, 6, lastDataBytes)));
            wal.sync();
        }
        long full = Files.size(segment(original, 1));
        long lastStart = full - entryFrameBytes(lastDataBytes);
        for (long cut = lastStart; cut < full; cut++) {
            Path dir = WalTestFiles.copySegments(original, tmp.resolve("cut-" + cut));
            WalTestFiles.truncate(segment(dir, 1), cut);
            try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
                assertSameEntries(before, wal.entries());
                assertEquals(HS, wal.hardState());
                assertEquals(cut - lastStart, wal.tornTailBytes(), "cut at " + cut);
                assertEquals(lastStart, Files.size(segment(dir, 1)), "truncated to the start of the torn record");
                wal.append(List.of(entry(2, 6, 5)));
                wal.sync();
            }
            List<Entry> expected = new ArrayList<>(before);
            expected.add(entry(2, 6, 5));
            try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
                assertSameEntries(expected, wal.entries());
                assertEquals(0, wal.tornTailBytes(), "reopens cleanly after a cut at " + cut);
            }
        }
    }

    @Test
    void aBadCrcInTheLastRecordFollowedByZerosOrNothingIsATornTail() throws Exception {
        Path zeros = writeOneSegment("zeros", 5);
        WalTestFiles.flipBit(segment(zeros, 1), Files.size(segment(zeros, 1)) - 1, 0);
        WalTestFiles.append(segment(zeros, 1), new byte[100]);
        assertRecovers(zeros, entries(1, 1, 4, DATA_BYTES), FRAME_BYTES + 100);
        assertRecovers(zeros, entries(1, 1, 4, DATA_BYTES), 0);

        Path nothing = writeOneSegment("nothing", 5);
        WalTestFiles.flipBit(segment(nothing, 1), entryRecordOffset(5) + 8 + 21, 3);
        assertRecovers(nothing, entries(1, 1, 4, DATA_BYTES), FRAME_BYTES);
    }

    @Test
    void aZeroedPageAtTheEndOfTheTailSegmentIsATornTail() throws Exception {
        Path dir = writeOneSegment("appended", 5);
        WalTestFiles.append(segment(dir, 1), new byte[4096]);
        assertRecovers(dir, entries(1, 1, 5, DATA_BYTES), 4096);
        assertEquals(entryRecordOffset(6), Files.size(segment(dir, 1)));
    }

    @Test
    void aZeroedLastPageOverTheTailRecordsIsATornTail() throws Exception {
        Path dir = writeOneSegment("overwritten", 200);
        long size = Files.size(segment(dir, 1));
        long zeroFrom = size - 4096;
        WalTestFiles.overwrite(segment(dir, 1), zeroFrom, new byte[4096]);
        int survivors = (int) ((zeroFrom - entryRecordOffset(1)) / FRAME_BYTES); // records that end before the zeroed page
        assertTrue(survivors > 0 && survivors < 200);
        assertRecovers(dir, entries(1, 1, survivors, DATA_BYTES), size - entryRecordOffset(survivors + 1));
    }

    @ParameterizedTest(name = "flip at byte {0} of the record")
    @ValueSource(ints = {0, 3, 5, 8, 9, 30})
    void aFlippedBitInAnEarlierRecordIsCorruptionAtThatRecordsOffset(int byteInRecord) throws Exception {
        Path dir = writeOneSegment("flip", 5);
        long damaged = entryRecordOffset(2);
        long size = Files.size(segment(dir, 1));
        WalTestFiles.flipBit(segment(dir, 1), damaged + byteInRecord, 0);
        assertCorrupt(dir, segment(dir, 1), damaged);
        assertEquals(size, Files.size(segment(dir, 1)), "corruption is reported, never repaired");
    }

    @Test
    void aZeroLengthFollowedByRecordsIsCorruption() throws Exception {
        Path dir = writeOneSegment("zero-length", 5);
        WalTestFiles.overwrite(segment(dir, 1), entryRecordOffset(3), new byte[4]);
        assertCorrupt(dir, segment(dir, 1), entryRecordOffset(3));
    }

    @Test
    void anUnknownRecordTypeIsCorruptionEvenAtTheTail() throws Exception {
        Path dir = writeOneSegment("type", 3);
        WalTestFiles.append(segment(dir, 1), WalTestFiles.frame(9, new byte[12]));
        assertCorrupt(dir, segment(dir, 1), entryRecordOffset(4));
    }

    @Test
    void anEntryIndexThatLeavesAGapOrATermThatFallsIsCorruption() throws Exception {
        Path gap = writeOneSegment("gap", 3);
        WalTestFiles.append(segment(gap, 1), WalTestFiles.frame(1, WalTestFiles.entryPayload(1, 5, new byte[2])));
        assertTrue(assertCorrupt(gap, segment(gap, 1), entryRecordOffset(4)).getMessage().contains("gap"));

        Path falling = tmp.resolve("falling");
        try (WriteAheadLog wal = WriteAheadLog.open(falling, WalOptions.defaults())) {
            wal.append(entries(3, 1, 2, DATA_BYTES));
        }
        long offset = Files.size(segment(falling, 1));
        WalTestFiles.append(segment(falling, 1), WalTestFiles.frame(1, WalTestFiles.entryPayload(2, 3, new byte[2])));
        assertCorrupt(falling, segment(falling, 1), offset);
    }

    @Test
    void aRecordOverRecordBytesMaxIsCorruptionOnReadInTheMiddleOrAtTheTail() throws Exception {
        Path dir = tmp.resolve("big");
        WalOptions roomy = new WalOptions(1 << 20, 1024);
        try (WriteAheadLog wal = WriteAheadLog.open(dir, roomy)) {
            wal.append(entries(1, 1, 1, DATA_BYTES));
            wal.append(List.of(entry(1, 2, 500)));
            wal.sync();
        }
        WalOptions tight = new WalOptions(1 << 20, 256);
        long bigRecord = SEGMENT_HEADER_BYTES + FRAME_BYTES;
        assertTrue(assertCorrupt(dir, tight, segment(dir, 1), bigRecord).getMessage().contains("over recordBytesMax"));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, roomy)) {
            wal.append(entries(1, 3, 3, DATA_BYTES));
        }
        assertCorrupt(dir, tight, segment(dir, 1), bigRecord);
    }

    @Test
    void badSegmentHeadersAreCorruption() throws Exception {
        Path magic = writeOneSegment("magic", 2);
        WalTestFiles.overwrite(segment(magic, 1), 0, new byte[] {'X'});
        assertCorrupt(magic, segment(magic, 1), 0);

        Path version = writeOneSegment("version", 2);
        WalTestFiles.overwrite(segment(version, 1), 6, new byte[] {0, 9});
        assertCorrupt(version, segment(version, 1), 6);

        Path number = writeOneSegment("number", 2);
        WalTestFiles.overwrite(segment(number, 1), 15, new byte[] {7});
        assertCorrupt(number, segment(number, 1), 8);

        Path shortHeader = writeOneSegment("short", 2);
        WalTestFiles.truncate(segment(shortHeader, 1), 10);
        assertCorrupt(shortHeader, segment(shortHeader, 1), 0);
    }

    // --- several segments: damage that would be a torn tail in the last segment is corruption in an earlier one

    private static final WalOptions SMALL = new WalOptions(256, 128);
    /** (256 - 16) / 49 = 4 records per segment. */
    private static final int RECORDS_PER_SEGMENT = 4;

    private Path writeThreeSegments(String name) throws Exception {
        Path dir = tmp.resolve(name);
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SMALL)) {
            wal.append(entries(1, 1, 3L * RECORDS_PER_SEGMENT, DATA_BYTES));
            wal.sync();
        }
        assertEquals(3, WalTestFiles.segments(dir).size());
        assertEquals(SEGMENT_HEADER_BYTES + RECORDS_PER_SEGMENT * FRAME_BYTES, Files.size(segment(dir, 1)));
        return dir;
    }

    @Test
    void aMissingMiddleSegmentIsCorruptionNamingIt() throws Exception {
        Path dir = writeThreeSegments("missing-middle");
        Files.delete(segment(dir, 2));
        WalCorruptionException e = assertCorrupt(dir, SMALL, segment(dir, 2), 0);
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void aGapBetweenTheSegmentsLeftAfterAReleaseIsCorruptionNamingTheMissingOne() throws Exception {
        Path dir = tmp.resolve("gap-after-release");
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SMALL)) {
            wal.append(entries(1, 1, 5L * RECORDS_PER_SEGMENT, DATA_BYTES));
            wal.sync();
            assertEquals(2, wal.releaseUpTo(2L * RECORDS_PER_SEGMENT));
        }
        Files.delete(segment(dir, 4));
        assertCorrupt(dir, SMALL, segment(dir, 4), 0);
    }

    @Test
    void withoutSegmentOneTheLogStartsAtTheFirstEntryFoundAsAfterARelease() throws Exception {
        // A lost first segment looks exactly like a released one: only the caller's snapshot can tell them apart.
        Path dir = writeThreeSegments("missing-first");
        Files.delete(segment(dir, 1));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SMALL)) {
            assertEquals(new LogStart(RECORDS_PER_SEGMENT, 0), wal.logStart());
            assertSameEntries(entries(1, RECORDS_PER_SEGMENT + 1, 3L * RECORDS_PER_SEGMENT, DATA_BYTES), wal.entries());
        }
    }

    @Test
    void inSegmentOneTheFirstEntryMustBeIndexOne() throws Exception {
        // Segment 1 is the first a WAL writes: with it present nothing was released, so a later start is a gap.
        Path dir = writeOneSegment("late-start", 0);
        WalTestFiles.append(segment(dir, 1), WalTestFiles.frame(1, WalTestFiles.entryPayload(1, 5, new byte[2])));
        assertTrue(assertCorrupt(dir, segment(dir, 1), entryRecordOffset(1)).getMessage().contains("gap after last index 0"));
    }

    @Test
    void afterALogStartAnEntryThatLeavesAGapOrFallsAtOrBelowItIsCorruption() throws Exception {
        for (long badIndex : new long[] {12, 10, 4}) {
            Path dir = tmp.resolve("log-start-" + badIndex);
            try (WriteAheadLog wal = WriteAheadLog.open(dir, WalOptions.defaults())) {
                wal.append(entries(1, 1, 5, DATA_BYTES));
                wal.resetTo(10, 2);
                wal.sync();
            }
            long offset = Files.size(segment(dir, 1));
            WalTestFiles.append(segment(dir, 1), WalTestFiles.frame(1, WalTestFiles.entryPayload(2, badIndex, new byte[2])));
            String message = assertCorrupt(dir, segment(dir, 1), offset).getMessage();
            assertTrue(message.contains(badIndex > 10 ? "gap after last index 10" : "at or below the log start index 10"), message);
        }
    }

    @Test
    void aLogStartRecordOfTheWrongLengthOrBelowIndexOneIsCorruption() throws Exception {
        Path length = writeOneSegment("log-start-length", 2);
        WalTestFiles.append(segment(length, 1), WalTestFiles.frame(3, new byte[20]));
        assertCorrupt(length, segment(length, 1), entryRecordOffset(3));

        Path zero = writeOneSegment("log-start-zero", 2);
        WalTestFiles.append(segment(zero, 1), WalTestFiles.frame(3, WalTestFiles.logStartPayload(0, 0)));
        assertCorrupt(zero, segment(zero, 1), entryRecordOffset(3));
    }

    @Test
    void aCutOrBadCrcOrZeroTailInAnEarlierSegmentIsCorruption() throws Exception {
        long lastRecord = SEGMENT_HEADER_BYTES + (RECORDS_PER_SEGMENT - 1) * FRAME_BYTES;
        long segmentEnd = SEGMENT_HEADER_BYTES + RECORDS_PER_SEGMENT * FRAME_BYTES;

        Path cut = writeThreeSegments("cut");
        WalTestFiles.truncate(segment(cut, 1), segmentEnd - 3);
        assertCorrupt(cut, SMALL, segment(cut, 1), lastRecord);

        Path crc = writeThreeSegments("crc");
        WalTestFiles.flipBit(segment(crc, 2), segmentEnd - 1, 0);
        assertCorrupt(crc, SMALL, segment(crc, 2), lastRecord);

        Path zeros = writeThreeSegments("zeros");
        WalTestFiles.append(segment(zeros, 1), new byte[4096]);
        assertCorrupt(zeros, SMALL, segment(zeros, 1), segmentEnd);
    }

    @Test
    void aTornTailInTheLastOfSeveralSegmentsIsCutAndTheWalRollsOn() throws Exception {
        Path dir = writeThreeSegments("torn-last");
        long size = Files.size(segment(dir, 3));
        WalTestFiles.truncate(segment(dir, 3), size - 5);
        List<Entry> expected = new ArrayList<>(entries(1, 1, 3L * RECORDS_PER_SEGMENT - 1, DATA_BYTES));
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SMALL)) {
            assertSameEntries(expected, wal.entries());
            assertEquals(FRAME_BYTES - 5, wal.tornTailBytes());
            List<Entry> more = entries(2, 12, 20, DATA_BYTES);
            wal.append(more);
            expected.addAll(more);
            wal.sync();
        }
        try (WriteAheadLog wal = WriteAheadLog.open(dir, SMALL)) {
            assertSameEntries(expected, wal.entries());
            assertEquals(0, wal.tornTailBytes());
        }
        assertEquals(5, WalTestFiles.segments(dir).size());
    }
}
