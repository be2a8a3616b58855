package io.raftkv.server.metrics;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A raw HTTP/1.1 client for tests: sends exactly the bytes given and reads the answer until the server closes. */
public final class HttpProbe {

    public record Answer(int status, String head, String body) {
        /** The value of the sample {@code series} (a metric name with its labels, as printed), or NaN when absent. */
        public double sample(String series) {
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(body);
            return m.find() ? Double.parseDouble(m.group(1)) : Double.NaN;
        }
    }

    private HttpProbe() {
    }

    public static Answer get(int port, String path) throws IOException {
        return send(port, ("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
    }

    public static Answer send(int port, byte[] request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            s.setSoTimeout(15_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return read(s.getInputStream());
        }
    }

    public static Answer read(InputStream in) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        in.transferTo(all);
        String text = all.toString(StandardCharsets.UTF_8);
        int end = text.indexOf("\r\n\r\n");
        if (!text.startsWith("HTTP/1.1 ") || end < 0) throw new IOException("not an HTTP answer: '" + text + "'");
        return new Answer(Integer.parseInt(text.substring(9, 12)), text.substring(0, end), text.substring(end + 4));
    }
}
