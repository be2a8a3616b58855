package io.raftkv.server;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** docs/options.md lists every node option with its true default, and no option that does not exist. */
class OptionsDocTest {

    @Test
    void theOptionsPageListsEveryOptionWithItsDefault() throws IOException, ReflectiveOperationException {
        Path page = Path.of("..", "docs", "options.md"); // tests run in the module's directory
        Map<String, String> documented = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^\\| `(\\w+)` \\| (\\S+) \\|").matcher(Files.readString(page));
        while (m.find()) documented.put(m.group(1), m.group(2));
        Map<String, String> actual = new LinkedHashMap<>();
        NodeOptions defaults = NodeOptions.defaults();
        for (RecordComponent c : NodeOptions.class.getRecordComponents()) {
            Object value = c.getAccessor().invoke(defaults);
            actual.put(c.getName(), value instanceof TlsOptions tls ? (tls.enabled() ? "on" : "off") : String.valueOf(value));
        }
        assertEquals(actual, documented, page + ": one row per option, in the record's order, with its default");
    }
}
