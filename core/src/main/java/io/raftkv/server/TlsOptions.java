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

    /** The names of the options, after {@code tls.} (an options file) or {@code raftkv.tls.} (system properties). */
    static final java.util.List<String> NAMES = java.util.List.of("cert", "key", "peerCert", "peerKey", "ca", "clientCa", "clientCertAuth", "password",
            "handshakeTimeoutMs");

    /** Reads {@code -Draftkv.tls.cert=...} and the others of the same names. */
    public static TlsOptions fromSystemProperties() {
        return read(name -> System.getProperty("raftkv.tls." + name));
    }

    /**
     * Reads the options by their names ({@link #NAMES}); {@code get} returns null for one not set. A switch or a number
     * that does not parse is an {@link IllegalArgumentException} naming it.
     */
    static TlsOptions read(java.util.function.Function<String, String> get) {
        String auth = get.apply("clientCertAuth");
        if (auth != null && !auth.strip().equals("true") && !auth.strip().equals("false")) {
            throw new IllegalArgumentException("tls.clientCertAuth: '" + auth + "' is not true or false");
        }
        String timeout = get.apply("handshakeTimeoutMs");
        long timeoutMs;
        try {
            timeoutMs = timeout == null ? HANDSHAKE_TIMEOUT_MS_DEFAULT : Long.parseLong(timeout.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("tls.handshakeTimeoutMs: '" + timeout + "' is not a whole number");
        }
        return new TlsOptions(path(get.apply("cert")), path(get.apply("key")), path(get.apply("peerCert")), path(get.apply("peerKey")),
                path(get.apply("ca")), path(get.apply("clientCa")), auth != null && auth.strip().equals("true"), get.apply("password"), timeoutMs);
    }

    private static Path path(String value) {
        return value == null || value.isBlank() ? null : Path.of(value.strip());
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
