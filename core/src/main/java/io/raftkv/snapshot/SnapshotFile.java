package io.raftkv.snapshot;

import io.raftkv.raft.Membership;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;

/**
 * One snapshot file: a header saying where in the Raft log it stands ({@link SnapshotMeta}), the state machine's
 * payload, and a trailer with the payload's length and a CRC32C of it all (layout in {@link SnapshotFormat}).
 *
 * <p>A file is written whole under a temporary name, synced, renamed into place and the directory synced: a file
 * with a snapshot's name is complete and durable, and a crash leaves at most a temporary file. Nothing here touches
 * the event loop's state: write and read run on a helper thread.
 */
public final class SnapshotFile {

    /** Writes a snapshot's payload; may write any number of bytes, and need not flush or close the stream. */
    @FunctionalInterface
    public interface PayloadWriter {
        void writeTo(OutputStream out) throws IOException;
    }

    /** Reads a payload that {@link SnapshotFile#read} has verified; the stream ends exactly where the payload does. */
    @FunctionalInterface
    public interface PayloadReader {
        void readFrom(SnapshotMeta meta, InputStream in) throws IOException;
    }

    private static final int BUFFER_BYTES = 64 * 1024;

    private SnapshotFile() {
    }

    /** The file a snapshot at {@code index} / {@code term} has in {@code dir}. */
    public static Path path(Path dir, long index, long term) {
        return dir.resolve(new SnapshotName(index, term).fileName());
    }

    /**
     * Writes the snapshot {@code meta} with the payload {@code payload} into {@code dir}: to a temporary file through
     * a buffer, computing the CRC on the way, then fsync, rename (atomic) to its final name, fsync of the directory.
     * Returns the final path. A snapshot already there at the same index and term is replaced (atomically, so one of
     * them is always whole). On failure, no file of this snapshot is left, temporary or final.
     */
    public static Path write(Path dir, SnapshotMeta meta, PayloadWriter payload) throws IOException {
        SnapshotName name = new SnapshotName(meta.index(), meta.term());
        Path temp = dir.resolve(name.tempFileName());
        Path target = dir.resolve(name.fileName());
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                CRC32C crc = new CRC32C();
                DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new CheckedOutputStream(new SyncingOutput(channel), crc), BUFFER_BYTES));
                out.write(SnapshotFormat.MAGIC);
                out.writeShort(SnapshotFormat.FORMAT_VERSION);
                out.writeLong(meta.index());
                out.writeLong(meta.term());
                byte[] membership = meta.membership().encode();
                out.writeInt(membership.length);
                out.write(membership);
                PayloadOutput payloadOut = new PayloadOutput(out);
                payload.writeTo(payloadOut);
                out.writeLong(payloadOut.bytes);
                out.flush();
                out.writeInt((int) crc.getValue());
                out.write(SnapshotFormat.END_MAGIC);
                out.flush();
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        syncDirectory(dir);
        return target;
    }

    /**
     * Reads the whole file and checks it: its name, magic, format version, trailer, CRC, and that the header stands
     * where the name says. Returns the header; throws {@link SnapshotCorruptionException} naming the file, the offset
     * and the reason otherwise (a missing file included).
     */
    public static SnapshotMeta verify(Path file) throws IOException {
        return verified(file).meta;
    }

    /**
     * {@link #verify}s the file, then hands {@code reader} a stream of exactly its payload. Returns the header. Throws
     * IOException if the reader leaves part of the payload unread (it does not read the format that was written).
     */
    public static SnapshotMeta read(Path file, PayloadReader reader) throws IOException {
        return read(file, verified(file), reader);
    }

    /**
     * {@link #read} for a file outside a snapshot directory, whose name is the operator's choice (a backup made by
     * {@code raftkvctl snapshot save}): every check but the name's.
     */
    public static SnapshotMeta readBackup(Path file, PayloadReader reader) throws IOException {
        Verified v;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            v = verified(file, null, channel);
        } catch (NoSuchFileException e) {
            throw new SnapshotCorruptionException(file, "missing: no such file");
        }
        return read(file, v, reader);
    }

    private static SnapshotMeta read(Path file, Verified v, PayloadReader reader) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            channel.position(v.payloadOffset);
            // The bound sits above the buffer, so that it counts what the reader took, not what the buffer read ahead.
            PayloadInput in = new PayloadInput(new BufferedInputStream(Channels.newInputStream(channel), BUFFER_BYTES), v.payloadBytes);
            reader.readFrom(v.meta, in);
            if (in.remaining > 0) throw new IOException("the payload reader left " + in.remaining + " of " + v.payloadBytes + " bytes of " + file + " unread");
        }
        return v.meta;
    }

    private record Verified(SnapshotMeta meta, long payloadOffset, long payloadBytes) {
    }

    private static Verified verified(Path file) throws IOException {
        SnapshotName name = SnapshotName.parse(file.getFileName().toString())
                .orElseThrow(() -> new SnapshotCorruptionException(file, "the name is not snap-<index, 20 digits>-<term, 20 digits>.snap"));
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return verified(file, name, channel);
        } catch (NoSuchFileException e) {
            throw new SnapshotCorruptionException(file, "missing: no such file");
        }
    }

    private static Verified verified(Path file, SnapshotName name, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size == 0) throw new SnapshotCorruptionException(file, "torn: empty file");
        ByteBuffer head = readAt(channel, 0, (int) Math.min(size, SnapshotFormat.HEADER_FIXED_BYTES));
        byte[] magic = Arrays.copyOf(head.array(), Math.min(head.limit(), SnapshotFormat.MAGIC.length));
        if (!Arrays.equals(magic, Arrays.copyOf(SnapshotFormat.MAGIC, magic.length))) {
            throw new SnapshotCorruptionException(file, 0, "bad magic " + HexFormat.of().formatHex(magic) + ", a snapshot starts with \"RKVSNP\"");
        }
        if (size < SnapshotFormat.HEADER_FIXED_BYTES + SnapshotFormat.TRAILER_BYTES) {
            throw new SnapshotCorruptionException(file, size, "torn: the file ends after " + size + " bytes, a header and a trailer take at least "
                    + (SnapshotFormat.HEADER_FIXED_BYTES + SnapshotFormat.TRAILER_BYTES));
        }
        ByteBuffer trailer = readAt(channel, size - SnapshotFormat.TRAILER_BYTES, SnapshotFormat.TRAILER_BYTES);
        long payloadLength = trailer.getLong();
        int storedCrc = trailer.getInt();
        byte[] endMagic = new byte[SnapshotFormat.END_MAGIC.length];
        trailer.get(endMagic);
        if (!Arrays.equals(endMagic, SnapshotFormat.END_MAGIC)) {
            throw new SnapshotCorruptionException(file, size - SnapshotFormat.END_MAGIC.length, "torn: trailer missing (no end magic \"RKVEND\" at the end)");
        }
        long crcAt = size - SnapshotFormat.CRC_FROM_END;
        int computedCrc = crc(channel, crcAt);
        if (computedCrc != storedCrc) {
            throw new SnapshotCorruptionException(file, crcAt, String.format("bad CRC: the trailer says %08x, the bytes give %08x", storedCrc, computedCrc));
        }
        // The CRC matched: what follows can only be wrong if a writer wrote it so, or the file was renamed.
        int formatVersion = head.getShort(SnapshotFormat.VERSION_OFFSET) & 0xffff;
        if (formatVersion != SnapshotFormat.FORMAT_VERSION) {
            throw new SnapshotCorruptionException(file, SnapshotFormat.VERSION_OFFSET, "format version " + formatVersion + ", this build reads " + SnapshotFormat.FORMAT_VERSION);
        }
        long index = head.getLong(SnapshotFormat.INDEX_OFFSET);
        long term = head.getLong(SnapshotFormat.TERM_OFFSET);
        long membershipBytes = Integer.toUnsignedLong(head.getInt(SnapshotFormat.MEMBERSHIP_LENGTH_OFFSET));
        if (membershipBytes < 1 || membershipBytes > SnapshotFormat.MEMBERSHIP_BYTES_MAX
                || SnapshotFormat.headerBytes((int) membershipBytes) + SnapshotFormat.TRAILER_BYTES > size) {
            throw new SnapshotCorruptionException(file, SnapshotFormat.MEMBERSHIP_LENGTH_OFFSET, "membership length " + membershipBytes
                    + " outside [1, " + SnapshotFormat.MEMBERSHIP_BYTES_MAX + "] or past the file's end");
        }
        int headerBytes = SnapshotFormat.headerBytes((int) membershipBytes);
        long payloadBytes = size - headerBytes - SnapshotFormat.TRAILER_BYTES;
        if (payloadLength != payloadBytes) {
            throw new SnapshotCorruptionException(file, size - SnapshotFormat.TRAILER_BYTES, "the trailer says the payload takes " + payloadLength
                    + " bytes, the file holds " + payloadBytes + " between header and trailer");
        }
        if (name != null && index != name.index()) throw new SnapshotCorruptionException(file, SnapshotFormat.INDEX_OFFSET, "header says index " + index + " but the name says " + name.index());
        if (name != null && term != name.term()) throw new SnapshotCorruptionException(file, SnapshotFormat.TERM_OFFSET, "header says term " + term + " but the name says " + name.term());
        ByteBuffer membership = readAt(channel, SnapshotFormat.HEADER_FIXED_BYTES, (int) membershipBytes);
        try {
            return new Verified(new SnapshotMeta(index, term, Membership.decode(membership)), headerBytes, payloadBytes);
        } catch (IllegalArgumentException e) {
            throw new SnapshotCorruptionException(file, SnapshotFormat.INDEX_OFFSET, "impossible header: " + e.getMessage());
        }
    }

    /** CRC32C of the bytes [0, end). */
    private static int crc(FileChannel channel, long end) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES);
        for (long at = 0; at < end; ) {
            buffer.clear().limit((int) Math.min(BUFFER_BYTES, end - at));
            int n = channel.read(buffer, at);
            if (n < 0) throw new IOException("the file shrank while it was read");
            buffer.flip();
            crc.update(buffer);
            at += n;
        }
        return (int) crc.getValue();
    }

    private static ByteBuffer readAt(FileChannel channel, long position, int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        while (b.hasRemaining()) {
            if (channel.read(b, position + b.position()) < 0) throw new IOException("the file shrank while it was read");
        }
        return b.flip();
    }

    /** fsync of the directory itself: a created, renamed or deleted file is durable only after it. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Bytes a snapshot's writer leaves unsynced at most (see {@link SyncingOutput}). */
    static final long SYNC_INTERVAL_BYTES = 8L << 20;

    /**
     * The file, synced every {@link #SYNC_INTERVAL_BYTES}: a snapshot of a large store would otherwise leave hundreds of
     * megabytes of dirty pages for its final fsync, and the node's WAL syncs would wait behind that flush on a shared
     * disk (a put's tail latency went from 21 ms to 81 ms at p99.9 while 300 MB snapshots were written).
     */
    private static final class SyncingOutput extends OutputStream {
        private final FileChannel channel;
        private final OutputStream out;
        private long unsynced;

        SyncingOutput(FileChannel channel) {
            this.channel = channel;
            this.out = Channels.newOutputStream(channel);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            written(1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            written(len);
        }

        private void written(long n) throws IOException {
            unsynced += n;
            if (unsynced < SYNC_INTERVAL_BYTES) return;
            channel.force(false);
            unsynced = 0;
        }
    }

    /** The payload writer's view of the file: counts what it writes, and its close leaves the file open. */
    private static final class PayloadOutput extends OutputStream {
        private final OutputStream out;
        long bytes;

        PayloadOutput(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            bytes++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            bytes += len;
        }

        @Override
        public void close() {
            // The file goes on with the trailer.
        }
    }

    /** The payload reader's view of the file: exactly the payload, then end of stream. */
    private static final class PayloadInput extends InputStream {
        private final InputStream in;
        long remaining;

        PayloadInput(InputStream in, long bytes) {
            this.in = in;
            this.remaining = bytes;
        }

        @Override
        public int read() throws IOException {
            if (remaining == 0) return -1;
            int b = in.read();
            if (b < 0) throw new IOException("the file ended inside its payload");
            remaining--;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) return 0;
            if (remaining == 0) return -1;
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n < 0) throw new IOException("the file ended inside its payload");
            remaining -= n;
            return n;
        }

        @Override
        public void close() {
            // The channel is closed by read.
        }
    }
}
