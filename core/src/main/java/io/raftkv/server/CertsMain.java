package io.raftkv.server;

import io.raftkv.protocol.ClusterConfig;
import io.raftkv.protocol.TlsFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ExecutionException;

/**
 * {@code raftkv-certs DIR [--config FILE] [--names NAME,...] [--password P] [--days N]}: a test CA and certificates for a
 * local cluster. The JDK's {@code keytool} makes the CA and signs each certificate (its extensions, serial and signature:
 * the part worth leaving to a tool); the JDK's APIs make each key and its certificate request (a few lines of DER) and
 * write the files keytool cannot (a private key as PEM). One keytool run per certificate, about half a second, the
 * certificates side by side. A CA already in DIR is kept, so certificates for new members can be added later.
 *
 * <p>DIR gets {@code ca.pem} (what nodes and clients trust), {@code ca.p12} (the CA's key: keep it away from the nodes),
 * and for each node of the configuration ({@code nodeN}, its host and 127.0.0.1 and localhost in its SAN), for
 * {@code client}, and for each extra name: {@code NAME.p12} (key and chain, under the password), and the same as PEM,
 * {@code NAME.pem} (the chain) and {@code NAME-key.pem} (PKCS#8, unencrypted, readable by its owner only). EC P-256 keys,
 * each certificate good for server and client authentication.
 */
public final class CertsMain {

    public static final String PASSWORD_DEFAULT = "raftkv-test";
    private static final int DAYS_DEFAULT = 365;
    private static final int KEYTOOL_SECONDS_MAX = 60;
    private static final int PARALLEL_MAX = 4;

    /** A certificate to make: its name (CN and file names) and the hosts its SAN names. */
    public record Leaf(String name, List<String> hosts) { }

    private CertsMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = null;
        Path config = Path.of("nodes.conf");
        List<String> names = new ArrayList<>();
        String password = PASSWORD_DEFAULT;
        int days = DAYS_DEFAULT;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--config" -> config = Path.of(required(args[i], value));
                case "--names" -> names.addAll(List.of(required(args[i], value).split(",")));
                case "--password" -> password = required(args[i], value);
                case "--days" -> days = Integer.parseInt(required(args[i], value));
                case "-h", "--help" -> usage(null);
                default -> {
                    if (args[i].startsWith("-") || dir != null) usage("unexpected argument " + args[i]);
                    dir = Path.of(args[i]);
                    continue;
                }
            }
            i++;
        }
        if (dir == null) usage("the directory to write to is required");
        if (password.length() < 6) usage("--password must have at least 6 characters (keytool's minimum)");
        List<Leaf> leaves = new ArrayList<>();
        if (Files.exists(config)) {
            for (ClusterConfig.Member m : ClusterConfig.load(config).members()) leaves.add(new Leaf("node" + m.id(), List.of(m.host())));
        } else {
            System.err.println("raftkv-certs: no " + config + ": no node certificates, only client and --names ones");
        }
        leaves.add(new Leaf("client", List.of()));
        for (String name : names) if (!name.isBlank()) leaves.add(new Leaf(name.strip(), List.of()));
        generate(dir, "raftkv test CA", leaves, password, days);
        System.out.println("made " + dir.resolve("ca.pem") + " and, for " + leaves.stream().map(Leaf::name).toList() + ", NAME.p12, NAME.pem, NAME-key.pem");
        System.out.println("nodes: JAVA_TOOL_OPTIONS=\"-Draftkv.tls.cert=" + dir.toAbsolutePath().resolve("node{id}.p12") + " -Draftkv.tls.password=" + password
                + " -Draftkv.tls.ca=" + dir.toAbsolutePath().resolve("ca.pem") + "\" bin/raftkv start   (docs/security.md)");
    }

    /**
     * Makes the CA {@code caName} in {@code dir} unless one is there, then each leaf signed by it (see the class comment).
     * Each leaf's SAN names its hosts, 127.0.0.1 and localhost.
     */
    public static void generate(Path dir, String caName, List<Leaf> leaves, String password, int days) throws IOException {
        Files.createDirectories(dir);
        Path caStore = dir.resolve("ca.p12");
        if (!Files.exists(caStore)) {
            keytool("-genkeypair", "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + caName, "-ext", "bc:c",
                    "-ext", "ku:c=keyCertSign,cRLSign", "-validity", String.valueOf(days), "-keystore", caStore.toString(), "-storetype", "PKCS12",
                    "-storepass", password);
        }
        Files.writeString(dir.resolve("ca.pem"), TlsFiles.pem("CERTIFICATE", encoded(caCertificate(caStore, password))), StandardCharsets.US_ASCII);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(PARALLEL_MAX, leaves.size())));
        try {
            List<Future<?>> made = new ArrayList<>();
            for (Leaf leaf : leaves) made.add(pool.submit(() -> {
                leaf(dir, leaf, password, days);
                return null;
            }));
            for (Future<?> f : made) f.get();
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while making certificates", e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void leaf(Path dir, Leaf leaf, String password, int days) throws IOException {
        String name = leaf.name();
        Path request = dir.resolve(name + ".csr");
        Path signed = dir.resolve(name + ".crt");
        Set<String> san = new LinkedHashSet<>();
        for (String host : leaf.hosts()) san.add(sanEntry(host));
        san.add("ip:127.0.0.1");
        san.add("dns:localhost");
        KeyPair pair;
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            pair = generator.generateKeyPair();
            Files.writeString(request, TlsFiles.pem("NEW CERTIFICATE REQUEST", certificateRequest(name, pair)), StandardCharsets.US_ASCII);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make a key for " + name + ": " + e.getMessage(), e);
        }
        keytool("-gencert", "-alias", "ca", "-keystore", dir.resolve("ca.p12").toString(), "-storepass", password, "-infile", request.toString(),
                "-outfile", signed.toString(), "-rfc", "-validity", String.valueOf(days), "-ext", "san=" + String.join(",", san),
                "-ext", "eku=serverAuth,clientAuth", "-ext", "ku:c=digitalSignature");
        List<Certificate> chain = new ArrayList<>(TlsFiles.certificates(signed));
        chain.add(caCertificate(dir.resolve("ca.p12"), password));
        Files.delete(request);
        Files.delete(signed);
        StringBuilder pem = new StringBuilder();
        for (Certificate c : chain) pem.append(TlsFiles.pem("CERTIFICATE", encoded(c)));
        Files.writeString(dir.resolve(name + ".pem"), pem, StandardCharsets.US_ASCII);
        try (var out = Files.newOutputStream(dir.resolve(name + ".p12"))) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry(name, pair.getPrivate(), password.toCharArray(), chain.toArray(new Certificate[0]));
            store.store(out, password.toCharArray());
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot write " + name + ".p12: " + e.getMessage(), e);
        }
        writeKey(pair.getPrivate(), dir.resolve(name + "-key.pem"));
    }

    /**
     * A PKCS#10 request (RFC 2986) for CN={@code name}, signed with the key: SEQUENCE { SEQUENCE { version 0, subject,
     * the public key as the JDK encodes it, no attributes }, ecdsa-with-SHA256, the signature }.
     */
    private static byte[] certificateRequest(String name, KeyPair pair) throws GeneralSecurityException {
        byte[] commonName = der(0x06, new byte[]{0x55, 0x04, 0x03});
        byte[] subject = der(0x30, der(0x31, der(0x30, commonName, der(0x0C, name.getBytes(StandardCharsets.UTF_8)))));
        byte[] info = der(0x30, der(0x02, new byte[]{0}), subject, pair.getPublic().getEncoded(), der(0xA0));
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(pair.getPrivate());
        signer.update(info);
        byte[] ecdsaWithSha256 = der(0x30, der(0x06, new byte[]{0x2A, (byte) 0x86, 0x48, (byte) 0xCE, 0x3D, 0x04, 0x03, 0x02}));
        return der(0x30, info, ecdsaWithSha256, der(0x03, new byte[]{0}, signer.sign()));
    }

    /** A DER value: its tag, its length (short or long form), its content. */
    private static byte[] der(int tag, byte[]... parts) {
        int length = 0;
        for (byte[] p : parts) length += p.length;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        out.write(tag);
        if (length < 0x80) {
            out.write(length);
        } else {
            int bytes = (32 - Integer.numberOfLeadingZeros(length) + 7) / 8;
            out.write(0x80 | bytes);
            for (int i = bytes - 1; i >= 0; i--) out.write(length >>> (8 * i));
        }
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static Certificate caCertificate(Path caStore, String password) throws IOException {
        try (var in = Files.newInputStream(caStore)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password.toCharArray());
            return ks.getCertificate("ca");
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot read the CA from " + caStore + " (another password?): " + e.getMessage(), e);
        }
    }

    private static byte[] encoded(Certificate c) throws IOException {
        try {
            return c.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IOException(e);
        }
    }

    /** keytool cannot export a private key: the JDK writes it as PKCS#8 PEM, readable by its owner only. */
    private static void writeKey(Key key, Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the directory's permissions are all there is.
        }
        Files.writeString(file, TlsFiles.pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
    }

    private static String sanEntry(String host) {
        return host.matches("[0-9.]+") || host.contains(":") ? "ip:" + host : "dns:" + host;
    }

    private static void keytool(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            byte[] output = p.getInputStream().readAllBytes();
            if (!p.waitFor(KEYTOOL_SECONDS_MAX, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("keytool " + args[0] + " did not finish within " + KEYTOOL_SECONDS_MAX + " s");
            }
            if (p.exitValue() != 0) {
                throw new IOException("keytool " + args[0] + " failed (exit " + p.exitValue() + "): " + new String(output, StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while keytool ran", e);
        }
    }

    private static String required(String option, String value) {
        if (value == null) usage(option + " needs a value");
        return value;
    }

    private static void usage(String problem) {
        if (problem != null) System.err.println("raftkv-certs: " + problem);
        System.err.println("usage: raftkv-certs DIR [--config FILE] [--names NAME,...] [--password P] [--days N]");
        System.exit(problem == null ? 0 : 2);
    }
}
