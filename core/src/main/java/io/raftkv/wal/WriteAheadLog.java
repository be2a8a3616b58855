package io.raftkv.wal;

import io.raftkv.raft.Entry;
import io.raftkv.raft.HardState;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The durable log and hard state of one node: segment files in one directory (format and recovery rules in
 * docs/wal.md).
 *
 * <p>Contract for the caller (the node's loop thread; this class is not thread-safe):
 * <ul>
 *   <li>{@link #append}, {@link #saveHardState} and {@link #resetTo} only buffer; nothing is durable until
 *       {@link #sync()} returns. Call sync once per loop turn for everything the turn produced (group commit).</li>
 *   <li>After any I/O error from a write or a sync, the WAL refuses further use: what reached the disk is
 *       unknown (a failed fsync may have dropped dirty pages), so the node must stop and recover by
 *       replaying on restart.</li>
 *   <li>{@link #hardState()}, {@link #logStart()} and {@link #entries()} are what replay found, updated by
 *       every call since, durable or not.</li>
 *   <li>The log need not start at index 1: after {@link #resetTo} (a snapshot from the leader replaced the
 *       log) or {@link #releaseUpTo} (a local snapshot made old entries redundant) it starts after
 *       {@link #logStart()}. The caller keeps the snapshot and, after a reopen, checks that the log starts at or
 *       before the entry after it: a lost oldest segment looks exactly like a released one.</li>
 * </ul>
 *
 * <p>Opening continues the last segment after the last clean record (a torn tail is cut off first); it does
 * not start a new segment, so restarts do not leave a trail of small files.
 */
public final class WriteAheadLog implements Closeable {

    private static final System.Logger LOGGER = System.getLogger(WriteAheadLog.class.getName());

    private final Path dir;
    private final WalOptions options;
    private final DirectoryLock lock;
    private final SegmentWriter writer;
    private final RecordBuffer records;
    /** The entries after logStart, in index order: log.get(i) has index logStart.index() + 1 + i. */
    private final ArrayList<Entry> log;
    /**
     * Every segment present, oldest first, with the highest index any of its records names (an entry or a log
     * start; 0 for none): a segment can be released once that is inside the snapshot.
     */
    private final TreeMap<Long, Long> highestIndexBySegment;
    private final long tornTailBytes;
    private HardState hardState;
    private LogStart logStart;
    private IOException failure;
    private boolean closed;

    private WriteAheadLog(Path dir, WalOptions options, DirectoryLock lock, SegmentWriter writer, WalReplay.Result replayed) {
        this.dir = dir;
        this.options = options;
        this.lock = lock;
        this.writer = writer;
        this.records = new RecordBuffer(options.recordBytesMax());
        this.log = replayed.entries();
        this.logStart = replayed.logStart();
        this.highestIndexBySegment = replayed.highestIndexBySegment();
        highestIndexBySegment.putIfAbsent(writer.number(), 0L); // a new WAL's segment 1
        this.hardState = replayed.hardState();
        this.tornTailBytes = replayed.tornTailBytes();
    }

    /**
     * Opens (creating if needed) the WAL in dir: locks the directory, replays every segment, cuts off a torn
     * tail with a warning, and throws {@link WalCorruptionException} for damage anywhere else.
     *
     * @throws WalLockedException if another process or another open WriteAheadLog in this JVM holds dir
     */
    public static WriteAheadLog open(Path dir, WalOptions options) throws IOException {
        createDirectoryDurably(dir);
        DirectoryLock lock = DirectoryLock.acquire(dir);
        try {
            for (Path temp : SegmentFiles.listTemps(dir)) {
                LOGGER.log(System.Logger.Level.INFO, "WAL: deleting {0}, a segment whose creation a crash interrupted", temp);
                Files.delete(temp);
            }
            WalReplay.Result replayed = WalReplay.run(dir, options, LOGGER);
            SegmentWriter writer = replayed.lastSegment() == 0
                    ? SegmentWriter.create(dir, options.segmentBytesMax(), 1)
                    : SegmentWriter.reopen(dir, options.segmentBytesMax(), replayed.lastSegment(), replayed.lastSegmentBytes());
            return new WriteAheadLog(dir, options, lock, writer, replayed);
        } catch (IOException | RuntimeException | Error e) {
            try {
                lock.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static void createDirectoryDurably(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        Files.createDirectories(dir);
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) SegmentFiles.syncDirectory(parent);
    }

    /** The last hard state saved ({@link HardState#EMPTY} for a new WAL). */
    public HardState hardState() {
        return hardState;
    }

    /** The entries held, from {@link #firstIndex()} in index order, with replaced suffixes already dropped. A copy: O(n). */
    public List<Entry> entries() {
        return List.copyOf(log);
    }

    /** The last log start in effect: {@link LogStart#INITIAL} for a log from index 1. */
    public LogStart logStart() {
        return logStart;
    }

    /** Index of the first entry held; {@code lastIndex() + 1} when none is. */
    public long firstIndex() {
        return logStart.index() + 1;
    }

    /** Index of the last entry; {@code logStart().index()} when none is held (0 for a new WAL). */
    public long lastIndex() {
        return logStart.index() + log.size();
    }

    /** Bytes that open cut off the end of the last segment as a torn write (0 when it ended cleanly). */
    public long tornTailBytes() {
        return tornTailBytes;
    }

    public Path dir() {
        return dir;
    }

    /**
     * Buffers entries. An entry whose index is at or below the last one replaces that entry and every later
     * one (Raft's conflicting-suffix rule, §5.3); replay applies the same rule. The whole call is checked
     * before anything is buffered: on IllegalArgumentException the WAL is unchanged.
     *
     * @throws IllegalArgumentException if the entries start below {@link #firstIndex()}, leave a gap, are not
     *                                  contiguous, lower the term, or one of them passes recordBytesMax
     */
    public void append(List<Entry> entries) throws IOException {
        checkUsable();
        if (entries.isEmpty()) return;
        long first = entries.get(0).index();
        // Below firstIndex the entry to replace is in a snapshot now: that history is no longer the WAL's to rewrite.
        if (first < firstIndex()) throw new IllegalArgumentException("append at " + first + " is below the first index " + firstIndex());
        if (first > lastIndex() + 1) throw new IllegalArgumentException("append at " + first + " leaves a gap after last index " + lastIndex());
        long previousTerm = first == firstIndex() ? logStart.term() : termAt(first - 1);
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (e.index() != first + i) throw new IllegalArgumentException("entries not contiguous: " + e.index() + " after " + (first + i - 1));
            // Terms never decrease along a Raft log; a batch that breaks that is a bug upstream, not data to keep.
            if (e.term() < previousTerm) throw new IllegalArgumentException("entry " + e.index() + " has term " + e.term() + " below " + previousTerm);
            previousTerm = e.term();
            long bodyBytes = (long) WalFormat.ENTRY_BODY_FIXED_BYTES + e.data().length;
            if (bodyBytes > options.recordBytesMax()) {
                throw new IllegalArgumentException("entry " + e.index() + " needs a record of " + bodyBytes + " bytes, over recordBytesMax " + options.recordBytesMax());
            }
        }
        for (Entry e : entries) {
            reserve(WalFormat.entryBodyBytes(e.data().length));
            records.putEntry(e);
        }
        log.subList(slot(first), log.size()).clear();
        log.addAll(entries);
    }

    /**
     * Buffers a LOG_START record and drops every entry held: the log now holds nothing at or below
     * {@code index} (whose entry had {@code term} and is inside a snapshot the caller installed), and the next
     * append must be at {@code index + 1}. Replay applies it the same way.
     *
     * @throws IllegalArgumentException if index or term is below 1, index is below the current log start (the
     *                                  WAL was told that point is already in a snapshot), or term is below
     *                                  the log start's term (terms never fall along a log)
     */
    public void resetTo(long index, long term) throws IOException {
        checkUsable();
        if (index < 1 || term < 1) throw new IllegalArgumentException("log start index " + index + " and term " + term + " must be at least 1");
        if (index < logStart.index()) throw new IllegalArgumentException("reset to " + index + " is below the log start " + logStart.index());
        if (term < logStart.term()) throw new IllegalArgumentException("reset to term " + term + " is below the log start's term " + logStart.term());
        LogStart start = new LogStart(index, term);
        reserve(WalFormat.LOG_START_BODY_BYTES);
        records.putLogStart(start);
        log.clear();
        logStart = start;
    }

    /**
     * Tells the WAL that every entry at or below {@code index} is safe in a durable snapshot, and deletes the
     * segments that then hold nothing else. In memory the entries up to index are dropped and the log starts
     * after (index, its term). On disk, the oldest segments other than the current one whose records name no
     * index above {@code index} are deleted, oldest first, stopping at the first that must stay; before that
     * the hard state (and, when no entry is left, the log start) is written again into the current segment and
     * synced, since the newest copy may be in a segment about to go. Writes and syncs only when some segment
     * can go.
     *
     * <p>A reopen finds the log starting at the first entry of the oldest segment kept, which may be at or below
     * {@code index} (those entries shared a segment with later ones), with the boundary's term unknown (0).
     * A crash part-way leaves a contiguous run of newer segments, which replays the same way.
     *
     * @return how many segments were deleted
     * @throws IllegalArgumentException if index is negative or past {@link #lastIndex()}
     */
    public int releaseUpTo(long index) throws IOException {
        checkUsable();
        if (index < 0 || index > lastIndex()) throw new IllegalArgumentException("release up to " + index + " outside [0, " + lastIndex() + "]");
        forgetUpTo(index);
        if (releasableSegments(index) == 0) return 0;
        saveHardState(hardState);
        // A LOG_START drops every entry before it on replay, so it is written only when none is held after it, and
        // only when it is no later than what is released (entries forgotten from memory stay on disk until then);
        // otherwise replay finds the start from the first entry of the oldest segment kept.
        if (log.isEmpty() && logStart.index() > 0 && logStart.index() <= index) {
            // An empty log's start came from resetTo or from a release past a held entry: its term is known.
            if (logStart.term() < 1) throw new IllegalStateException("empty log after " + logStart + " with an unknown term");
            reserve(WalFormat.LOG_START_BODY_BYTES);
            records.putLogStart(logStart);
        }
        sync();
        int released = releasableSegments(index);
        try {
            for (int i = 0; i < released; i++) {
                long number = highestIndexBySegment.firstKey();
                Files.delete(SegmentFiles.path(dir, number));
                // One directory sync per deletion: without it the file system may persist a later deletion
                // before an earlier one, and a crash would leave a gap that replay takes for a lost segment.
                SegmentFiles.syncDirectory(dir);
                highestIndexBySegment.remove(number);
            }
        } catch (IOException e) {
            failure = e;
            throw e;
        }
        return released;
    }

    /** How many of the oldest segments, never the current one, name no index above {@code index}. */
    private int releasableSegments(long index) {
        int count = 0;
        for (Map.Entry<Long, Long> segment : highestIndexBySegment.entrySet()) {
            if (segment.getKey() == writer.number() || segment.getValue() > index) break;
            count++;
        }
        return count;
    }

    /** Buffers the hard state; the last one saved is what replay returns. */
    public void saveHardState(HardState hs) throws IOException {
        checkUsable();
        if (hs.term() < 0 || hs.commit() < 0) throw new IllegalArgumentException("negative term or commit: " + hs);
        reserve(WalFormat.HARD_STATE_BODY_BYTES);
        records.putHardState(hs);
        hardState = hs;
    }

    /**
     * Writes what was buffered and makes it durable with one {@code force(false)} on the current segment,
     * however many records. Finishing a segment on the way costs one more sync of that segment (and the new
     * segment's creation), which is what keeps only the last segment tearable.
     */
    public void sync() throws IOException {
        checkUsable();
        try {
            writeBuffered();
            writer.sync();
        } catch (IOException e) {
            failure = e;
            throw e;
        }
    }

    /** Syncs, then releases the directory. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) return;
        try {
            if (failure == null) sync();
        } finally {
            closed = true;
            try {
                writer.close();
            } finally {
                lock.close();
            }
        }
    }

    /** Term of an entry held (firstIndex ≤ index ≤ lastIndex). */
    /**
     * Drops the entries up to and including {@code index} from memory only: the caller holds them elsewhere or no
     * longer needs them (a snapshot covers them), while the segments keep them on disk until {@link #releaseUpTo}.
     * Appends below the new {@link #firstIndex()} are refused from then on. A call at or below the log start changes
     * nothing.
     *
     * @throws IllegalArgumentException if index is past {@link #lastIndex()}
     */
    public void forgetUpTo(long index) {
        if (index > lastIndex()) throw new IllegalArgumentException("forget up to " + index + " past the last index " + lastIndex());
        if (index <= logStart.index()) return;
        LogStart start = new LogStart(index, termAt(index));
        log.subList(0, slot(index) + 1).clear();
        logStart = start;
    }

    private long termAt(long index) {
        return log.get(slot(index)).term();
    }

    /** Position of {@code index} in {@code log}. */
    private int slot(long index) {
        return (int) (index - firstIndex());
    }

    private void reserve(int bodyBytes) throws IOException {
        if (records.reserve(bodyBytes)) return;
        try {
            writeBuffered();
        } catch (IOException e) {
            failure = e;
            throw e;
        }
        if (!records.reserve(bodyBytes)) throw new IllegalStateException("an empty record buffer cannot hold " + bodyBytes + " bytes");
    }

    /**
     * Writes the buffered records to the segments, never splitting a record: the records are walked by their
     * length prefixes and a run that would pass segmentBytesMax continues in a new segment.
     */
    private void writeBuffered() throws IOException {
        if (records.isEmpty()) return;
        ByteBuffer pending = records.contents();
        while (pending.hasRemaining()) {
            int runEnd = pending.position();
            long runIndexHighest = 0;
            while (runEnd < pending.limit()) {
                int frameBytes = WalFormat.RECORD_HEADER_BYTES + pending.getInt(runEnd);
                if (!writer.fits(runEnd - pending.position() + (long) frameBytes)) break;
                runIndexHighest = Math.max(runIndexHighest, WalFormat.indexNamed(pending, runEnd));
                runEnd += frameBytes;
            }
            if (runEnd == pending.position()) {
                // WalOptions guarantees one largest record fits in an empty segment.
                if (writer.holdsNoRecord()) throw new IllegalStateException("a record does not fit in an empty segment");
                writer.roll();
                highestIndexBySegment.put(writer.number(), 0L);
                continue;
            }
            ByteBuffer run = pending.duplicate().limit(runEnd);
            writer.write(run);
            pending.position(runEnd);
            highestIndexBySegment.merge(writer.number(), runIndexHighest, Math::max);
        }
        records.clear();
    }

    private void checkUsable() throws IOException {
        if (closed) throw new IllegalStateException("WAL " + dir + " is closed");
        if (failure != null) throw new IOException("WAL " + dir + " failed earlier and refuses further use; restart and replay", failure);
    }
}
