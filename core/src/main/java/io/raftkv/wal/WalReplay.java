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
     * @param entries          the log after {@code logStart}, in index order
     * @param lastSegment      number of the last segment, 0 when the directory holds none
     * @param lastSegmentBytes its size after any torn tail was cut off: where the next record goes
     * @param tornTailBytes    bytes cut off the end of the last segment (0 when it ended cleanly)
     */
    record Result(HardState hardState, LogStart logStart, ArrayList<Entry> entries, long lastSegment, long lastSegmentBytes, long tornTailBytes) {
    }


    private final Path dir;
    private final WalOptions options;
    private final System.Logger logger;
    private final CRC32C crc = new CRC32C();
    private final ArrayList<Entry> entries = new ArrayList<>();
    private HardState hardState = HardState.EMPTY;
    private LogStart logStart = LogStart.INITIAL;
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
        // Segments are numbered from 1 without gaps (no compaction yet); a gap is a lost segment.
        for (int i = 0; i < numbers.size(); i++) {
            long expected = i + 1;
            if (numbers.get(i) != expected) {
                throw new WalCorruptionException(SegmentFiles.path(dir, expected), 0,
                        "segment missing (the next one present is " + SegmentFiles.name(numbers.get(i)) + ")");
            }
        }
        long lastSegmentBytes = 0;
        for (int i = 0; i < numbers.size(); i++) {
            lastSegmentBytes = replaySegment(numbers.get(i), i == numbers.size() - 1);
        }
        long lastSegment = numbers.isEmpty() ? 0 : numbers.get(numbers.size() - 1);
        return new Result(hardState, logStart, entries, lastSegment, lastSegmentBytes, tornTailBytes);
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
                    if (last && in.onlyZerosFrom(position)) return truncate(file, size, position, "zero length and only zeros after it");
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
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(position);
            // force(true): a shrink changes only metadata, which fdatasync need not flush.
            channel.force(true);
        }
        tornTailBytes = size - position;
        logger.log(System.Logger.Level.WARNING, "WAL torn tail: truncated {0} at offset {1}, dropping {2} bytes ({3})",
                file, position, tornTailBytes, reason);
        return position;
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
        long lastIndex = logStart.index() + entries.size();
        if (index > lastIndex + 1) {
            throw new WalCorruptionException(file, position, "entry index " + index + " leaves a gap after last index " + lastIndex);
        }
        if (index <= logStart.index()) {
            throw new WalCorruptionException(file, position, "entry index " + index + " is at or below the log start index " + logStart.index());
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
        // resetTo refuses an index or term below 1, so the writer never produces one.
        if (index < 1 || term < 1) throw new WalCorruptionException(file, position, "log start index " + index + " and term " + term + " must be at least 1");
        entries.clear();
        logStart = new LogStart(index, term);
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
