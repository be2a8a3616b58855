package io.raftkv.kv;

import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A user's password as the auth store keeps it: PBKDF2 with HMAC-SHA256 (the JDK's {@code PBKDF2WithHmacSHA256}) over
 * the password's UTF-16 chars, with a random salt of the user's own and {@code iterations} rounds, 32 bytes long. The
 * count is kept with each hash, so hashes made with another count still check. {@link #ITERATIONS}: about 25 ms on one
 * core of the machine this was written on, the cost of etcd's bcrypt at cost 10; never computed on a node's loop thread
 * (docs/auth.md, "Passwords").
 */
public final class PasswordHash {

    /** What a new hash costs: 100,000 rounds. */
    public static final int ITERATIONS = 100_000;
    /** Bounds of a stored hash: anything else in a log or snapshot is damage. */
    public static final int ITERATIONS_MAX = 10_000_000;
    public static final int SALT_BYTES = 16;
    public static final int HASH_BYTES = 32;
    static final int FIELD_BYTES_MAX = 64;

    private static final String ALGORITHM = "PBKDF2WithHmacSHA256";

    private final byte[] salt;
    private final int iterations;
    private final byte[] hash;

    public PasswordHash(byte[] salt, int iterations, byte[] hash) {
        if (salt.length < 1 || salt.length > FIELD_BYTES_MAX || hash.length < 1 || hash.length > FIELD_BYTES_MAX) {
            throw new IllegalArgumentException("salt of " + salt.length + " and hash of " + hash.length + " bytes: each takes 1 to " + FIELD_BYTES_MAX);
        }
        if (iterations < 1 || iterations > ITERATIONS_MAX) throw new IllegalArgumentException("iterations " + iterations + " outside [1, " + ITERATIONS_MAX + "]");
        this.salt = salt.clone();
        this.iterations = iterations;
        this.hash = hash.clone();
    }

    /** A new hash of {@code password} with a fresh salt: slow, never on a loop thread. */
    public static PasswordHash of(String password, SecureRandom random) {
        if (password.isEmpty()) throw new IllegalArgumentException("password is empty");
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        return new PasswordHash(salt, ITERATIONS, derive(password, salt, ITERATIONS, HASH_BYTES));
    }

    /** Whether {@code password} is the one hashed: as slow as {@link #of}, never on a loop thread. Constant time in the bytes compared. */
    public boolean matches(String password) {
        if (password.isEmpty()) return false; // never hashed: an HMAC takes no empty key
        return MessageDigest.isEqual(hash, derive(password, salt, iterations, hash.length));
    }

    private static byte[] derive(String password, byte[] salt, int iterations, int bytes) {
        PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, bytes * 8);
        try {
            return SecretKeyFactory.getInstance(ALGORITHM).generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(ALGORITHM + " is part of every Java 17 runtime", e);
        } finally {
            spec.clearPassword();
        }
    }

    public byte[] salt() {
        return salt.clone();
    }

    public int iterations() {
        return iterations;
    }

    public byte[] hash() {
        return hash.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PasswordHash p && p.iterations == iterations && Arrays.equals(p.salt, salt) && Arrays.equals(p.hash, hash);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    @Override
    public String toString() {
        return "PBKDF2WithHmacSHA256(" + iterations + " iterations)";
    }
}
