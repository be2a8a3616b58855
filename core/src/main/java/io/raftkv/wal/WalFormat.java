package io.raftkv.wal;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The on-disk layout in one place; docs/wal.md draws it byte by byte. All integers are big-endian
 * (ByteBuffer's default).
 *
 * <pre>
 * segment header (16 bytes):  [0] magic "RKVWAL"  [6] version u16  [8] segment number u64
 * record:                     [0] length u32  [4] crc32c u32  [8] type u8  [9] payload
 *                             length = 1 + payload bytes; the CRC covers type and payload
 * ENTRY payload:              [0] term u64  [8] index u64  [16] dataLength u32  [20] data
 * HARD_STATE payload:         [0] term u64  [8] vote u32  [12] commit u64
 * LOG_START payload:          [0] index u64  [8] term u64
 * </pre>
 */
final class WalFormat {

    static final byte[] MAGIC = "RKVWAL".getBytes(StandardCharsets.US_ASCII);
    static final short VERSION = 1;
    /** magic (6) + version (2) + segment number (8): the number catches a segment renamed or copied to the wrong place. */
    static final int SEGMENT_HEADER_BYTES = 16;
    static final int VERSION_OFFSET = 6;
    static final int NUMBER_OFFSET = 8;

    /** length (4) + crc32c (4); the type byte belongs to the body that length counts. */
    static final int RECORD_HEADER_BYTES = 8;

    /** Type 0 is never written, so a run of zero bytes is never a valid record. */
    static final byte TYPE_ENTRY = 1;
    static final byte TYPE_HARD_STATE = 2;
    static final byte TYPE_LOG_START = 3;

    /** type (1) + term (8) + index (8) + dataLength (4), before the data. */
    static final int ENTRY_BODY_FIXED_BYTES = 21;
    /** type (1) + term (8) + vote (4) + commit (8). */
    static final int HARD_STATE_BODY_BYTES = 21;
    /** type (1) + index (8) + term (8). */
    static final int LOG_START_BODY_BYTES = 17;

    /** Where, from the start of a record, the type byte and the index an ENTRY or LOG_START names sit. */
    static final int TYPE_OFFSET = RECORD_HEADER_BYTES;
    static final int ENTRY_INDEX_OFFSET = TYPE_OFFSET + 1 + 8;
    static final int LOG_START_INDEX_OFFSET = TYPE_OFFSET + 1;

    private WalFormat() {
    }

    static int entryBodyBytes(int dataBytes) {
        return ENTRY_BODY_FIXED_BYTES + dataBytes;
    }

    /**
     * The log index that the record at {@code recordStart} of {@code records} names (an ENTRY's index, a
     * LOG_START's index), 0 for a record that names none. Releasing segments needs the highest one per segment.
     */
    static long indexNamed(ByteBuffer records, int recordStart) {
        return switch (records.get(recordStart + TYPE_OFFSET)) {
            case TYPE_ENTRY -> records.getLong(recordStart + ENTRY_INDEX_OFFSET);
            case TYPE_LOG_START -> records.getLong(recordStart + LOG_START_INDEX_OFFSET);
            default -> 0;
        };
    }

    static ByteBuffer segmentHeader(long number) {
        ByteBuffer header = ByteBuffer.allocate(SEGMENT_HEADER_BYTES);
        header.put(MAGIC).putShort(VERSION).putLong(number);
        return header.flip();
    }
}
