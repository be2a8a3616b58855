package io.raftkv.server.metrics;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

/** The paths a node serves on its metrics port, and their answers (docs/metrics.md). */
public final class NodeHttp {

    private NodeHttp() {
    }

    public static Map<String, Supplier<HttpEndpoint.Response>> routes(NodeMetrics metrics, Health health) {
        return Map.of(
                "/metrics", () -> new HttpEndpoint.Response(200, TextFormat.CONTENT_TYPE, metrics.render().getBytes(StandardCharsets.UTF_8)),
                "/health", () -> health(health.healthy()),
                "/readyz", () -> probe(health.ready()),
                "/livez", () -> probe(health.live()));
    }

    /** etcd's /health body: {@code {"health":"true","reason":""}} with 200, or "false" and the reason with 503. */
    static HttpEndpoint.Response health(Health.Verdict h) {
        return new HttpEndpoint.Response(h.ok() ? 200 : 503, "application/json",
                ("{\"health\":\"" + h.ok() + "\",\"reason\":\"" + json(h.reason()) + "\"}\n").getBytes(StandardCharsets.UTF_8));
    }

    /** /readyz and /livez, as Kubernetes-style probes: "ok" with 200, or the reason with 503. */
    static HttpEndpoint.Response probe(Health.Verdict v) {
        return HttpEndpoint.Response.text(v.ok() ? 200 : 503, (v.ok() ? "ok" : v.reason()) + "\n");
    }

    private static String json(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.toString();
    }
}
