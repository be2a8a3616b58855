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
 */
final class SegmentWriter implements Closeable {

    private final Path dir;
    private final long segmentBytesMax;
    private long number;
    private FileChannel channel;
    private long sizeBytes;
    private boolean unsynced;

    private SegmentWriter(Path dir, long segmentBytesMax, long number, FileChannel channel, long sizeBytes) {
        this.dir = dir;
        this.segmentBytesMax = segmentBytesMax;
        this.number = number;
        this.channel = channel;
        this.sizeBytes = sizeBytes;
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
        channel.close();
        channel = null;
        channel = createSegment(dir, number + 1);
        number++;
        sizeBytes = WalFormat.SEGMENT_HEADER_BYTES;
    }

    private static void writeFully(FileChannel channel, ByteBuffer src, long position) throws IOException {
        long at = position;
        while (src.hasRemaining()) at += channel.write(src, at);
    }

    @Override
    public void close() throws IOException {
        if (channel != null) channel.close();
        channel = null;
    }
}
