package io.raftkv.wal;

/**
 * Limits of a {@link WriteAheadLog}.
 *
 * @param segmentBytesMax a segment is never written past this size; the next record starts a new segment.
 *                        It must hold the segment header plus one record of {@code recordBytesMax}, so
 *                        that every record fits in some segment and none is ever split.
 * @param recordBytesMax  the largest record body (type byte plus payload). Appends above it are refused;
 *                        a larger declared length found on disk cannot have been written by us, so replay
 *                        reports it as corruption. It also bounds the write buffer and the replay window.
 */
public record WalOptions(long segmentBytesMax, int recordBytesMax) {

    public static final long SEGMENT_BYTES_DEFAULT = 64L * 1024 * 1024;
    public static final int RECORD_BYTES_DEFAULT = 8 * 1024 * 1024;

    /** Room for a hard state record and small entries; anything smaller would refuse ordinary records. */
    public static final int RECORD_BYTES_MIN = 64;
    /** Replay holds one whole record in memory; keep that allocation sane. */
    public static final int RECORD_BYTES_LIMIT = 256 * 1024 * 1024;
    /** Segments are the unit that compaction will delete; bigger ones only make that coarser. */
    public static final long SEGMENT_BYTES_LIMIT = 1L << 30;

    public WalOptions {
        if (recordBytesMax < RECORD_BYTES_MIN || recordBytesMax > RECORD_BYTES_LIMIT) {
            throw new IllegalArgumentException("recordBytesMax " + recordBytesMax + " outside [" + RECORD_BYTES_MIN + ", " + RECORD_BYTES_LIMIT + "]");
        }
        long segmentBytesMin = (long) WalFormat.SEGMENT_HEADER_BYTES + WalFormat.RECORD_HEADER_BYTES + recordBytesMax;
        if (segmentBytesMax < segmentBytesMin || segmentBytesMax > SEGMENT_BYTES_LIMIT) {
            throw new IllegalArgumentException("segmentBytesMax " + segmentBytesMax + " outside [" + segmentBytesMin + ", " + SEGMENT_BYTES_LIMIT
                    + "]: a segment must hold its header and one largest record");
        }
    }

    public static WalOptions defaults() {
        return new WalOptions(SEGMENT_BYTES_DEFAULT, RECORD_BYTES_DEFAULT);
    }
}
