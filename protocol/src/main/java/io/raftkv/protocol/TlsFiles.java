package io.raftkv.protocol;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads TLS key material with the JDK alone, for nodes and clients: a PKCS#12 keystore ({@code .p12}, what
 * {@code keytool} writes), or PEM (a certificate chain, and an unencrypted PKCS#8 key: {@code BEGIN PRIVATE KEY}). A
 * file is PEM when it starts with {@code -----BEGIN}, PKCS#12 otherwise. Every failure is an IOException naming the file.
 */
public final class TlsFiles {

    private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

    private TlsFiles() {
    }

    /**
     * An SSLContext for a client: trusts the certificates of {@code caFile} (PEM or PKCS#12) only, and presents the
     * certificate of {@code certFile} when it is not null (PKCS#12 with {@code password}, or PEM with {@code keyFile}).
     * What {@code raftkvctl --cacert --cert --key} builds.
     */
    public static SSLContext clientContext(Path caFile, Path certFile, Path keyFile, char[] password) throws IOException {
        return context(certFile == null ? null : keyManagers(certFile, keyFile, password), trustManagers(password, caFile));
    }

    /** An SSLContext (TLS 1.2 or 1.3, the JDK's defaults) from key managers (null: none) and trust managers. */
    public static SSLContext context(KeyManager[] keys, TrustManager[] trust) throws IOException {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys, trust, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make a TLS context: " + e.getMessage(), e);
        }
    }

    /** A key and its certificate chain: from a PKCS#12 {@code certFile} (with {@code password}), or PEM files. */
    public static KeyManager[] keyManagers(Path certFile, Path keyFile, char[] password) throws IOException {
        char[] pass = password != null ? password : new char[0];
        KeyStore store;
        if (isPem(certFile)) {
            if (keyFile == null) throw new IOException(certFile + " is PEM: its key must be given too (a PEM file with BEGIN PRIVATE KEY)");
            List<Certificate> chain = certificates(certFile);
            if (chain.isEmpty()) throw new IOException("no certificate in " + certFile);
            store = emptyStore();
            try {
                store.setKeyEntry("key", privateKey(keyFile), pass, chain.toArray(new Certificate[0]));
            } catch (GeneralSecurityException e) {
                throw new IOException(keyFile + " does not go with " + certFile + ": " + e.getMessage(), e);
            }
        } else {
            store = pkcs12(certFile, pass);
        }
        try {
            KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            factory.init(store, pass);
            return factory.getKeyManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the key in " + certFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Trust in exactly the certificates of {@code files}, not the JDK's: PEM, or the trusted certificates of a PKCS#12
     * keystore (opened with {@code password}: keytool encrypts even the certificates).
     */
    public static TrustManager[] trustManagers(char[] password, Path... files) throws IOException {
        KeyStore store = emptyStore();
        int n = 0;
        for (Path file : files) {
            List<Certificate> certs = new ArrayList<>();
            if (isPem(file)) {
                certs.addAll(certificates(file));
            } else {
                KeyStore p12 = pkcs12(file, password != null ? password : new char[0]);
                try {
                    for (String alias : Collections.list(p12.aliases())) if (p12.isCertificateEntry(alias)) certs.add(p12.getCertificate(alias));
                } catch (GeneralSecurityException e) {
                    throw new IOException("cannot read " + file + ": " + e.getMessage(), e);
                }
            }
            if (certs.isEmpty()) throw new IOException("no trusted certificate in " + file);
            for (Certificate c : certs) {
                try {
                    store.setCertificateEntry("ca" + n++, c);
                } catch (GeneralSecurityException e) {
                    throw new IOException("cannot trust a certificate of " + file + ": " + e.getMessage(), e);
                }
            }
        }
        try {
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            return factory.getTrustManagers();
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot trust " + List.of(files) + ": " + e.getMessage(), e);
        }
    }

    /** Every certificate of a PEM file, in order (a chain: the leaf first). */
    public static List<Certificate> certificates(Path pemFile) throws IOException {
        try {
            List<Certificate> certs = new ArrayList<>();
            for (byte[] der : pemBlocks(pemFile, "CERTIFICATE")) {
                certs.add(CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der)));
            }
            return certs;
        } catch (GeneralSecurityException e) {
            throw new IOException("bad certificate in " + pemFile + ": " + e.getMessage(), e);
        }
    }

    /** The PEM encoding of {@code der} under {@code type}: what {@code CertsMain} writes. */
    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[]{'\n'}).encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    private static PrivateKey privateKey(Path pemFile) throws IOException {
        String text = Files.readString(pemFile, StandardCharsets.US_ASCII);
        if (text.contains("BEGIN ENCRYPTED PRIVATE KEY") || text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN EC PRIVATE KEY")) {
            throw new IOException(pemFile + " holds an encrypted or a PKCS#1/SEC1 key; give an unencrypted PKCS#8 key "
                    + "(openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8) or a PKCS#12 keystore");
        }
        List<byte[]> keys = pemBlocks(pemFile, "PRIVATE KEY");
        if (keys.size() != 1) throw new IOException(pemFile + " holds " + keys.size() + " PRIVATE KEY blocks, not one");
        // PKCS#8 names its algorithm inside, but the JDK's KeyFactory wants it named first: try the ones TLS uses.
        for (String algorithm : List.of("EC", "RSA", "RSASSA-PSS", "EdDSA")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(keys.get(0)));
            } catch (GeneralSecurityException e) {
                // Not this algorithm: try the next.
            }
        }
        throw new IOException(pemFile + " holds no EC, RSA or EdDSA PKCS#8 key the JDK can read");
    }

    private static List<byte[]> pemBlocks(Path file, String type) throws IOException {
        Matcher m = PEM.matcher(Files.readString(file, StandardCharsets.US_ASCII));
        List<byte[]> blocks = new ArrayList<>();
        while (m.find()) {
            if (!m.group(1).equals(type)) continue;
            try {
                blocks.add(Base64.getMimeDecoder().decode(m.group(2)));
            } catch (IllegalArgumentException e) {
                throw new IOException("bad base64 in a " + type + " block of " + file, e);
            }
        }
        return blocks;
    }

    private static boolean isPem(Path file) throws IOException {
        byte[] head = new byte[64];
        int n;
        try (var in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        return new String(head, 0, n, StandardCharsets.US_ASCII).strip().startsWith("-----BEGIN");
    }

    private static KeyStore pkcs12(Path file, char[] password) throws IOException {
        try (var in = Files.newInputStream(file)) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(in, password);
            return store;
        } catch (GeneralSecurityException | IOException e) {
            throw new IOException("cannot read " + file + " as a PKCS#12 keystore (wrong password?): " + e.getMessage(), e);
        }
    }

    private static KeyStore emptyStore() throws IOException {
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            return store;
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }
}
