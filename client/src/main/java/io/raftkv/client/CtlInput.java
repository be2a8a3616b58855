package io.raftkv.client;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How raftkvctl reads its input as bytes, so that keys and values are never decoded and re-encoded on their way
 * to the cluster: words of a command line, lines of standard input, hex, and the raw bytes of the program's
 * arguments.
 */
final class CtlInput {

    private CtlInput() {
    }

    /** A word of a command: its bytes as given, and the same decoded as UTF-8 for flags, numbers and messages. */
    record Word(byte[] bytes, String text) {
        static Word of(byte[] bytes) {
            return new Word(bytes, new String(bytes, StandardCharsets.UTF_8));
        }

        static Word of(String text) {
            return new Word(text.getBytes(StandardCharsets.UTF_8), text);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    // ------------------------------------------------------------------ words of a line

    /**
     * Splits a line into words like a shell does, for the simple cases, on bytes (a non-ASCII byte is kept as it
     * is): whitespace separates words, 'single quotes' keep everything, "double quotes" take Go's escapes as
     * etcdctl's txn lines do ({@code \" \\ \n \t \r \a \b \f \v \xHH \ooo \\uHHHH \UHHHHHHHH}; {@code \xHH}
     * and {@code \ooo} give one byte, so any bytes can be typed), a backslash outside quotes keeps the next
     * byte, and # at the start of a word begins a comment.
     */
    static List<Word> tokenize(byte[] line) throws RaftKvCtl.UsageException {
        List<Word> words = new ArrayList<>();
        ByteArrayOutputStream word = new ByteArrayOutputStream();
        boolean inWord = false;
        int n = line.length;
        for (int i = 0; i < n; i++) {
            byte c = line[i];
            if (c == '\'') {
                int end = indexOf(line, (byte) '\'', i + 1);
                if (end < 0) throw new RaftKvCtl.UsageException("unterminated ' quote");
                word.write(line, i + 1, end - i - 1);
                i = end;
                inWord = true;
            } else if (c == '"') {
                i = unquote(line, i, word);
                inWord = true;
            } else if (c == '\\') {
                if (i + 1 >= n) throw new RaftKvCtl.UsageException("a line cannot end with \\");
                word.write(line[++i]);
                inWord = true;
            } else if (isSpace(c)) {
                if (inWord) {
                    words.add(Word.of(word.toByteArray()));
                    word.reset();
                    inWord = false;
                }
            } else if (c == '#' && !inWord) {
                break;
            } else {
                word.write(c);
                inWord = true;
            }
        }
        if (inWord) words.add(Word.of(word.toByteArray()));
        return words;
    }

    /**
     * Reads the double-quoted string that opens at {@code line[open]} with Go's escapes (what etcdctl's
     * {@code %q} reads) into {@code into}; returns the index of the closing quote.
     */
    static int unquote(byte[] line, int open, ByteArrayOutputStream into) throws RaftKvCtl.UsageException {
        int n = line.length;
        for (int j = open + 1; j < n; j++) {
            byte d = line[j];
            if (d == '"') return j;
            if (d != '\\') {
                into.write(d);
                continue;
            }
            if (j + 1 >= n) break;
            byte e = line[++j];
            switch (e) {
                case '"', '\\', '\'' -> into.write(e);
                case 'n' -> into.write('\n');
                case 't' -> into.write('\t');
                case 'r' -> into.write('\r');
                case 'a' -> into.write(7);
                case 'b' -> into.write('\b');
                case 'f' -> into.write('\f');
                case 'v' -> into.write(11);
                case 'x' -> {
                    into.write(hexNumber(line, j + 1, 2, "\\x"));
                    j += 2;
                }
                case 'u', 'U' -> {
                    int digits = e == 'u' ? 4 : 8;
                    int cp = hexNumber(line, j + 1, digits, "\\" + (char) e);
                    if (!Character.isValidCodePoint(cp) || (cp >= 0xd800 && cp <= 0xdfff)) {
                        throw new RaftKvCtl.UsageException("\\" + (char) e + " names no Unicode character");
                    }
                    into.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
                    j += digits;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = 0;
                        for (int k = 0; k < 3; k++) {
                            byte o = j + k < n ? line[j + k] : 0;
                            if (o < '0' || o > '7') throw new RaftKvCtl.UsageException("an octal escape takes 3 digits");
                            v = v * 8 + (o - '0');
                        }
                        if (v > 0xff) throw new RaftKvCtl.UsageException("an octal escape above \\377");
                        into.write(v);
                        j += 2;
                    } else {
                        throw new RaftKvCtl.UsageException("unknown escape \\" + printableChar(e) + " in double quotes");
                    }
                }
            }
        }
        throw new RaftKvCtl.UsageException("unterminated \" quote");
    }

    private static int hexNumber(byte[] line, int from, int digits, String escape) throws RaftKvCtl.UsageException {
        int v = 0;
        for (int k = 0; k < digits; k++) {
            int h = from + k < line.length ? hexDigit((char) line[from + k]) : -1;
            if (h < 0) throw new RaftKvCtl.UsageException(escape + " takes " + digits + " hex digits");
            v = v * 16 + h;
        }
        return v;
    }

    private static String printableChar(byte b) {
        return b > 0x20 && b < 0x7f ? String.valueOf((char) b) : String.format("\\x%02x", b & 0xff);
    }

    static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0x0b || c == '\f';
    }

    private static int indexOf(byte[] b, byte c, int from) {
        for (int i = from; i < b.length; i++) if (b[i] == c) return i;
        return -1;
    }

    /** {@code line} without ASCII whitespace at either end. */
    static byte[] trim(byte[] line) {
        int from = 0;
        int to = line.length;
        while (from < to && isSpace(line[from])) from++;
        while (to > from && isSpace(line[to - 1])) to--;
        return Arrays.copyOfRange(line, from, to);
    }

    // ------------------------------------------------------------------ hex

    /** The bytes written as hex: plain digits ({@code 6b6579}), or etcdctl's {@code --hex} output ({@code \x6b\x65\x79}). */
    static byte[] fromHex(String s) throws RaftKvCtl.UsageException {
        boolean escaped = s.startsWith("\\x");
        int step = escaped ? 4 : 2;
        if (s.length() % step != 0) throw notHex(s);
        byte[] b = new byte[s.length() / step];
        for (int i = 0; i < b.length; i++) {
            int at = i * step;
            if (escaped && !s.startsWith("\\x", at)) throw notHex(s);
            int hi = hexDigit(s.charAt(at + step - 2));
            int lo = hexDigit(s.charAt(at + step - 1));
            if (hi < 0 || lo < 0) throw notHex(s);
            b[i] = (byte) (hi << 4 | lo);
        }
        return b;
    }

    /** An ASCII hex digit's value, else -1 (Character.digit would also take other scripts' digits). */
    private static int hexDigit(char c) {
        return c < 0x80 ? Character.digit(c, 16) : -1;
    }

    private static RaftKvCtl.UsageException notHex(String s) {
        String shown = s.length() > 40 ? s.substring(0, 40) + "..." : s;
        return new RaftKvCtl.UsageException("--hex: '" + shown + "' is not hex (write 6b6579 or \\x6b\\x65\\x79)");
    }

    /** etcdctl's {@code --hex} form: {@code \x} before every byte's two lower-case digits. */
    static String toHex(byte[] b) {
        StringBuilder s = new StringBuilder(b.length * 4);
        for (byte c : b) s.append("\\x").append(Character.forDigit((c >> 4) & 0xf, 16)).append(Character.forDigit(c & 0xf, 16));
        return s.toString();
    }

    // ------------------------------------------------------------------ the program's arguments

    /**
     * The program's arguments as the bytes the caller gave. Java hands {@code main} strings decoded with the
     * platform charset, which has already replaced every invalid byte with U+FFFD; on Linux the bytes are still
     * in {@code /proc/self/cmdline}, whose last entries are the program's arguments. They are used only when
     * they decode to exactly the strings Java gave; else the strings' UTF-8 bytes.
     */
    static byte[][] programArguments(String[] args) {
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc/self/cmdline"));
            String encoding = System.getProperty("sun.jnu.encoding");
            Charset charset = encoding != null && Charset.isSupported(encoding) ? Charset.forName(encoding) : Charset.defaultCharset();
            byte[][] raw = matchArguments(args, cmdline, charset);
            if (raw != null) return raw;
        } catch (IOException | RuntimeException e) {
            // Not Linux, or not readable: the strings are all there is.
        }
        byte[][] utf8 = new byte[args.length][];
        for (int i = 0; i < args.length; i++) utf8[i] = args[i].getBytes(StandardCharsets.UTF_8);
        return utf8;
    }

    /** The last {@code args.length} NUL-terminated entries of {@code cmdline}, if each decodes to its argument; else null. */
    static byte[][] matchArguments(String[] args, byte[] cmdline, Charset charset) {
        List<byte[]> entries = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                entries.add(Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        if (start < cmdline.length) entries.add(Arrays.copyOfRange(cmdline, start, cmdline.length));
        if (entries.size() < args.length) return null;
        byte[][] raw = new byte[args.length][];
        int first = entries.size() - args.length;
        for (int i = 0; i < args.length; i++) {
            raw[i] = entries.get(first + i);
            if (!decodeLikeJava(raw[i], charset).equals(args[i])) return null;
        }
        return raw;
    }

    private static String decodeLikeJava(byte[] b, Charset charset) {
        try {
            // Strict first: most arguments are valid, and then the answer is exact.
            return charset.newDecoder().onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            return new String(b, charset);
        }
    }

    // ------------------------------------------------------------------ standard input

    /** Reads standard input line by line as bytes, each line at most {@code lineBytesMax} long; counts the lines. */
    static final class LineReader {

        private final InputStream in;
        private final int lineBytesMax;
        private long lineNumber;

        LineReader(InputStream in, int lineBytesMax) {
            this.in = in instanceof BufferedInputStream ? in : new BufferedInputStream(in);
            this.lineBytesMax = lineBytesMax;
        }

        /** The next line without its {@code \n} (or {@code \r\n}); null at the end of input. A longer line is skipped and refused. */
        byte[] readLine() throws IOException, RaftKvCtl.UsageException {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            boolean tooLong = false;
            int c;
            boolean any = false;
            while ((c = in.read()) >= 0) {
                any = true;
                if (c == '\n') break;
                if (line.size() < lineBytesMax) line.write(c);
                else tooLong = true;
            }
            if (!any) return null;
            lineNumber++;
            if (tooLong) throw new RaftKvCtl.UsageException("the line is longer than " + lineBytesMax + " bytes");
            byte[] b = line.toByteArray();
            return b.length > 0 && b[b.length - 1] == '\r' ? Arrays.copyOf(b, b.length - 1) : b;
        }

        /** The number of the line last read, from 1. */
        long lineNumber() {
            return lineNumber;
        }

        /** Everything left, refused beyond {@code bytesMax}. */
        byte[] readAll(int bytesMax) throws IOException, RaftKvCtl.UsageException {
            byte[] b = in.readNBytes(bytesMax + 1);
            if (b.length > bytesMax) throw new RaftKvCtl.UsageException("standard input holds more than " + bytesMax + " bytes");
            return b;
        }
    }
}
