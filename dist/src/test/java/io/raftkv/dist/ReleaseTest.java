package io.raftkv.dist;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The release archive, unpacked anywhere, runs a cluster with Java alone: no Maven, no sources, from any directory. */
class ReleaseTest {

    private static final int[] PORTS = {23790, 23791, 23792};

    @TempDir
    Path tmp;
    private UnpackedRelease release;

    @AfterEach
    void stopWhatIsLeft() throws InterruptedException {
        if (release != null) release.killNodes();
    }

    @Test
    void theArchiveHoldsScriptsJarsConfigurationAndDocs() throws Exception {
        release = UnpackedRelease.unpack(tmp.resolve("unpacked"));
        Path root = release.root;
        for (String script : List.of("bin/raftkv", "bin/raftkvctl", "bin/node-jvm-options")) assertTrue(Files.isExecutable(root.resolve(script)), script);
        try (Stream<Path> lib = Files.list(root.resolve("lib"))) {
            assertEquals(List.of("jline", "picocli", "raftkv-client", "raftkv-core", "raftkv-protocol"),
                    lib.map(p -> p.getFileName().toString().replaceAll("-[0-9].*", "")).sorted().toList());
        }
        for (String file : List.of("conf/nodes.conf", "conf/raftkv.properties", "docs/operations.md", "docs/options.md", "README.md")) {
            assertTrue(Files.isRegularFile(root.resolve(file)), file);
        }
        assertFalse(Files.exists(root.resolve("pom.xml")), "no sources: nothing is built");
    }

    @Test
    void aThreeNodeClusterStartsServesAndStopsFromTheUnpackedTree() throws Exception {
        release = UnpackedRelease.unpack(tmp.resolve("unpacked"));
        release.nodesConf(PORTS);
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        String conf = release.root.resolve("conf/nodes.conf").toString();

        UnpackedRelease.Result start = release.run(elsewhere, "bin/raftkv", "start");
        assertEquals(0, start.exitCode(), start.toString());
        assertTrue(start.out().contains("raftkv cluster up: endpoints 127.0.0.1:23790,127.0.0.1:23791,127.0.0.1:23792"), start.toString());
        List<ProcessHandle> nodes = release.nodes();
        assertEquals(3, nodes.size(), "three node processes: " + nodes);
        assertTrue(Files.isDirectory(release.root.resolve("data/node1")), "data under the install directory by default");

        UnpackedRelease.Result put = release.run(elsewhere, "bin/raftkvctl", "--config", conf, "put", "greeting", "hello from the release");
        assertEquals(new UnpackedRelease.Result(0, "OK\n", ""), put);
        UnpackedRelease.Result get = release.run(elsewhere, "bin/raftkvctl", "--config", conf, "get", "greeting");
        assertEquals(new UnpackedRelease.Result(0, "greeting\nhello from the release\n", ""), get);

        UnpackedRelease.Result stop = release.run(elsewhere, "bin/raftkv", "stop");
        assertEquals(0, stop.exitCode(), stop.toString());
        assertTrue(stop.out().startsWith("raftkv: stopped node(s) "), stop.toString());
        UnpackedRelease.awaitGone(nodes, Duration.ofSeconds(10));
        for (int port : PORTS) assertTrue(UnpackedRelease.portFree(port), "port " + port + " free after stop");
        String log = Files.readString(release.root.resolve("data/node1.log"));
        assertTrue(log.lines().findFirst().orElse("").matches("\\S+Z node1 INFO  options in effect: tickMs=100 .*"), log);
    }
}
