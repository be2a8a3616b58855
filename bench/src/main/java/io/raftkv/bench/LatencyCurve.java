package io.raftkv.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Latency against throughput, from the open-loop runs of {@code bench/compare.sh}'s curve (one JSON per system and
 * target rate, {@code <system>-<case>.json}): a CSV with a row per run, and a PNG with p50 (dashed) and p99 (solid) of
 * each system against the throughput it achieved, both axes logarithmic (etcd's curve and raftkv's are an order of
 * magnitude apart). Usage: {@code LatencyCurve CURVE_DIR OUT.csv OUT.png}. Pure Java2D, as {@link LatencyChart}.
 */
public final class LatencyCurve {

    /** One run of the curve. {@code step}: its target rate in % of the system's closed-loop maximum (from its name, "...-rate50"). */
    record Point(String system, int step, double rate, double achieved, double p50, double p99, double p999, double max, long errors, long missed,
                 double clientCpu, double issueLagP99) { }

    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\":\\s*(\"[^\"]*\"|[-0-9.]+)");
    private static final Pattern FILE = Pattern.compile("(raftkv|etcd)-.*?(\\d+)\\.json");
    private static final int W = 860;
    private static final int H = 560;
    private static final Color[] COLORS = {new Color(30, 90, 200), new Color(210, 50, 40)};

    private LatencyCurve() {
    }

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Point> points = load(Path.of(args[0]));
        StringBuilder csv = new StringBuilder("system,step_percent,target_ops_per_s,achieved_ops_per_s,p50_ms,p99_ms,p999_ms,max_ms,errors,never_issued,"
                + "client_cpu_us_per_op,issue_lag_p99_ms\n");
        for (Point p : points) {
            csv.append(String.format(Locale.ROOT, "%s,%d,%.0f,%.0f,%.3f,%.3f,%.3f,%.3f,%d,%d,%.2f,%.3f%n", p.system(), p.step(), p.rate(), p.achieved(), p.p50(),
                    p.p99(), p.p999(), p.max(), p.errors(), p.missed(), p.clientCpu(), p.issueLagP99()));
        }
        Files.writeString(Path.of(args[1]), csv);
        draw(points, Path.of(args[2]));
    }

    static List<Point> load(Path dir) throws IOException {
        List<Point> points = new ArrayList<>();
        try (var s = Files.list(dir)) {
            for (Path f : s.sorted().toList()) {
                Matcher name = FILE.matcher(f.getFileName().toString());
                if (!name.matches()) continue;
                Map<String, String> v = new LinkedHashMap<>();
                Matcher m = FIELD.matcher(Files.readString(f));
                while (m.find()) v.putIfAbsent(m.group(1), m.group(2).replace("\"", ""));
                points.add(new Point(name.group(1), Integer.parseInt(name.group(2)), d(v, "rate"), d(v, "throughput"), d(v, "p50_ms"), d(v, "p99_ms"),
                        d(v, "p999_ms"), d(v, "max_ms"), (long) d(v, "errors"), (long) d(v, "missed"), d(v, "client_cpu_us_per_op"), d(v, "issue_lag_p99_ms")));
            }
        }
        points.sort(Comparator.comparing(Point::system).reversed().thenComparingInt(Point::step));
        return points;
    }

    private static double d(Map<String, String> v, String key) {
        return Double.parseDouble(v.getOrDefault(key, "0"));
    }

    private static void draw(List<Point> points, Path png) throws IOException {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("Latency vs throughput (open loop): raftkv (blue), etcd (red); p99 solid, p50 dashed", 14, 24);
        int left = 70;
        int top = 44;
        int width = W - left - 50;
        int height = H - top - 60;
        double xMin = Math.pow(10, Math.floor(Math.log10(Math.max(1, points.stream().mapToDouble(Point::achieved).filter(x -> x > 0).min().orElse(1)))));
        double xMax = Math.pow(10, Math.ceil(Math.log10(Math.max(10, points.stream().mapToDouble(Point::achieved).max().orElse(10)))));
        double yMin = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, points.stream().mapToDouble(Point::p50).filter(y -> y > 0).min().orElse(0.1)))));
        double yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(yMin * 10, points.stream().mapToDouble(Point::p99).max().orElse(1)))));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawRect(left, top, width, height);
        for (double x = xMin; x <= xMax * 1.001; x *= 10) {
            int px = left + (int) (Math.log10(x / xMin) / Math.log10(xMax / xMin) * width);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(px, top, px, top + height);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%,.0f", x), px - 14, top + height + 16);
        }
        for (double y = yMin; y <= yMax * 1.001; y *= 10) {
            int py = top + height - (int) (Math.log10(y / yMin) / Math.log10(yMax / yMin) * height);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(left, py, left + width, py);
            g.setColor(Color.DARK_GRAY);
            g.drawString(y >= 1 ? String.format(Locale.ROOT, "%,.0f", y) : String.valueOf(y), 8, py + 4);
        }
        g.drawString("achieved operations/s", left + width / 2 - 60, H - 20);
        g.drawString("ms", 8, top - 6);
        for (int s = 0; s < 2; s++) {
            String system = s == 0 ? "raftkv" : "etcd";
            List<Point> line = points.stream().filter(p -> p.system().equals(system) && p.achieved() > 0).toList();
            g.setColor(COLORS[s]);
            for (int which = 0; which < 2; which++) {
                g.setStroke(which == 0 ? new BasicStroke(2f) : new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{6f, 5f}, 0f));
                int px = -1;
                int py = -1;
                for (Point p : line) {
                    double y = Math.max(yMin, Math.min(yMax, which == 0 ? p.p99() : p.p50()));
                    int x = left + (int) (Math.log10(p.achieved() / xMin) / Math.log10(xMax / xMin) * width);
                    int yy = top + height - (int) (Math.log10(y / yMin) / Math.log10(yMax / yMin) * height);
                    g.fillOval(x - 3, yy - 3, 6, 6);
                    if (px >= 0) g.drawLine(px, py, x, yy);
                    px = x;
                    py = yy;
                }
            }
            g.setStroke(new BasicStroke(1f));
        }
        g.dispose();
        javax.imageio.ImageIO.write(img, "png", png.toFile());
    }
}
