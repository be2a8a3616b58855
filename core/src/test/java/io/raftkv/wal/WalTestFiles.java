package io.raftkv.wal;

import io.raftkv.raft.Entry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Test helpers: entries with recognisable data, byte-level damage to segment files, and records built by
 * hand from the layout in docs/wal.md (independently of the production encoder).
 */
final class WalTestFiles {

    static final int SEGMENT_HEADER_BYTES = 16;
    static final int HARD_STATE_FRAME_BYTES = 8 + 21;

    private WalTestFiles() {
    }

    static int entryFrameBytes(int dataBytes) {
        return 8 + 21 + dataBytes;
    }

    static Entry entry(long term, long index, int dataBytes) {
        byte[] data = new byte[dataBytes];
        for (int i = 0; i < dataBytes; i++) data[i] = (byte) (index * 31 + term * 7 + i);
        return new Entry(term, index, data);
    }

    static List<Entry> entries(long term, long fromIndex, long toIndex, int dataBytes) {
        List<Entry> list = new ArrayList<>();
        for (long i = fromIndex; i <= toIndex; i++) list.add(entry(term, i, dataBytes));
        return list;
    }

    /** Entry is a record over byte[], whose equals compares references: compare field by field. */
    static void assertSameEntries(List<Entry> expected, List<Entry> actual) {
        assertEquals(expected.size(), actual.size(), "entry count; expected " + expected + " got " + actual);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).term(), actual.get(i).term(), "term at position " + i);
            assertEquals(expected.get(i).index(), actual.get(i).index(), "index at position " + i);
            assertArrayEquals(expected.get(i).data(), actual.get(i).data(), "data at position " + i);
        }
    }

    static Path segment(Path dir, long number) {
        return dir.resolve(String.format("wal-%016d.log", number));
    }

    static List<Path> segments(Path dir) throws IOException {
        List<Path> list = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "wal-*.log")) {
            for (Path f : files) list.add(f);
        }
        list.sort(null);
        return list;
    }

    /** Copies the segments (not the lock file) into a fresh directory. */
    static Path copySegments(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        for (Path f : segments(from)) Files.copy(f, to.resolve(f.getFileName()));
        return to;
    }

    static void flipBit(Path file, long offset, int bit) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ (1 << bit)));
            b.rewind();
            ch.write(b, offset);
        }
    }

    static void truncate(Path file, long sizeBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(sizeBytes);
        }
    }

    static void append(Path file, byte[] bytes) throws IOException {
        Files.write(file, bytes, StandardOpenOption.APPEND);
    }

    static void overwrite(Path file, long offset, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), offset);
        }
    }

    /** A record frame: [u32 length][u32 crc32c][u8 type][payload], the CRC correct. */
    static byte[] frame(int type, byte[] payload) {
        ByteBuffer body = ByteBuffer.allocate(1 + payload.length).put((byte) type).put(payload).flip();
        CRC32C crc = new CRC32C();
        crc.update(body.duplicate());
        return ByteBuffer.allocate(8 + body.remaining()).putInt(body.remaining()).putInt((int) crc.getValue()).put(body).array();
    }

    static byte[] entryPayload(long term, long index, byte[] data) {
        return ByteBuffer.allocate(20 + data.length).putLong(term).putLong(index).putInt(data.length).put(data).array();
    }

    static byte[] hardStatePayload(long term, int vote, long commit) {
        return ByteBuffer.allocate(20).putLong(term).putInt(vote).putLong(commit).array();
    }

    static byte[] logStartPayload(long index, long term) {
        return ByteBuffer.allocate(16).putLong(index).putLong(term).array();
    }
}
