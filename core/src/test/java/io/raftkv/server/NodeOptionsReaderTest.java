package io.raftkv.server;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Node options from a file and system properties: system properties win, and a value that does not parse is refused, never defaulted. */
class NodeOptionsReaderTest {

    private static Properties props(String... keyValues) {
        Properties p = new Properties();
        for (int i = 0; i < keyValues.length; i += 2) p.setProperty(keyValues[i], keyValues[i + 1]);
        return p;
    }

    private static String refusal(Properties file, Properties system) {
        return assertThrows(IllegalArgumentException.class, () -> NodeOptionsReader.read(file, "raftkv.properties", system)).getMessage();
    }

    @Test
    void nothingSetGivesTheDefaults() {
        NodeOptionsReader.Read read = NodeOptionsReader.read(props(), null, props());
        assertEquals(NodeOptions.defaults(), read.options());
        assertEquals(Map.of(), read.setBy());
    }

    @Test
    void systemPropertiesWinOverTheFile() {
        NodeOptionsReader.Read read = NodeOptionsReader.read(props("tickMs", "50", "electionTicks", "20"), "raftkv.properties",
                props("raftkv.tickMs", "25", "unrelated", "x"));
        assertEquals(25, read.options().tickMs());
        assertEquals(20, read.options().electionTicks());
        assertEquals(Map.of("tickMs", "system property", "electionTicks", "raftkv.properties"), read.setBy());
        assertTrue(read.describe().startsWith("options in effect: tickMs=25 electionTicks=20 heartbeatTicks=1 "), read.describe());
        assertTrue(read.describe().endsWith("(set: tickMs=system property, electionTicks=raftkv.properties)"), read.describe());
    }

    @Test
    void aValueThatDoesNotParseIsRefusedNamingOptionSourceAndValue() {
        assertEquals("tickMs (system property raftkv.tickMs): 'abc' is not a whole number from 0 to 9223372036854775807",
                refusal(props(), props("raftkv.tickMs", "abc")));
        assertEquals("electionTicks (raftkv.properties): '99999999999' is not a whole number from 0 to 2147483647",
                refusal(props("electionTicks", "99999999999"), props()));
        assertEquals("connectionsMax (raftkv.properties): '-1' is not a whole number from 0 to 2147483647",
                refusal(props("connectionsMax", "-1"), props()));
        assertEquals("tickMs (raftkv.properties): '1.5' is not a whole number from 0 to 9223372036854775807",
                refusal(props("tickMs", "1.5"), props()));
    }

    @Test
    void anUnknownNameInTheFileIsRefusedWithASuggestion() {
        assertEquals("raftkv.properties: unknown option 'tickms': did you mean tickMs?", refusal(props("tickms", "50"), props()));
        assertEquals("raftkv.properties: unknown option 'raftkv.tickMs': did you mean tickMs?", refusal(props("raftkv.tickMs", "50"), props()));
        assertTrue(refusal(props("speed", "1"), props()).startsWith("raftkv.properties: unknown option 'speed' (the options: [autoCompactionIntervalMs, "));
    }

    @Test
    void unknownSystemPropertiesUnderThePrefixAreReportedNotRefused() {
        Properties system = props("raftkv.tickms", "50", "raftkv.tickMs", "50", "java.version", "17");
        assertEquals(List.of("raftkv.tickms"), NodeOptionsReader.unknownSystemProperties(system));
        assertEquals(50, NodeOptionsReader.read(props(), null, system).options().tickMs());
    }

    @Test
    void leasesMaxDefaultFollowsSmallFramesUnlessSet() {
        NodeOptions small = NodeOptionsReader.read(props("frameBytesMax", "65536"), "f", props()).options();
        assertEquals(NodeOptions.leasesMaxFitting(NodeOptions.defaults().leasesMax(), 65536, NodeOptions.defaults().clientOutboundBytesMax()), small.leasesMax());
        assertTrue(small.leasesMax() < NodeOptions.defaults().leasesMax());
        assertEquals(7, NodeOptionsReader.read(props("frameBytesMax", "65536", "leasesMax", "7"), "f", props()).options().leasesMax());
    }

    @Test
    void tlsIsReadFromTheFileAndSystemProperties() {
        NodeOptionsReader.Read read = NodeOptionsReader.read(props("tls.cert", "/etc/raftkv/node.p12", "tls.ca", "/etc/raftkv/ca.pem"), "f",
                props("raftkv.tls.ca", "/other/ca.pem", "raftkv.tls.clientCertAuth", "true"));
        TlsOptions tls = read.options().tls();
        assertEquals(java.nio.file.Path.of("/etc/raftkv/node.p12"), tls.cert());
        assertEquals(java.nio.file.Path.of("/other/ca.pem"), tls.ca(), "a system property wins over the file");
        assertTrue(tls.clientCertAuth());
        assertEquals(Map.of("tls.cert", "f", "tls.ca", "system property", "tls.clientCertAuth", "system property"), read.setBy());
        IllegalArgumentException bad = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> NodeOptionsReader.read(props("tls.clientCertAuth", "yes"), "f", props()));
        assertTrue(bad.getMessage().contains("tls.clientCertAuth: 'yes' is not true or false"), bad.getMessage());
    }

    @Test
    void everyOptionIsReadByItsName() {
        for (String name : NodeOptionsReader.names()) {
            if (name.equals("tls")) continue; // read by the names of its parts: tlsIsReadFromTheFileAndSystemProperties
            // A value that is not the default of any option: 0 for the numbers, true for the switches (all off by default).
            String value = NodeOptions.defaults().toString().contains(name + "=false") ? "true" : "0";
            NodeOptionsReader.Read read = NodeOptionsReader.read(props(name, value), "f", props());
            assertEquals(Map.of(name, "f"), read.setBy(), name);
            String shown = name + "=" + value + " ";
            assertTrue(read.describe().contains(" " + shown) || read.describe().contains(": " + shown), name + ": " + read.describe());
        }
    }
}
