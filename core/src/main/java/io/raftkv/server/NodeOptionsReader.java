package io.raftkv.server;

import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Constructor;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;

/**
 * Reads {@link NodeOptions} from an options file (Java properties, {@code tickMs=100}) and from system properties
 * ({@code -Draftkv.tickMs=100}), which win over the file; what neither sets keeps its default (docs/options.md).
 *
 * <p>The options are the record's components, found by reflection, so that an option added to the record is read,
 * checked and logged with no change here. A value that is not a whole number, is negative or does not fit its type is
 * refused with one line naming the option, where it was set and the value: a node never runs on a default it was told
 * not to use. An unknown name in the file is refused too (a typo would otherwise change nothing); unknown
 * {@code raftkv.*} system properties are only reported by {@link #unknownSystemProperties}, since tests and tools
 * set properties of their own under that prefix.
 */
final class NodeOptionsReader {

    static final String SYSTEM_PROPERTY_PREFIX = "raftkv.";
    private static final RecordComponent[] COMPONENTS = NodeOptions.class.getRecordComponents();

    static {
        for (RecordComponent c : COMPONENTS) {
            Class<?> t = c.getType();
            // Fails at class load, in every test that reads options, when an option of a type parse() lacks is added.
            if (t != int.class && t != long.class && t != boolean.class && t != TlsOptions.class) {
                throw new IllegalStateException("NodeOptions." + c.getName() + ": no parser for " + t);
            }
        }
    }

    private NodeOptionsReader() {
    }

    /** The options, and for each option that was set, where: the file's name or "system property". */
    record Read(NodeOptions options, Map<String, String> setBy) {
        /** One line for the log: every option's value, then which ones were set and where. */
        String describe() {
            StringBuilder b = new StringBuilder("options in effect: ");
            for (RecordComponent c : COMPONENTS) b.append(c.getName()).append('=').append(value(options, c)).append(' ');
            b.append(setBy.isEmpty() ? "(all defaults)" : "(set: " + setBy.toString().replaceAll("[{}]", "") + ")");
            return b.toString();
        }
    }

    /** {@code file}: null for none. Throws {@link IllegalArgumentException} with one line for a value that does not parse. */
    static Read read(Path file, Properties system) throws IOException {
        Properties fromFile = new Properties();
        if (file != null) {
            try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                fromFile.load(in);
            }
        }
        return read(fromFile, file == null ? null : file.toString(), system);
    }

    static Read read(Properties fromFile, String fileName, Properties system) {
        for (String name : fromFile.stringPropertyNames()) {
            if (component(name) == null && !isTlsName(name)) throw new IllegalArgumentException(fileName + ": unknown option '" + name + "'" + suggestion(name));
        }
        NodeOptions defaults = NodeOptions.defaults();
        Object[] values = new Object[COMPONENTS.length];
        Map<String, String> setBy = new LinkedHashMap<>();
        for (int i = 0; i < COMPONENTS.length; i++) {
            RecordComponent c = COMPONENTS[i];
            if (c.getType() == TlsOptions.class) {
                values[i] = readTls(fromFile, fileName, system, setBy);
                continue;
            }
            String text = system.getProperty(SYSTEM_PROPERTY_PREFIX + c.getName());
            String source = "system property " + SYSTEM_PROPERTY_PREFIX + c.getName();
            if (text == null) {
                text = fromFile.getProperty(c.getName());
                source = fileName;
            }
            if (text == null) {
                values[i] = value(defaults, c);
            } else {
                values[i] = parse(c, text.strip(), source);
                setBy.put(c.getName(), source.startsWith("system property") ? "system property" : source);
            }
        }
        // Without leasesMax, its default is lowered to what the frames configured can list (NodeOptions.leasesMaxFitting).
        if (!setBy.containsKey("leasesMax")) {
            int frameBytesMax = (int) values[index("frameBytesMax")];
            long clientOutboundBytesMax = (long) values[index("clientOutboundBytesMax")];
            values[index("leasesMax")] = NodeOptions.leasesMaxFitting(defaults.leasesMax(), frameBytesMax, clientOutboundBytesMax);
        }
        return new Read(construct(values), setBy);
    }

    /** The {@code raftkv.*} system properties that name no option: a node logs them, as they are likely typos. */
    static List<String> unknownSystemProperties(Properties system) {
        return system.stringPropertyNames().stream()
                .filter(p -> p.startsWith(SYSTEM_PROPERTY_PREFIX))
                .map(p -> p.substring(SYSTEM_PROPERTY_PREFIX.length()))
                .filter(name -> component(name) == null && !isTlsName(name))
                .map(name -> SYSTEM_PROPERTY_PREFIX + name)
                .sorted().toList();
    }

    /** TLS's options are {@code tls.NAME} in the file and {@code raftkv.tls.NAME} as system properties (docs/security.md). */
    private static boolean isTlsName(String name) {
        return name.startsWith("tls.") && TlsOptions.NAMES.contains(name.substring(4));
    }

    private static TlsOptions readTls(Properties fromFile, String fileName, Properties system, Map<String, String> setBy) {
        try {
            return TlsOptions.read(name -> {
                String fromSystem = system.getProperty(SYSTEM_PROPERTY_PREFIX + "tls." + name);
                String value = fromSystem != null ? fromSystem : fromFile.getProperty("tls." + name);
                if (value != null) setBy.put("tls." + name, fromSystem != null ? "system property" : fileName);
                return value;
            });
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + " (" + (fileName == null ? "system properties" : fileName + " or system properties") + ")");
        }
    }

    /** Every option's name, in the record's order. */
    static List<String> names() {
        return Arrays.stream(COMPONENTS).map(RecordComponent::getName).toList();
    }

    private static Object parse(RecordComponent c, String text, String source) {
        Class<?> type = c.getType();
        String refused = c.getName() + " (" + source + "): '" + text + "' is not ";
        if (type == boolean.class) {
            if (text.equals("true") || text.equals("false")) return Boolean.parseBoolean(text);
            throw new IllegalArgumentException(refused + "true or false");
        }
        long max = type == int.class ? Integer.MAX_VALUE : Long.MAX_VALUE;
        long value;
        try {
            value = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(refused + "a whole number from 0 to " + max);
        }
        if (value < 0 || value > max) throw new IllegalArgumentException(refused + "a whole number from 0 to " + max);
        return type == int.class ? (Object) (int) value : (Object) value;
    }

    private static RecordComponent component(String name) {
        for (RecordComponent c : COMPONENTS) if (c.getName().equals(name)) return c;
        return null;
    }

    private static int index(String name) {
        for (int i = 0; i < COMPONENTS.length; i++) if (COMPONENTS[i].getName().equals(name)) return i;
        throw new IllegalStateException("NodeOptions has no component " + name);
    }

    private static String suggestion(String name) {
        for (RecordComponent c : COMPONENTS) {
            if (c.getName().equalsIgnoreCase(name) || (SYSTEM_PROPERTY_PREFIX + c.getName()).equals(name)) return ": did you mean " + c.getName() + "?";
        }
        return " (the options: " + new TreeSet<>(names()) + ")";
    }

    private static Object value(NodeOptions options, RecordComponent c) {
        try {
            return c.getAccessor().invoke(options);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    private static NodeOptions construct(Object[] values) {
        Class<?>[] types = Arrays.stream(COMPONENTS).map(RecordComponent::getType).toArray(Class<?>[]::new);
        try {
            Constructor<NodeOptions> canonical = NodeOptions.class.getDeclaredConstructor(types);
            return canonical.newInstance(values);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
