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
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * Renders latency-by-percentile curves (the classic HdrHistogram plot: x = percentile on a log scale of
 * 1/(1-p), y = latency) from the .hgrm files of a compare run, raftkv and etcd side by side per case, into
 * one PNG. Usage: {@code LatencyChart HGRM_DIR OUT.png}. Pure Java2D: no plotting tool to install.
 */
public final class LatencyChart {

    private static final int PANEL_W = 420;
    private static final int PANEL_H = 280;
    private static final int COLUMNS = 2;
    private static final double X_MAX = 1_000; // up to the 99.9th percentile

    private LatencyChart() {
    }

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path dir = Path.of(args[0]);
        TreeMap<String, List<double[]>[]> cases = new TreeMap<>();
        try (var s = Files.list(dir)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".hgrm")).sorted().toList()) {
                String file = f.getFileName().toString().replace(".hgrm", "");
                int dash = file.indexOf('-');
                String system = file.substring(0, dash);
                String name = file.substring(dash + 1);
                @SuppressWarnings("unchecked")
                List<double[]>[] pair = cases.computeIfAbsent(name, k -> new List[2]);
                pair[system.equals("raftkv") ? 0 : 1] = parse(f);
            }
        }
        int rows = (cases.size() + COLUMNS - 1) / COLUMNS;
        BufferedImage img = new BufferedImage(PANEL_W * COLUMNS, Math.max(1, rows) * PANEL_H + 40, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString("Latency by percentile: raftkv (blue) vs etcd (red), ms", 12, 26);
        int i = 0;
        for (var e : cases.entrySet()) {
            panel(g, (i % COLUMNS) * PANEL_W, 40 + (i / COLUMNS) * PANEL_H, e.getKey(), e.getValue());
            i++;
        }
        g.dispose();
        javax.imageio.ImageIO.write(img, "png", Path.of(args[1]).toFile());
    }

    /** (percentile, latency ms) points of an HdrHistogram percentile distribution file. */
    static List<double[]> parse(Path hgrm) throws IOException {
        List<double[]> points = new ArrayList<>();
        for (String line : Files.readAllLines(hgrm)) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length < 4 || !Character.isDigit(parts[0].charAt(0))) continue;
            try {
                points.add(new double[]{Double.parseDouble(parts[1]), Double.parseDouble(parts[0])});
            } catch (NumberFormatException ignored) {
                // Header or footer lines.
            }
        }
        return points;
    }

    private static void panel(Graphics2D g, int x0, int y0, String title, List<double[]>[] series) {
        int left = x0 + 50;
        int top = y0 + 28;
        int width = PANEL_W - 70;
        int height = PANEL_H - 70;
        double yMax = 0.001;
        for (List<double[]> s : series) {
            if (s == null) continue;
            for (double[] p : s) if (xOf(p[0]) <= X_MAX) yMax = Math.max(yMax, p[1]);
        }
        yMax = niceCeiling(yMax);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(title, x0 + 50, y0 + 18);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        g.drawRect(left, top, width, height);
        for (double pct : new double[]{0, 0.9, 0.99, 0.999}) {
            int x = left + (int) (Math.log10(xOf(pct)) / Math.log10(X_MAX) * width);
            g.setColor(new Color(225, 225, 225));
            g.drawLine(x, top, x, top + height);
            g.setColor(Color.DARK_GRAY);
            g.drawString(pct == 0 ? "p0" : String.format(Locale.ROOT, "p%s", trim(pct * 100)), x - 8, top + height + 14);
        }
        for (int k = 0; k <= 4; k++) {
            int y = top + height - k * height / 4;
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.2f", yMax * k / 4), x0 + 4, y + 4);
        }
        Color[] colors = {new Color(30, 90, 200), new Color(210, 50, 40)};
        for (int s = 0; s < 2; s++) {
            if (series[s] == null) continue;
            g.setColor(colors[s]);
            g.setStroke(new BasicStroke(2f));
            int px = -1;
            int py = -1;
            for (double[] p : series[s]) {
                double xv = xOf(p[0]);
                if (xv > X_MAX) break;
                int x = left + (int) (Math.log10(xv) / Math.log10(X_MAX) * width);
                int y = top + height - (int) (Math.min(p[1], yMax) / yMax * height);
                if (px >= 0) g.drawLine(px, py, x, y);
                px = x;
                py = y;
            }
            g.setStroke(new BasicStroke(1f));
        }
    }

    private static double xOf(double percentileFraction) {
        return 1 / (1 - Math.min(percentileFraction, 0.999999));
    }

    private static double niceCeiling(double v) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[]{1, 2, 5, 10}) if (step * magnitude >= v) return step * magnitude;
        return 10 * magnitude;
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
