package io.raftkv.snapshot;

import java.util.Comparator;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A snapshot file's name, {@code snap-<index %020d>-<term %020d>.snap}: sorting by name is sorting by (index, term). */
record SnapshotName(long index, long term) {

    private static final Pattern NAME = Pattern.compile("snap-(\\d{20})-(\\d{20})\\.snap");
    static final String TEMP_SUFFIX = ".tmp";
    /** Temporary files a crash may have left: a snapshot name with {@link #TEMP_SUFFIX}. */
    static final String TEMP_GLOB = "snap-*.snap" + TEMP_SUFFIX;
    static final Comparator<SnapshotName> NEWEST_FIRST = Comparator.comparingLong(SnapshotName::index).thenComparingLong(SnapshotName::term).reversed();

    String fileName() {
        return String.format("snap-%020d-%020d.snap", index, term);
    }

    String tempFileName() {
        return fileName() + TEMP_SUFFIX;
    }

    /** The name's index and term, or empty when the file is not named like a snapshot (other files are not ours). */
    static Optional<SnapshotName> parse(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) return Optional.empty();
        try {
            return Optional.of(new SnapshotName(Long.parseLong(m.group(1)), Long.parseLong(m.group(2))));
        } catch (NumberFormatException beyondLong) {
            return Optional.empty();
        }
    }
}
