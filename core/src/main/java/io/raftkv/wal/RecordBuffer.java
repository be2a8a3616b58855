package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Records encoded since the last write, back to back in one reusable direct buffer, so that a sync is one
 * write of many records and no record is copied again on its way to the file. The buffer starts small and
 * doubles up to {@link #bytesMax}: enough for one largest record. When a record does not fit even then, the
 * owner writes what is buffered (without syncing) and starts over.
 */
final class RecordBuffer {

    static final int INITIAL_BYTES = 64 * 1024;

    private final int bytesMax;
    private final CRC32C crc = new CRC32C();
    private ByteBuffer buffer;

    RecordBuffer(int recordBytesMax) {
        this.bytesMax = Math.max(INITIAL_BYTES, WalFormat.RECORD_HEADER_BYTES + recordBytesMax);
        this.buffer = ByteBuffer.allocateDirect(INITIAL_BYTES);
    }

    boolean isEmpty() {
        return buffer.position() == 0;
    }

    int bufferedBytes() {
        return buffer.position();
    }

    int capacityBytes() {
        return buffer.capacity();
    }

    /**
     * Makes room for a record with this body, growing if the limit allows. Returns false when the buffered
     * records must be written out first.
     */
    boolean reserve(int bodyBytes) {
        int frameBytes = WalFormat.RECORD_HEADER_BYTES + bodyBytes;
        if (frameBytes > bytesMax) throw new IllegalStateException("record of " + frameBytes + " bytes passes the buffer limit " + bytesMax);
        if (buffer.remaining() >= frameBytes) return true;
        int needed = buffer.position() + frameBytes;
        if (needed > bytesMax) return false;
        int capacity = buffer.capacity();
        while (capacity < needed) capacity = (int) Math.min((long) capacity * 2, bytesMax);
        ByteBuffer grown = ByteBuffer.allocateDirect(capacity);
        grown.put(buffer.flip());
        buffer = grown;
        return true;
    }

    void putEntry(Entry e) {
        int start = beginRecord(WalFormat.TYPE_ENTRY, WalFormat.entryBodyBytes(e.data().length));
        buffer.putLong(e.term()).putLong(e.index()).putInt(e.data().length).put(e.data());
        endRecord(start);
    }

    void putHardState(HardState hs) {
        int start = beginRecord(WalFormat.TYPE_HARD_STATE, WalFormat.HARD_STATE_BODY_BYTES);
        buffer.putLong(hs.term()).putInt(hs.vote()).putLong(hs.commit());
        endRecord(start);
    }

    void putLogStart(LogStart start) {
        int startAt = beginRecord(WalFormat.TYPE_LOG_START, WalFormat.LOG_START_BODY_BYTES);
        buffer.putLong(start.index()).putLong(start.term());
        endRecord(startAt);
    }

    private int beginRecord(byte type, int bodyBytes) {
        if (buffer.remaining() < WalFormat.RECORD_HEADER_BYTES + bodyBytes) throw new IllegalStateException("reserve() first");
        int start = buffer.position();
        buffer.putInt(bodyBytes).putInt(0).put(type);
        return start;
    }

    /** Fills in the CRC once the body is in place, and checks the body is exactly as long as its header says. */
    private void endRecord(int start) {
        int bodyStart = start + WalFormat.RECORD_HEADER_BYTES;
        int bodyBytes = buffer.position() - bodyStart;
        if (bodyBytes != buffer.getInt(start)) throw new IllegalStateException("record body " + bodyBytes + " bytes, header says " + buffer.getInt(start));
        crc.reset();
        crc.update(buffer.duplicate().position(bodyStart).limit(bodyStart + bodyBytes));
        buffer.putInt(start + 4, (int) crc.getValue());
    }

    /**
     * The buffered records, for writing: a view from offset 0 to the end of the last record. The caller
     * consumes it and then calls {@link #clear()}.
     */
    ByteBuffer contents() {
        return buffer.duplicate().flip();
    }

    void clear() {
        buffer.clear();
    }
}
