package io.raftkv.server;

import java.nio.file.Path;

/**
 * TLS of one node (docs/security.md), off unless {@code cert} is set. {@code cert}: the node's certificate, shown to clients
 * and to the peers that dial it: a PKCS#12 keystore opened with {@code password}, or a PEM chain with its PKCS#8 PEM
 * {@code key}. {@code peerCert}/{@code peerKey}: what the node shows when it dials a peer (default: {@code cert}).
 * {@code ca}: the cluster's CA, PEM or PKCS#12; a peer link either way is refused unless the other side's certificate
 * chains to it. {@code clientCa}: the CA of client certificates, when it is not the cluster's (then a client's
 * certificate cannot pass for a peer's). {@code clientCertAuth}: clients must present a certificate too. {@code {id}} in the
 * node's own file names stands for its id ({@link #forNode}).
 * {@code handshakeTimeoutMs}: an accepted connection's handshake must be over by then.
 */
public record TlsOptions(Path cert, Path key, Path peerCert, Path peerKey, Path ca, Path clientCa, boolean clientCertAuth,
                         String password, long handshakeTimeoutMs) {

    public static final long HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
    public static final TlsOptions OFF = new TlsOptions(null, null, null, null, null, null, false, null, HANDSHAKE_TIMEOUT_MS_DEFAULT);

    public boolean enabled() {
        return cert != null;
    }

    /**
     * The same options with {@code {id}} in the node's own file names replaced by {@code id}: one set of options (one
     * {@code JAVA_TOOL_OPTIONS}) serves every node of a cluster, e.g. {@code -Draftkv.tls.cert=certs/node{id}.p12}.
     */
    TlsOptions forNode(int id) {
        return new TlsOptions(ofNode(cert, id), ofNode(key, id), ofNode(peerCert, id), ofNode(peerKey, id), ca, clientCa, clientCertAuth, password,
                handshakeTimeoutMs);
    }

    private static Path ofNode(Path file, int id) {
        return file == null ? null : Path.of(file.toString().replace("{id}", String.valueOf(id)));
    }

    /** Reads {@code -Draftkv.tls.cert=...} and the others of the same names. */
    public static TlsOptions fromSystemProperties() {
        return new TlsOptions(path("raftkv.tls.cert"), path("raftkv.tls.key"), path("raftkv.tls.peerCert"), path("raftkv.tls.peerKey"),
                path("raftkv.tls.ca"), path("raftkv.tls.clientCa"), Boolean.getBoolean("raftkv.tls.clientCertAuth"),
                System.getProperty("raftkv.tls.password"), Long.getLong("raftkv.tls.handshakeTimeoutMs", HANDSHAKE_TIMEOUT_MS_DEFAULT));
    }

    private static Path path(String property) {
        String value = System.getProperty(property);
        return value == null || value.isBlank() ? null : Path.of(value);
    }

    /** Throws IllegalArgumentException naming the option that is missing or contradicts another. */
    void validate() {
        if (!enabled()) {
            if (key != null || peerCert != null || peerKey != null || ca != null || clientCa != null || clientCertAuth) {
                throw new IllegalArgumentException("TLS options are set but tls.cert is not: set tls.cert (and tls.ca) to turn TLS on");
            }
            return;
        }
        if (ca == null) throw new IllegalArgumentException("tls.ca is required with tls.cert: peers are checked against the cluster's CA");
        if (peerKey != null && peerCert == null) throw new IllegalArgumentException("tls.peerKey is set without tls.peerCert");
        if (handshakeTimeoutMs < 1) throw new IllegalArgumentException("tls.handshakeTimeoutMs (" + handshakeTimeoutMs + ") must be at least 1");
    }

    /** Without the password. */
    @Override
    public String toString() {
        if (!enabled()) return "TLS off";
        return "TLS cert " + cert + (peerCert != null ? ", peer cert " + peerCert : "") + ", CA " + ca + (clientCa != null ? ", client CA " + clientCa : "")
                + (clientCertAuth ? ", client certificates required" : "");
    }
}
