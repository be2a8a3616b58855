package io.raftkv.client;

import io.raftkv.protocol.AuthRequest;
import io.raftkv.protocol.ClientCodec;
import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.FrameType;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.zip.CRC32C;

/**
 * Backups of a node's store ({@code raftkvctl snapshot save} and {@code snapshot status}): the node writes its store
 * as of now in the snapshot file format (docs/snapshots.md) and streams it; the file is checked whole before it gets
 * its name. {@link #status} reads such a file's headers and checks its CRC, without the node's code.
 */
public final class SnapshotBackup {

    /** What a snapshot file holds, from its headers; {@code crc} is the file's CRC-32C, as its trailer gives it. */
    public record Status(long index, long term, int voters, long revision, long compactRevision, long keys, long totalBytes, int crc) {
        public String hash() {
            return String.format("%08x", crc);
        }
    }

    /** The largest frame a node sends in a backup: its chunks are at most 1 MiB. */
    private static final int FRAME_BYTES_MAX = 8 << 20;
    private static final int REQUEST_ID = 1;

    private static final byte[] FILE_MAGIC = {'R', 'K', 'V', 'S', 'N', 'P'};
    private static final byte[] END_MAGIC = {'R', 'K', 'V', 'E', 'N', 'D'};
    private static final byte[] PAYLOAD_MAGIC = {'R', 'K', 'V', 'K', 'V', 'S'};
    private static final int FILE_HEADER_FIXED_BYTES = 28;
    private static final int TRAILER_BYTES = 18;
    private static final int PAYLOAD_HEADER_BYTES = 40;

    private static Socket tlsSocket(Socket plain, InetSocketAddress node, javax.net.ssl.SSLContext tls) throws IOException {
        javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) tls.getSocketFactory().createSocket(plain, node.getHostString(), node.getPort(), true);
        javax.net.ssl.SSLParameters parameters = socket.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        try {
            socket.startHandshake();
        } catch (IOException e) {
            socket.close();
            throw new IOException("TLS handshake failed with " + node.getHostString() + ":" + node.getPort() + ": " + e.getMessage(), e);
        }
        return socket;
    }

    private SnapshotBackup() {
    }

    /**
     * Streams a backup from {@code node} into {@code file} (written to {@code file.part}, synced, checked, then
     * renamed). {@code timeout} bounds each read from the node, not the whole transfer.
     */
    public static Status save(InetSocketAddress node, Path file, Duration timeout) throws IOException {
        return save(node, file, timeout, null, null, null);
    }

    /**
     * As {@link #save(InetSocketAddress, Path, Duration)}, over TLS when {@code tls} is not null (the node's certificate
     * checked against its address), and authenticated as {@code user} first (null: not): once auth is enabled only a
     * user with the role root may take a backup.
     */
    public static Status save(InetSocketAddress node, Path file, Duration timeout, javax.net.ssl.SSLContext tls, String user, String password)
            throws IOException {
        Path part = file.resolveSibling(file.getFileName() + ".part");
        Socket plain = new Socket();
        try {
            plain.connect(node, (int) timeout.toMillis());
        } catch (IOException e) {
            plain.close();
            throw new IOException("cannot connect to " + node.getHostString() + ":" + node.getPort() + ": " + e.getMessage(), e);
        }
        try (Socket socket = tls == null ? plain : tlsSocket(plain, node, tls)) {
            socket.setSoTimeout((int) timeout.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write(bytes(ClientCodec.helloClient()));
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
            if (user != null) authenticate(node, out, in, user, password);
            out.write(bytes(ClientCodec.snapshotRequest(REQUEST_ID)));
            out.flush();
            try (FileChannel target = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                long received = 0;
                while (true) {
                    int length = in.readInt();
                    if (length < 1 || length > FRAME_BYTES_MAX) throw new IOException(node + " sent a frame of " + length + " bytes");
                    byte type = in.readByte();
                    byte[] body = new byte[length - 1];
                    in.readFully(body);
                    if (type != FrameType.SNAPSHOT_DATA) {
                        ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
                        if (r instanceof ClientResponse.Error e) {
                            throw new IOException(node + " refused the backup: " + ErrorCode.name(e.code()) + " " + e.message());
                        }
                        throw new IOException(node + " answered the backup with " + FrameType.name(type));
                    }
                    ClientCodec.SnapshotData d = ClientCodec.decodeSnapshotData(ByteBuffer.wrap(body));
                    if (d.offset() != received) throw new IOException(node + " sent bytes at " + d.offset() + ", expected " + received);
                    while (d.data().hasRemaining()) received += target.write(d.data(), received);
                    if (received == d.totalBytes()) break;
                }
                target.force(true);
            }
        } catch (EOFException e) {
            Files.deleteIfExists(part);
            throw new IOException(node + " closed the connection before the backup was whole", e);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        Status status;
        try {
            status = status(part);
        } catch (IOException e) {
            Files.deleteIfExists(part);
            throw e;
        }
        Files.move(part, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return status;
    }

    /**
     * AUTHENTICATE, and its answer awaited: the node checks the password off its loop, so a request sent behind it would
     * be served before the connection has its user. A cluster without auth says so, and the backup goes on without one.
     */
    private static void authenticate(InetSocketAddress node, OutputStream out, DataInputStream in, String user, String password) throws IOException {
        out.write(bytes(ClientCodec.request(new ClientRequest.Auth(REQUEST_ID, new AuthRequest.Authenticate(user, password)))));
        out.flush();
        int length = in.readInt();
        if (length < 1 || length > FRAME_BYTES_MAX) throw new IOException(node + " sent a frame of " + length + " bytes");
        byte type = in.readByte();
        byte[] body = new byte[length - 1];
        in.readFully(body);
        ClientResponse r = ClientCodec.decodeResponse(type, ByteBuffer.wrap(body));
        if (r instanceof ClientResponse.Ok || (r instanceof ClientResponse.Error e && e.code() == ErrorCode.AUTH_NOT_ENABLED)) return;
        throw new IOException(node + " refused user " + user + ": " + r);
    }

    /** Reads a snapshot file's headers and checks its CRC; an IOException names what is wrong. */
    public static Status status(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such file");
        try (FileChannel c = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = c.size();
            if (size < FILE_HEADER_FIXED_BYTES + TRAILER_BYTES) throw new IOException(file + " is not a snapshot: " + size + " bytes");
            ByteBuffer head = readAt(c, 0, FILE_HEADER_FIXED_BYTES);
            if (!startsWith(head, FILE_MAGIC)) throw new IOException(file + " is not a snapshot: bad magic");
            long index = head.getLong(8);
            long term = head.getLong(16);
            // Format 2: the cluster configuration at the snapshot's index follows (docs/snapshots.md, docs/protocol.md).
            int configBytes = head.getInt(24);
            if (configBytes < 1 || configBytes > size - FILE_HEADER_FIXED_BYTES - TRAILER_BYTES) {
                throw new IOException(file + " is damaged: a configuration of " + Integer.toUnsignedString(configBytes) + " bytes");
            }
            ByteBuffer trailer = readAt(c, size - TRAILER_BYTES, TRAILER_BYTES);
            long payloadBytes = trailer.getLong(0);
            int storedCrc = trailer.getInt(8);
            if (!startsWith(trailer.position(12), END_MAGIC)) throw new IOException(file + " is torn: no end magic");
            long crcEnd = size - 10;
            CRC32C crc = new CRC32C();
            ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
            for (long at = 0; at < crcEnd; ) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), crcEnd - at));
                int n = c.read(buffer, at);
                if (n < 0) throw new IOException(file + " shrank while it was read");
                crc.update(buffer.flip());
                at += n;
            }
            if ((int) crc.getValue() != storedCrc) {
                throw new IOException(String.format("%s is damaged: bad CRC (the trailer says %08x, the bytes give %08x)", file, storedCrc, (int) crc.getValue()));
            }
            int voters = voters(readAt(c, FILE_HEADER_FIXED_BYTES, configBytes), file);
            long payloadStart = FILE_HEADER_FIXED_BYTES + (long) configBytes;
            if (payloadBytes != size - payloadStart - TRAILER_BYTES || payloadBytes < PAYLOAD_HEADER_BYTES) {
                throw new IOException(file + " is damaged: its payload length does not add up");
            }
            ByteBuffer payload = readAt(c, payloadStart, PAYLOAD_HEADER_BYTES);
            if (!startsWith(payload, PAYLOAD_MAGIC)) throw new IOException(file + " holds no key-value store");
            return new Status(index, term, voters, payload.getLong(8), payload.getLong(16), payload.getLong(32), size, storedCrc);
        }
    }

    /** The voters a configuration lists: [u8 format][u32 n]{[u32 id][u8 role][u16 length][address]}[removed ids]. */
    private static int voters(ByteBuffer config, Path file) throws IOException {
        try {
            config.get();
            int members = config.getInt();
            int voters = 0;
            for (int i = 0; i < members; i++) {
                config.getInt();
                if (config.get() == 0) voters++;
                int addressBytes = Short.toUnsignedInt(config.getShort());
                config.position(config.position() + addressBytes);
            }
            return voters;
        } catch (RuntimeException e) {
            throw new IOException(file + " is damaged: its configuration does not read");
        }
    }

    private static boolean startsWith(ByteBuffer b, byte[] magic) {
        for (int i = 0; i < magic.length; i++) if (b.get(b.position() + i) != magic[i]) return false;
        return true;
    }

    private static ByteBuffer readAt(FileChannel c, long position, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) if (c.read(b, position + b.position()) < 0) throw new IOException("the file ended early");
        return b.flip();
    }

    private static byte[] bytes(ByteBuffer frame) {
        byte[] b = new byte[frame.remaining()];
        frame.get(b);
        return b;
    }
}
