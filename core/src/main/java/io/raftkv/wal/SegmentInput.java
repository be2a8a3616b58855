package io.raftkv.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a segment through a window of bytes, so replay makes a few large reads instead of two per record
 * and never holds more than one window (at most one largest record) in memory, whatever the segment size.
 */
final class SegmentInput implements Closeable {

    static final int WINDOW_BYTES_INITIAL = 1024 * 1024;
    private static final int ZERO_SCAN_BYTES = 64 * 1024;

    private final FileChannel channel;
    private final long sizeBytes;
    private final int windowBytesMax;
    private ByteBuffer window;
    /** File offset of window[0]; the window holds [windowStart, windowStart + window.limit()). */
    private long windowStart;

    SegmentInput(Path file, int windowBytesMax) throws IOException {
        this.channel = FileChannel.open(file, StandardOpenOption.READ);
        this.sizeBytes = channel.size();
        this.windowBytesMax = Math.max(windowBytesMax, ZERO_SCAN_BYTES);
        this.window = ByteBuffer.allocate(Math.min(WINDOW_BYTES_INITIAL, this.windowBytesMax));
        this.window.limit(0);
    }

    long sizeBytes() {
        return sizeBytes;
    }

    /**
     * Makes the bytes [position, position + bytes) readable in {@link #window()}; false if the file ends
     * first. Bytes before {@code position} may be dropped.
     */
    boolean ensure(long position, int bytes) throws IOException {
        if (bytes < 0 || bytes > windowBytesMax) throw new IllegalArgumentException("cannot hold " + bytes + " bytes, window max " + windowBytesMax);
        if (position + bytes > sizeBytes) return false;
        if (position >= windowStart && position + bytes <= windowStart + window.limit()) return true;
        if (bytes > window.capacity()) {
            window = ByteBuffer.allocate((int) Math.min(Math.max((long) window.capacity() * 2, bytes), windowBytesMax));
        }
        window.clear();
        window.limit((int) Math.min(window.capacity(), sizeBytes - position));
        long at = position;
        while (window.hasRemaining()) {
            int read = channel.read(window, at);
            if (read < 0) throw new IOException("segment shrank while being read at " + at);
            at += read;
        }
        window.flip();
        windowStart = position;
        return true;
    }

    ByteBuffer window() {
        return window;
    }

    /** Index in {@link #window()} of file offset {@code position}, which {@link #ensure} made readable. */
    int indexOf(long position) {
        return (int) (position - windowStart);
    }

    /** Whether every byte from {@code position} to the end of the file is zero (true when there are none). */
    boolean onlyZerosFrom(long position) throws IOException {
        long at = position;
        while (at < sizeBytes) {
            int bytes = (int) Math.min(ZERO_SCAN_BYTES, sizeBytes - at);
            ensure(at, bytes);
            int from = indexOf(at);
            for (int i = from; i < from + bytes; i++) {
                if (window.get(i) != 0) return false;
            }
            at += bytes;
        }
        return true;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
