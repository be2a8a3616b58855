package io.raftkv.dist;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The release archive unpacked into a directory, and its scripts run as a user runs them: from another directory, with
 * Java found through JAVA_HOME and no Maven. Node processes are found by their command line (a NodeMain whose paths
 * lie under this tree) and stopped by pid.
 */
final class UnpackedRelease {

    static final Duration SCRIPT_DEADLINE = Duration.ofSeconds(60);
    static final String NODE_MAIN = "io.raftkv.server.NodeMain";

    final Path root;
    /** Environment added to every script run. */
    final Map<String, String> env = new java.util.HashMap<>(Map.of(
            "JAVA_HOME", System.getProperty("java.home"),
            // Small, quick-starting node JVMs: the machine runs a whole test suite beside them.
            "RAFTKV_NODE_JAVA_OPTS", "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"));

    private UnpackedRelease(Path root) {
        this.root = root;
    }

    static UnpackedRelease unpack(Path into) throws IOException, InterruptedException {
        Path archive = Path.of(System.getProperty("raftkv.release.archive", "target/raftkv.tar.gz"));
        if (!Files.isRegularFile(archive)) throw new IllegalStateException("no release archive at " + archive + ": run mvn verify (it builds it at package)");
        Files.createDirectories(into);
        Process tar = new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", into.toString()).redirectErrorStream(true).start();
        if (!tar.waitFor(30, TimeUnit.SECONDS) || tar.exitValue() != 0) {
            throw new IOException("tar failed: " + new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        try (Stream<Path> top = Files.list(into)) {
            List<Path> dirs = top.toList();
            if (dirs.size() != 1 || !dirs.get(0).getFileName().toString().startsWith("raftkv-")) throw new IOException("expected one raftkv-VERSION directory: " + dirs);
            return new UnpackedRelease(dirs.get(0));
        }
    }

    /** Replaces the example nodes.conf with one on these ports. */
    void nodesConf(int... ports) throws IOException {
        StringBuilder b = new StringBuilder("# written by the test\n");
        for (int i = 0; i < ports.length; i++) b.append(i + 1).append(" 127.0.0.1 ").append(ports[i]).append('\n');
        Files.writeString(root.resolve("conf/nodes.conf"), b);
    }

    record Result(int exitCode, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    /** Runs {@code script} (a path under the release, e.g. bin/raftkv) in {@code cwd}, standard input empty. */
    Result run(Path cwd, String script, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(root.resolve(script).toString()));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(cwd, "out", ".txt");
        Path err = Files.createTempFile(cwd, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(SCRIPT_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(command + " did not finish in " + SCRIPT_DEADLINE);
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    /** Starts {@code script} in the background, its output appended to {@code log}. */
    Process spawn(Path cwd, Path log, String script, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(root.resolve(script).toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** The node processes of this tree, by their command line. */
    List<ProcessHandle> nodes() {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine()
                .map(c -> c.contains(NODE_MAIN + " ") && c.contains(root.toString()) && !c.contains("--check")).orElse(false)).toList();
    }

    static void awaitGone(List<ProcessHandle> processes, Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        for (ProcessHandle p : processes) {
            while (p.isAlive()) {
                if (System.nanoTime() > end) throw new AssertionError("pid " + p.pid() + " still running after " + deadline);
                Thread.sleep(20);
            }
        }
    }

    /** What a test leaves behind, stopped by pid: SIGKILL, then waits until each is gone. */
    void killNodes() throws InterruptedException {
        List<ProcessHandle> left = nodes();
        left.forEach(ProcessHandle::destroyForcibly);
        awaitGone(left, Duration.ofSeconds(10));
    }

    static boolean portFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
