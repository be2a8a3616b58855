package io.raftkv.server;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.TlsFiles;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Arrays;

/**
 * The TLS contexts of a node, loaded once at start from {@link TlsOptions}. One port serves clients and peers, and which
 * one a connection is only shows at its first frame, after the handshake: so the accepting side asks every connection for
 * a certificate (wants it; needs it with {@code clientCertAuth}), the handshake verifies one that is given, and a HELLO_PEER
 * is accepted only on a connection whose certificate chains to the cluster's CA ({@link #peerRefusal}). The dialling side
 * verifies the peer's certificate against the same CA and the peer's address (its SAN must name the host the
 * configuration lists), and shows its own.
 */
final class NodeTls {

    private final SSLContext accepting;
    private final SSLContext dialling;
    private final X509TrustManager peerTrust;
    private final boolean clientCertAuth;
    private final String description;

    private NodeTls(SSLContext accepting, SSLContext dialling, X509TrustManager peerTrust, boolean clientCertAuth, String description) {
        this.accepting = accepting;
        this.dialling = dialling;
        this.peerTrust = peerTrust;
        this.clientCertAuth = clientCertAuth;
        this.description = description;
    }

    /** Null when TLS is off; an IOException naming the file when one cannot be used. */
    static NodeTls load(TlsOptions o) throws IOException {
        o.validate();
        if (!o.enabled()) return null;
        char[] password = o.password() == null ? null : o.password().toCharArray();
        TrustManager[] peers = TlsFiles.trustManagers(password, o.ca());
        TrustManager[] everyone = o.clientCa() == null ? peers : TlsFiles.trustManagers(password, o.ca(), o.clientCa());
        SSLContext accepting = TlsFiles.context(TlsFiles.keyManagers(o.cert(), o.key(), password), everyone);
        SSLContext dialling = o.peerCert() == null ? TlsFiles.context(TlsFiles.keyManagers(o.cert(), o.key(), password), peers)
                : TlsFiles.context(TlsFiles.keyManagers(o.peerCert(), o.peerKey(), password), peers);
        X509TrustManager peerTrust = (X509TrustManager) Arrays.stream(peers).filter(t -> t instanceof X509TrustManager).findFirst()
                .orElseThrow(() -> new IOException("no X.509 trust manager for " + o.ca()));
        NodeTls tls = new NodeTls(accepting, dialling, peerTrust, o.clientCertAuth(), o.toString());
        tls.selfCheck();
        return tls;
    }

    /**
     * One handshake in memory, this node dialling itself: a certificate that the cluster's CA does not sign stops the node
     * at start, with the reason, rather than every link later. It also pays the JDK's first-handshake costs (class
     * loading, cold code: 0.2 s here) before the loop runs, not inside a peer link's dial bound.
     */
    private void selfCheck() throws IOException {
        SSLEngine server = accepted();
        SSLEngine client = dialling.createSSLEngine();
        client.setUseClientMode(true);
        ByteBuffer toServer = ByteBuffer.allocate(server.getSession().getPacketBufferSize() * 4);
        ByteBuffer toClient = ByteBuffer.allocate(client.getSession().getPacketBufferSize() * 4);
        ByteBuffer plaintext = ByteBuffer.allocate(Math.max(server.getSession().getApplicationBufferSize(), client.getSession().getApplicationBufferSize()));
        try {
            client.beginHandshake();
            server.beginHandshake();
            for (int step = 0; step < SELF_CHECK_STEPS_MAX; step++) {
                if (done(client) && done(server)) return;
                step(client, toServer, toClient, plaintext);
                step(server, toClient, toServer, plaintext);
            }
            throw new IOException("the TLS self-check did not finish in " + SELF_CHECK_STEPS_MAX + " steps");
        } catch (SSLException e) {
            throw new IOException("TLS self-check failed (this node's certificate, dialling itself, against tls.ca): " + e.getMessage(), e);
        }
    }

    private static final int SELF_CHECK_STEPS_MAX = 100;

    private static boolean done(SSLEngine e) {
        return e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING;
    }

    private static void step(SSLEngine e, ByteBuffer out, ByteBuffer in, ByteBuffer plaintext) throws SSLException {
        switch (e.getHandshakeStatus()) {
            case NEED_TASK -> {
                for (Runnable task; (task = e.getDelegatedTask()) != null; ) task.run();
            }
            case NEED_WRAP -> e.wrap(ByteBuffer.allocate(0), out);
            case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                in.flip();
                plaintext.clear();
                e.unwrap(in, plaintext);
                in.compact();
            }
            default -> { }
        }
    }

    /** The engine of a connection this node accepted. */
    SSLEngine accepted() {
        SSLEngine engine = accepting.createSSLEngine();
        engine.setUseClientMode(false);
        if (clientCertAuth) engine.setNeedClientAuth(true);
        else engine.setWantClientAuth(true);
        return engine;
    }

    /** The engine of the link this node dials to {@code peer}: the peer's certificate must name its address. */
    SSLEngine dial(ClusterConfig.Member peer) {
        SSLEngine engine = dialling.createSSLEngine(peer.host(), peer.port());
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(parameters);
        return engine;
    }

    /** Blocking sockets to members, as this node dials peers (a joining node asks a member who the others are). */
    SSLSocketFactory socketFactory() {
        return dialling.getSocketFactory();
    }

    /** Why a connection with {@code chain} may not speak the peer protocol, or null when it may. */
    String peerRefusal(Certificate[] chain) {
        if (chain == null || chain.length == 0) return "a peer must present a certificate of the cluster's CA, and this connection presented none";
        try {
            X509Certificate[] x509 = Arrays.copyOf(chain, chain.length, X509Certificate[].class);
            peerTrust.checkClientTrusted(x509, x509[0].getPublicKey().getAlgorithm());
            return null;
        } catch (CertificateException | ArrayStoreException e) {
            return "the certificate presented (" + subject(chain[0]) + ") is not one of the cluster's CA: " + e.getMessage();
        }
    }

    private static String subject(Certificate c) {
        return c instanceof X509Certificate x ? x.getSubjectX500Principal().getName() : c.getType();
    }

    @Override
    public String toString() {
        return description;
    }
}
