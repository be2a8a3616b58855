package io.raftkv.server.metrics;

/**
 * Prometheus' text exposition format, version 0.0.4: per metric family a {@code # HELP} and a {@code # TYPE} line,
 * then its samples, {@code name{label="value",...} number}, one a line. Small enough to write by hand; the node has no
 * dependency for it. Label values are escaped as the format asks (backslash, double quote, line feed).
 */
public final class TextFormat {

    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final StringBuilder out = new StringBuilder(16 * 1024);

    /** Starts a family: {@code type} is counter, gauge, histogram, summary or untyped. Its samples follow, together. */
    public TextFormat family(String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ');
        for (int i = 0; i < help.length(); i++) {
            char c = help.charAt(i);
            if (c == '\\') out.append("\\\\");
            else if (c == '\n') out.append("\\n");
            else out.append(c);
        }
        out.append("\n# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    /** {@code labels}: name, value, name, value... */
    public TextFormat sample(String name, long value, String... labels) {
        head(name, labels).append(value).append('\n');
        return this;
    }

    public TextFormat sample(String name, double value, String... labels) {
        StringBuilder b = head(name, labels);
        if (Double.isNaN(value)) b.append("NaN");
        else if (Double.isInfinite(value)) b.append(value > 0 ? "+Inf" : "-Inf");
        else b.append(java.math.BigDecimal.valueOf(value).stripTrailingZeros().toPlainString()); // 1796058382.971, not 1.796058382971E9
        b.append('\n');
        return this;
    }

    /** A family with one sample, the common case. */
    public TextFormat single(String name, String type, String help, long value) {
        return family(name, type, help).sample(name, value);
    }

    private StringBuilder head(String name, String[] labels) {
        if (labels.length % 2 != 0) throw new IllegalArgumentException("labels come in name, value pairs: " + labels.length);
        out.append(name);
        if (labels.length > 0) {
            out.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                if (i > 0) out.append(',');
                out.append(labels[i]).append("=\"");
                String v = labels[i + 1];
                for (int j = 0; j < v.length(); j++) {
                    char c = v.charAt(j);
                    if (c == '\\') out.append("\\\\");
                    else if (c == '"') out.append("\\\"");
                    else if (c == '\n') out.append("\\n");
                    else out.append(c);
                }
                out.append('"');
            }
            out.append('}');
        }
        return out.append(' ');
    }

    public String text() {
        return out.toString();
    }
}
