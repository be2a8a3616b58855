package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Reads every segment in order and rebuilds the hard state and the log, telling a torn tail (what a crash
 * during a write leaves, cut off and forgotten) from corruption (anything else, which stops the node).
 * The rules are listed in docs/wal.md, "Recovery".
 */
final class WalReplay {

    /**
     * What replay found.
     *
     * @param entries               the log after {@code logStart}, in index order
     * @param highestIndexBySegment for every segment, the highest index any of its records names (0 for none):
     *                              what releasing segments goes by
     * @param lastSegment           number of the last segment, 0 when the directory holds none
     * @param lastSegmentBytes      its size after any torn tail was cut off: where the next record goes
     * @param tornTailBytes         bytes cut off the end of the last segment (0 when it ended cleanly)
     */
    record Result(HardState hardState, LogStart logStart, ArrayList<Entry> entries, TreeMap<Long, Long> highestIndexBySegment,
                  long lastSegment, long lastSegmentBytes, long tornTailBytes) {
    }

    /** What fixed where the log starts, which decides whether an entry below the start is corruption. */
    private enum StartSource {
        /** Segment 1 is gone and no ENTRY or LOG_START has been read yet. */
        NOT_YET,
        /** The first entry found, in a segment after released ones: its term before it is unknown. */
        FIRST_ENTRY,
        /** Segment 1 (a log from index 1) or a LOG_START record. */
        RECORDED
    }

    private final Path dir;
    private final WalOptions options;
    private final System.Logger logger;
    private final CRC32C crc = new CRC32C();
    private final ArrayList<Entry> entries = new ArrayList<>();
    private final TreeMap<Long, Long> highestIndexBySegment = new TreeMap<>();
    private HardState hardState = HardState.EMPTY;
    private LogStart logStart = LogStart.INITIAL;
    private StartSource startSource;
    /** Highest index named by a record of the segment being replayed. */
    private long segmentIndexHighest;
    private long tornTailBytes;

    private WalReplay(Path dir, WalOptions options, System.Logger logger) {
        this.dir = dir;
        this.options = options;
        this.logger = logger;
    }

    static Result run(Path dir, WalOptions options, System.Logger logger) throws IOException {
        return new WalReplay(dir, options, logger).replayAll();
    }

    private Result replayAll() throws IOException {
        List<Long> numbers = SegmentFiles.list(dir);
        // Released segments go from the front, oldest first, so what is left is numbered without gaps from
        // any first number; a gap between two present segments is a lost segment.
        for (int i = 1; i < numbers.size(); i++) {
            long expected = numbers.get(0) + i;
            if (numbers.get(i) != expected) {
                throw new WalCorruptionException(SegmentFiles.path(dir, expected), 0,
                        "segment missing (the next one present is " + SegmentFiles.name(numbers.get(i)) + ")");
            }
        }
        // Segment 1 is the first a WAL ever writes, so with it present nothing was released: the log starts at 1.
        startSource = numbers.isEmpty() || numbers.get(0) == 1 ? StartSource.RECORDED : StartSource.NOT_YET;
        long lastSegmentBytes = 0;
        for (int i = 0; i < numbers.size(); i++) {
            segmentIndexHighest = 0;
            lastSegmentBytes = replaySegment(numbers.get(i), i == numbers.size() - 1);
            highestIndexBySegment.put(numbers.get(i), segmentIndexHighest);
        }
        long lastSegment = numbers.isEmpty() ? 0 : numbers.get(numbers.size() - 1);
        return new Result(hardState, logStart, entries, highestIndexBySegment, lastSegment, lastSegmentBytes, tornTailBytes);
    }

    /** Replays one segment; returns the offset where its clean records end. */
    private long replaySegment(long number, boolean last) throws IOException {
        Path file = SegmentFiles.path(dir, number);
        try (SegmentInput in = new SegmentInput(file, WalFormat.RECORD_HEADER_BYTES + options.recordBytesMax())) {
            checkHeader(file, in, number);
            long size = in.sizeBytes();
            long position = WalFormat.SEGMENT_HEADER_BYTES;
            while (position < size) {
                if (!in.ensure(position, WalFormat.RECORD_HEADER_BYTES)) {
                    return tornOrCorrupt(file, last, size, position, "record header cut short (" + (size - position) + " of "
                            + WalFormat.RECORD_HEADER_BYTES + " bytes)");
                }
                int at = in.indexOf(position);
                long length = Integer.toUnsignedLong(in.window().getInt(at));
                int storedCrc = in.window().getInt(at + 4);
                if (length == 0) {
                    if (last && in.onlyZerosFrom(position)) return cutZeros(file, size, position);
                    throw new WalCorruptionException(file, position, "zero record length"
                            + (last ? " followed by non-zero bytes" : " in a segment that is not the last"));
                }
                if (length > options.recordBytesMax()) {
                    throw new WalCorruptionException(file, position, "record length " + length + " over recordBytesMax " + options.recordBytesMax());
                }
                long bodyStart = position + WalFormat.RECORD_HEADER_BYTES;
                if (!in.ensure(bodyStart, (int) length)) {
                    return tornOrCorrupt(file, last, size, position, "record of " + length + " bytes runs past the end of the file (" + size + " bytes)");
                }
                int body = in.indexOf(bodyStart);
                crc.reset();
                crc.update(in.window().duplicate().position(body).limit(body + (int) length));
                if ((int) crc.getValue() != storedCrc) {
                    long end = bodyStart + length;
                    if (last && in.onlyZerosFrom(end)) return truncate(file, size, position, "bad CRC and only zeros after it");
                    throw new WalCorruptionException(file, position, "bad CRC"
                            + (last ? " with non-zero bytes after the record" : " in a segment that is not the last"));
                }
                decode(file, position, in.window(), body, (int) length);
                position = bodyStart + length;
            }
            return position;
        }
    }

    private static void checkHeader(Path file, SegmentInput in, long number) throws IOException {
        if (!in.ensure(0, WalFormat.SEGMENT_HEADER_BYTES)) {
            throw new WalCorruptionException(file, 0, "segment header cut short: the file is " + in.sizeBytes() + " bytes");
        }
        ByteBuffer w = in.window();
        int at = in.indexOf(0);
        for (int i = 0; i < WalFormat.MAGIC.length; i++) {
            if (w.get(at + i) != WalFormat.MAGIC[i]) throw new WalCorruptionException(file, 0, "bad magic: not a raftkv WAL segment");
        }
        short version = w.getShort(at + WalFormat.VERSION_OFFSET);
        if (version != WalFormat.VERSION) {
            throw new WalCorruptionException(file, WalFormat.VERSION_OFFSET, "unsupported format version " + Short.toUnsignedInt(version));
        }
        long stored = w.getLong(at + WalFormat.NUMBER_OFFSET);
        if (stored != number) {
            throw new WalCorruptionException(file, WalFormat.NUMBER_OFFSET, "header says segment " + stored + ", file name says " + number);
        }
    }

    /** A cut-off record is a torn write only at the very end of the log; anywhere else a write that was synced is gone. */
    private long tornOrCorrupt(Path file, boolean last, long size, long position, String reason) throws IOException {
        if (!last) throw new WalCorruptionException(file, position, reason + " in a segment that is not the last");
        return truncate(file, size, position, reason);
    }

    private long truncate(Path file, long size, long position, String reason) throws IOException {
        cut(file, size, position);
        logger.log(System.Logger.Level.WARNING, "WAL torn tail: truncated {0} at offset {1}, dropping {2} bytes ({3})",
                file, position, tornTailBytes, reason);
        return position;
    }

    /** Zeros alone after the last record: what a crash leaves of the space written ahead (SegmentWriter), no record lost. */
    private long cutZeros(Path file, long size, long position) throws IOException {
        cut(file, size, position);
        logger.log(System.Logger.Level.INFO, "WAL: cut {0} at offset {1}, after its last record: {2} bytes of zeros (space written ahead"
                + " of the records, or a write that never reached the disk)", file, position, tornTailBytes);
        return position;
    }

    private void cut(Path file, long size, long position) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(position);
            // force(true): a shrink changes only metadata, which fdatasync need not flush.
            channel.force(true);
        }
        tornTailBytes = size - position;
    }

    private void decode(Path file, long position, ByteBuffer w, int body, int length) throws WalCorruptionException {
        byte type = w.get(body);
        switch (type) {
            case WalFormat.TYPE_ENTRY -> decodeEntry(file, position, w, body, length);
            case WalFormat.TYPE_HARD_STATE -> decodeHardState(file, position, w, body, length);
            case WalFormat.TYPE_LOG_START -> decodeLogStart(file, position, w, body, length);
            default -> throw new WalCorruptionException(file, position, "unknown record type " + type);
        }
    }

    private void decodeEntry(Path file, long position, ByteBuffer w, int body, int length) throws WalCorruptionException {
        if (length < WalFormat.ENTRY_BODY_FIXED_BYTES) {
            throw new WalCorruptionException(file, position, "entry record of " + length + " bytes is shorter than its fixed fields");
        }
        long term = w.getLong(body + 1);
        long index = w.getLong(body + 9);
        int dataLength = w.getInt(body + 17);
        if (dataLength < 0 || WalFormat.entryBodyBytes(dataLength) != length) {
            throw new WalCorruptionException(file, position, "entry data length " + Integer.toUnsignedLong(dataLength) + " does not match record length " + length);
        }
        if (term < 1 || index < 1) throw new WalCorruptionException(file, position, "entry term " + term + " and index " + index + " must start at 1");
        if (startSource == StartSource.NOT_YET) {
            // The segments before this one were released: the log starts here, after a boundary whose term only
            // the caller's snapshot knows.
            logStart = new LogStart(index - 1, 0);
            startSource = StartSource.FIRST_ENTRY;
        }
        long lastIndex = logStart.index() + entries.size();
        if (index > lastIndex + 1) {
            throw new WalCorruptionException(file, position, "entry index " + index + " leaves a gap after last index " + lastIndex);
        }
        if (index <= logStart.index()) {
            if (startSource == StartSource.RECORDED) {
                throw new WalCorruptionException(file, position, "entry index " + index + " is at or below the log start index " + logStart.index());
            }
            // A start found from the first entry is only as low as the oldest segment kept. This record replaced
            // entries from index on (§5.3) while the segment holding the ones before it still existed; that
            // segment was released since, so the log now starts here.
            entries.clear();
            logStart = new LogStart(index - 1, 0);
        }
        int slot = (int) (index - logStart.index() - 1); // where index goes in entries
        long previousTerm = slot == 0 ? logStart.term() : entries.get(slot - 1).term();
        if (term < previousTerm) {
            throw new WalCorruptionException(file, position, "entry " + index + " has term " + term + ", below term " + previousTerm + " of the entry before it");
        }
        byte[] data = new byte[dataLength];
        w.get(body + WalFormat.ENTRY_BODY_FIXED_BYTES, data);
        // Raft's conflicting-suffix rule, exactly as append applied it before the crash.
        entries.subList(slot, entries.size()).clear();
        entries.add(new Entry(term, index, data));
        segmentIndexHighest = Math.max(segmentIndexHighest, index);
        if (logStart.index() + entries.size() != index) {
            throw new IllegalStateException("log ends at " + (logStart.index() + entries.size()) + " after replaying index " + index);
        }
    }

    private void decodeLogStart(Path file, long position, ByteBuffer w, int body, int length) throws WalCorruptionException {
        if (length != WalFormat.LOG_START_BODY_BYTES) {
            throw new WalCorruptionException(file, position, "log start record of " + length + " bytes, expected " + WalFormat.LOG_START_BODY_BYTES);
        }
        long index = w.getLong(body + 1);
        long term = w.getLong(body + 9);
        // resetTo and releaseUpTo write a log start only past at least one entry, so both are at least 1.
        if (index < 1 || term < 1) throw new WalCorruptionException(file, position, "log start index " + index + " and term " + term + " must be at least 1");
        entries.clear();
        logStart = new LogStart(index, term);
        startSource = StartSource.RECORDED;
        segmentIndexHighest = Math.max(segmentIndexHighest, index);
    }

    private void decodeHardState(Path file, long position, ByteBuffer w, int body, int length) throws WalCorruptionException {
        if (length != WalFormat.HARD_STATE_BODY_BYTES) {
            throw new WalCorruptionException(file, position, "hard state record of " + length + " bytes, expected " + WalFormat.HARD_STATE_BODY_BYTES);
        }
        long term = w.getLong(body + 1);
        int vote = w.getInt(body + 9);
        long commit = w.getLong(body + 13);
        if (term < 0 || commit < 0) throw new WalCorruptionException(file, position, "hard state term " + term + " or commit " + commit + " is negative");
        hardState = new HardState(term, vote, commit);
    }
}
