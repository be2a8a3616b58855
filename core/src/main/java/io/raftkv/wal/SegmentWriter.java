package io.raftkv.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The segment being appended to, and how the next one comes to exist.
 *
 * <p>A new segment is built as {@code wal-N.log.tmp}: header written and synced, then renamed into place
 * and the directory synced. So a file named like a segment always has a whole header and its existence is
 * durable before any record goes into it; a crash mid-way leaves only a temp file, which open deletes.
 *
 * <p><b>Zeros ahead of the records.</b> The file is extended {@link #PREALLOCATE_BYTES} at a time with zeros written
 * past the last record, so that most syncs write data into blocks the file already has: {@code fdatasync} then flushes
 * the data alone, where an append that grows the file also commits the file system's journal (its new size and
 * blocks), which took this machine's sync from about 0.09 ms (fio) to 0.23 ms. Replay cuts a run of zeros after the last
 * record of the last segment (docs/wal.md, "Recovery"); a segment that is finished, or closed, is cut to its records
 * first, so only the last segment of a crashed log ever ends in zeros.
 */
final class SegmentWriter implements Closeable {

    /** How far ahead of the records the file is zero-filled, at most: one journal commit per this many bytes written. */
    static final long PREALLOCATE_BYTES = 4L << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(64 * 1024);

    private final Path dir;
    private final long segmentBytesMax;
    private long number;
    private FileChannel channel;
    /** Where the records end: the next one goes here. */
    private long sizeBytes;
    /** The file's size: records up to {@link #sizeBytes}, zeros after. */
    private long fileBytes;
    private boolean unsynced;

    private SegmentWriter(Path dir, long segmentBytesMax, long number, FileChannel channel, long sizeBytes) {
        this.dir = dir;
        this.segmentBytesMax = segmentBytesMax;
        this.number = number;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
        this.fileBytes = sizeBytes;
    }

    /** Creates segment {@code number} (durably, see the class comment) and appends to it. */
    static SegmentWriter create(Path dir, long segmentBytesMax, long number) throws IOException {
        return new SegmentWriter(dir, segmentBytesMax, number, createSegment(dir, number), WalFormat.SEGMENT_HEADER_BYTES);
    }

    /** Appends to an existing segment that replay found clean up to {@code sizeBytes}. */
    static SegmentWriter reopen(Path dir, long segmentBytesMax, long number, long sizeBytes) throws IOException {
        FileChannel channel = FileChannel.open(SegmentFiles.path(dir, number), StandardOpenOption.WRITE);
        long actualBytes = channel.size();
        if (actualBytes != sizeBytes) {
            channel.close();
            throw new IllegalStateException("segment " + number + " is " + actualBytes + " bytes, replay ended at " + sizeBytes);
        }
        return new SegmentWriter(dir, segmentBytesMax, number, channel, sizeBytes);
    }

    private static FileChannel createSegment(Path dir, long number) throws IOException {
        Path temp = SegmentFiles.tempPath(dir, number);
        Path target = SegmentFiles.path(dir, number);
        try (FileChannel tempChannel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(tempChannel, WalFormat.segmentHeader(number), 0);
            tempChannel.force(false);
        }
        // Never replace an existing segment: that would destroy records.
        if (Files.exists(target)) throw new IllegalStateException("segment " + target + " already exists");
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        SegmentFiles.syncDirectory(dir);
        return FileChannel.open(target, StandardOpenOption.WRITE);
    }

    long number() {
        return number;
    }

    long sizeBytes() {
        return sizeBytes;
    }

    /** Whether the next {@code bytes} fit without passing segmentBytesMax. */
    boolean fits(long bytes) {
        return sizeBytes + bytes <= segmentBytesMax;
    }

    boolean holdsNoRecord() {
        return sizeBytes == WalFormat.SEGMENT_HEADER_BYTES;
    }

    /** Writes all of src at the end of the segment; durable only after {@link #sync()}. */
    void write(ByteBuffer src) throws IOException {
        int bytes = src.remaining();
        if (!fits(bytes)) throw new IllegalStateException(bytes + " bytes do not fit in segment " + number + " at " + sizeBytes);
        writeFully(channel, src, sizeBytes);
        sizeBytes += bytes;
        unsynced = true;
        if (sizeBytes > fileBytes) fileBytes = sizeBytes;
        if (fileBytes - sizeBytes < PREALLOCATE_BYTES / 2 && fileBytes < segmentBytesMax) zeroFill(Math.min(segmentBytesMax, sizeBytes + PREALLOCATE_BYTES));
    }

    /** Writes zeros from the file's end to {@code end}: the next syncs find their blocks allocated (see the class comment). */
    private void zeroFill(long end) throws IOException {
        while (fileBytes < end) {
            ByteBuffer zeros = ZEROS.duplicate().limit((int) Math.min(ZEROS.capacity(), end - fileBytes));
            fileBytes += channel.write(zeros, fileBytes);
        }
    }

    /** Cuts the zeros after the records off the file, durably: a segment that is not the last must end at its last record. */
    private void cutZeros() throws IOException {
        if (fileBytes == sizeBytes) return;
        channel.truncate(sizeBytes);
        channel.force(true); // a shrink changes only metadata, which fdatasync need not flush
        fileBytes = sizeBytes;
    }

    void sync() throws IOException {
        if (!unsynced) return;
        channel.force(false);
        unsynced = false;
    }

    /**
     * Finishes this segment and moves on to the next. The finished one is synced first, so a later segment
     * never exists while an earlier one can still lose its tail: only the last segment can be torn.
     */
    void roll() throws IOException {
        sync();
        cutZeros();
        channel.close();
        channel = null;
        channel = createSegment(dir, number + 1);
        number++;
        sizeBytes = WalFormat.SEGMENT_HEADER_BYTES;
        fileBytes = sizeBytes;
    }

    private static void writeFully(FileChannel channel, ByteBuffer src, long position) throws IOException {
        long at = position;
        while (src.hasRemaining()) at += channel.write(src, at);
    }

    @Override
    public void close() throws IOException {
        if (channel == null) return;
        try {
            cutZeros();
        } finally {
            channel.close();
            channel = null;
        }
    }
}
