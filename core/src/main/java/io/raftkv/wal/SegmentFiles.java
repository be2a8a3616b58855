package io.raftkv.wal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Names of segment files, listing them, and making a directory change durable. */
final class SegmentFiles {

    private static final Pattern SEGMENT_NAME = Pattern.compile("wal-(\\d{16})\\.log");
    static final String TEMP_SUFFIX = ".tmp";

    private SegmentFiles() {
    }

    static String name(long number) {
        return String.format("wal-%016d.log", number);
    }

    static Path path(Path dir, long number) {
        return dir.resolve(name(number));
    }

    /** Where a segment is built before it is renamed into place, so a segment file always has its whole header. */
    static Path tempPath(Path dir, long number) {
        return dir.resolve(name(number) + TEMP_SUFFIX);
    }

    /** Segment numbers present in dir, ascending. Other files are not ours to judge and are ignored. */
    static List<Long> list(Path dir) throws IOException {
        List<Long> numbers = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path file : files) {
                Matcher m = SEGMENT_NAME.matcher(file.getFileName().toString());
                if (m.matches()) numbers.add(Long.parseLong(m.group(1)));
            }
        }
        numbers.sort(null);
        return numbers;
    }

    /** Segments that a crash left half-built: they never held a record (records go in only after the rename). */
    static List<Path> listTemps(Path dir) throws IOException {
        List<Path> temps = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "wal-*.log" + TEMP_SUFFIX)) {
            for (Path file : files) temps.add(file);
        }
        return temps;
    }

    /** fsync of the directory itself: a created, renamed or deleted file is durable only after it. */
    static void syncDirectory(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
