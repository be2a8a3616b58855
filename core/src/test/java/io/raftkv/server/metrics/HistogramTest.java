package io.raftkv.server.metrics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Buckets that double, counted cumulatively, and the text Prometheus reads. */
class HistogramTest {

    @Test
    void aDurationFallsInTheFirstBucketWhoseBoundHoldsIt() {
        Histogram h = new Histogram(100, 4); // bounds 100, 200, 400, 800 ns, then +Inf
        assertEquals(0, h.bucketOf(0));
        assertEquals(0, h.bucketOf(100));
        assertEquals(1, h.bucketOf(101));
        assertEquals(1, h.bucketOf(200));
        assertEquals(2, h.bucketOf(201));
        assertEquals(3, h.bucketOf(800));
        assertEquals(4, h.bucketOf(801));
        assertEquals(4, h.bucketOf(Long.MAX_VALUE));
    }

    @Test
    void theTextHasCumulativeBucketsInSecondsASumAndACount() {
        Histogram h = Histogram.latency();
        h.observe(50_000);       // 50 µs: first bucket (0.0001 s)
        h.observe(150_000);      // 150 µs: 0.0002
        h.observe(10_000_000_000L); // 10 s: past the last bound
        TextFormat out = new TextFormat().family("x_seconds", "histogram", "help");
        h.writeTo(out, "x_seconds", "op", "put");
        String text = out.text();
        assertTrue(text.contains("x_seconds_bucket{op=\"put\",le=\"0.0001\"} 1\n"), text);
        assertTrue(text.contains("x_seconds_bucket{op=\"put\",le=\"0.0002\"} 2\n"), text);
        assertTrue(text.contains("x_seconds_bucket{op=\"put\",le=\"6.5536\"} 2\n"), text);
        assertTrue(text.contains("x_seconds_bucket{op=\"put\",le=\"+Inf\"} 3\n"), text);
        assertTrue(text.contains("x_seconds_count{op=\"put\"} 3\n"), text);
        assertTrue(text.contains("x_seconds_sum{op=\"put\"} 10.0002\n"), text);
    }

    @Test
    void labelValuesAreEscaped() {
        String text = new TextFormat().sample("m", 1, "path", "a\"b\\c\nd").text();
        assertEquals("m{path=\"a\\\"b\\\\c\\nd\"} 1\n", text);
    }
}
