package io.raftkv.snapshot;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The snapshots of one node: the directory {@code snap/} of its data directory, holding {@link SnapshotFile}s. Only
 * files named like a snapshot are considered; other files are not ours to judge and are left alone.
 *
 * <p>Falling back to an older snapshot when the newest is damaged is only safe if the log still holds the entries
 * between the two: this class reports which snapshots it skipped, and the caller checks the log.
 */
public final class SnapshotDirectory {

    public static final String DIRECTORY_NAME = "snap";

    private static final System.Logger LOGGER = System.getLogger(SnapshotDirectory.class.getName());

    private final Path dir;

    private SnapshotDirectory(Path dir) {
        this.dir = dir;
    }

    /** A snapshot that was loaded, with the newer ones that could not be and why. */
    public record Loaded(Path file, SnapshotMeta meta, List<Damaged> damaged) {
        public Loaded {
            damaged = List.copyOf(damaged);
        }
    }

    /** A snapshot file that could not be loaded. */
    public record Damaged(Path file, String reason) {
    }

    /** The snapshot directory of {@code dataDir}, created (durably) if it is not there yet. */
    public static SnapshotDirectory open(Path dataDir) throws IOException {
        Path dir = dataDir.resolve(DIRECTORY_NAME);
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            SnapshotFile.syncDirectory(dataDir);
        }
        return new SnapshotDirectory(dir);
    }

    public Path path() {
        return dir;
    }

    /** {@link SnapshotFile#write} into this directory. */
    public Path write(SnapshotMeta meta, SnapshotFile.PayloadWriter payload) throws IOException {
        return SnapshotFile.write(dir, meta, payload);
    }

    /** The snapshot files by (index, term), newest first, judged by their names alone. */
    public List<Path> newestFirst() throws IOException {
        Map<SnapshotName, Path> byName = new TreeMap<>(SnapshotName.NEWEST_FIRST);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) SnapshotName.parse(file.getFileName().toString()).ifPresent(name -> byName.put(name, file));
        }
        return List.copyOf(byName.values());
    }

    /**
     * Deletes the temporary files of snapshots whose writing a crash interrupted (never renamed, so never a
     * snapshot). Returns them. Call before writing a new snapshot, not while one is being written.
     */
    public List<Path> deleteTemps() throws IOException {
        List<Path> deleted = new ArrayList<>();
        try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, SnapshotName.TEMP_GLOB)) {
            for (Path temp : temps) deleted.add(temp);
        }
        for (Path temp : deleted) {
            LOGGER.log(System.Logger.Level.INFO, "snapshots: deleting {0}, a snapshot whose writing a crash interrupted", temp);
            Files.delete(temp);
        }
        if (!deleted.isEmpty()) SnapshotFile.syncDirectory(dir);
        return deleted;
    }

    /**
     * Loads the newest snapshot that {@link SnapshotFile#read} accepts and {@code reader} reads without an
     * IOException, trying older ones after a damaged one (logged as a warning naming the file and why). Empty when
     * there is no snapshot at all. Throws {@link SnapshotCorruptionException} naming each file when there are
     * snapshots but none can be loaded: starting from nothing is then the caller's decision, not a quiet default.
     */
    public Optional<Loaded> loadNewestValid(SnapshotFile.PayloadReader reader) throws IOException {
        List<Damaged> damaged = new ArrayList<>();
        for (Path file : newestFirst()) {
            try {
                SnapshotMeta meta = SnapshotFile.read(file, reader);
                return Optional.of(new Loaded(file, meta, damaged));
            } catch (IOException e) {
                LOGGER.log(System.Logger.Level.WARNING, "snapshots: skipping {0}, trying an older one: {1}", file, e.getMessage());
                damaged.add(new Damaged(file, e.getMessage()));
            }
        }
        if (damaged.isEmpty()) return Optional.empty();
        StringBuilder reasons = new StringBuilder("none of the " + damaged.size() + " snapshots can be loaded:");
        for (Damaged d : damaged) reasons.append(" [").append(d.reason()).append(']');
        throw new SnapshotCorruptionException(dir, reasons.toString());
    }

    /**
     * Deletes every snapshot but the newest {@code keepCount} by name, then syncs the directory; returns what it
     * deleted. Names are not proof of a good file: prune after a new snapshot was written (and is thus whole).
     */
    public List<Path> pruneOlderThan(int keepCount) throws IOException {
        if (keepCount < 1) throw new IllegalArgumentException("keepCount " + keepCount + ": keep at least the newest snapshot");
        List<Path> all = newestFirst();
        if (all.size() <= keepCount) return List.of();
        List<Path> deleted = all.subList(keepCount, all.size());
        for (Path file : deleted) Files.delete(file);
        SnapshotFile.syncDirectory(dir);
        return List.copyOf(deleted);
    }
}
