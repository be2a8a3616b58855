package io.raftkv.kv;

import io.raftkv.protocol.ErrorCode;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.TxnRequest;
import io.raftkv.raft.Entry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leases in the replicated state, etcd's semantics case by case: a grant, keys attached by puts and detached by puts
 * without the lease and by deletes, a revoke that deletes every key of the lease at one revision, a put naming a lease
 * that does not exist refusing the whole transaction, and leases through a snapshot.
 */
class KvLeasesTest {

    private final KvStateMachine kv = new KvStateMachine();
    private final MvccStore store = kv.store();

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private ApplyResult apply(KvCommand c) {
        return kv.apply(new Entry(1, kv.appliedIndex() + 1, c.encode()));
    }

    private ApplyResult grant(long id, long ttl) {
        return apply(new KvCommand.LeaseGrant(id, ttl));
    }

    private ApplyResult put(String key, String value, long lease) {
        return apply(new KvCommand.Txn(new TxnRequest(List.of(), List.of(new TxnOp.Put(b(key), b(value), false, lease)), List.of())));
    }

    private List<String> keysOf(long lease) {
        return kv.leases().get(lease).keys().stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList();
    }

    @Test
    void aGrantMakesNoRevisionAndAnIdInUseIsRefused() {
        assertEquals(new ApplyResult.LeaseGranted(1, 7, 10), grant(7, 10));
        assertEquals(1, store.revision(), "a grant writes no key: no revision, as in etcd");
        assertEquals(10, kv.leases().get(7).ttlSeconds());
        ApplyResult.Refused again = assertInstanceOf(ApplyResult.Refused.class, grant(7, 30));
        assertEquals(ErrorCode.LEASE_EXISTS, again.code());
        assertTrue(again.message().contains("lease already exists"), again.message());
        assertEquals(10, kv.leases().get(7).ttlSeconds(), "the lease in use is not changed");
        assertEquals(List.of(7L), kv.leases().ids());
    }

    @Test
    void aPutWithALeaseAttachesAPutWithoutOneOrADeleteDetaches() {
        grant(1, 10);
        grant(2, 10);
        put("a", "1", 1);
        put("b", "1", 1);
        assertEquals(new KeyValue(b("a"), 2, 2, 1, b("1"), 1), store.get(b("a")), "the key-value names its lease");
        assertEquals(List.of("a", "b"), keysOf(1));
        put("a", "2", 2);
        assertEquals(List.of("b"), keysOf(1), "a put with another lease moves the key");
        assertEquals(List.of("a"), keysOf(2));
        apply(KvCommand.put(b("b"), b("2")));
        assertEquals(List.of(), keysOf(1), "a put without a lease detaches the key (etcd: lease 0)");
        assertEquals(0, store.get(b("b")).lease());
        apply(KvCommand.delete(b("a")));
        assertEquals(List.of(), keysOf(2), "a delete detaches");
        put("c", "1", 2);
        apply(new KvCommand.Txn(new TxnRequest(List.of(), List.of(new TxnOp.DeleteRange(b("a"), b("z"), false)), List.of())));
        assertEquals(List.of(), keysOf(2), "a range delete detaches every key it deletes");
        assertEquals(0, store.liveKeys());
    }

    @Test
    void aRevokeDeletesEveryKeyOfTheLeaseAtOneRevision() {
        grant(5, 10);
        put("x/2", "v", 5);
        put("x/1", "v", 5);
        put("other", "v", 0);
        put("x/3", "v", 5);
        long before = store.revision();
        ApplyResult.LeaseRevoked revoked = assertInstanceOf(ApplyResult.LeaseRevoked.class, apply(new KvCommand.LeaseRevoke(5)));
        assertEquals(new ApplyResult.LeaseRevoked(before + 1, 5, 3), revoked, "three keys, one revision");
        assertNull(kv.leases().get(5));
        for (String k : List.of("x/1", "x/2", "x/3")) {
            assertNull(store.get(b(k)));
            KeyValue was = store.range(RangeRequest.key(b(k)).atRevision(before)).kvs().get(0);
            assertEquals(5, was.lease(), "history keeps the lease the key had");
        }
        assertEquals(1, store.liveKeys(), "the key without the lease stays");

        grant(6, 10);
        assertEquals(new ApplyResult.LeaseRevoked(store.revision(), 6, 0), apply(new KvCommand.LeaseRevoke(6)));
        assertEquals(before + 1, store.revision(), "a lease without keys is revoked without a revision, as in etcd");
        ApplyResult.Refused unknown = assertInstanceOf(ApplyResult.Refused.class, apply(new KvCommand.LeaseRevoke(6)));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, unknown.code());
        assertTrue(unknown.message().contains("requested lease not found"), unknown.message());
    }

    @Test
    void aPutNamingALeaseThatDoesNotExistRefusesTheWholeTransaction() {
        grant(3, 10);
        put("k", "1", 3);
        apply(new KvCommand.LeaseRevoke(3));
        long revision = store.revision();
        long digest = kv.hash();
        ApplyResult.Refused refused = assertInstanceOf(ApplyResult.Refused.class, apply(new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("first"), b("1"), false), new TxnOp.Put(b("second"), b("2"), false, 3)), List.of()))));
        assertEquals(ErrorCode.LEASE_NOT_FOUND, refused.code());
        assertTrue(refused.message().contains("requested lease not found") && refused.message().contains("nothing was applied"), refused.message());
        assertEquals(revision, store.revision());
        assertEquals(digest, kv.hash());
        assertNull(store.get(b("first")), "nothing of the transaction is applied");
        // Only the branch that runs counts: a failure branch naming a missing lease does not refuse a success.
        ApplyResult.TxnDone ok = assertInstanceOf(ApplyResult.TxnDone.class, apply(new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("first"), b("1"), false)), List.of(new TxnOp.Put(b("second"), b("2"), false, 99))))));
        assertTrue(ok.succeeded());
        assertEquals(revision + 1, ok.revision());
    }

    @Test
    void thePrevKvOfAPutNamesTheLeaseTheKeyHad() {
        grant(4, 10);
        put("k", "1", 4);
        ApplyResult.TxnDone done = assertInstanceOf(ApplyResult.TxnDone.class, apply(new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("k"), b("2"), true)), List.of()))));
        assertEquals(4, ((OpResult.Put) done.results().get(0)).prevKv().lease());
    }

    @Test
    void replicasThatAppliedTheSameLogAgreeAndLeasesAreInTheDigest() {
        KvStateMachine other = new KvStateMachine();
        for (KvCommand c : List.<KvCommand>of(new KvCommand.LeaseGrant(1, 5), new KvCommand.LeaseGrant(2, 5))) {
            apply(c);
            other.apply(new Entry(1, other.appliedIndex() + 1, c.encode()));
        }
        assertEquals(kv.hash(), other.hash());
        KvStateMachine withoutLeases = new KvStateMachine();
        assertNotEquals(withoutLeases.hash(), kv.hash(), "the leases are part of the state");
        put("k", "v", 1);
        other.apply(new Entry(1, other.appliedIndex() + 1, new KvCommand.Txn(new TxnRequest(List.of(),
                List.of(new TxnOp.Put(b("k"), b("v"), false, 2)), List.of())).encode()));
        assertNotEquals(store.digest(), other.store().digest(), "the same key and value attached to another lease is another state");
    }

    // ------------------------------------------------------------------ snapshots

    private byte[] snapshotBytes() throws IOException {
        KvSnapshot s = kv.snapshot();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        s.writeTo(out);
        s.release();
        return out.toByteArray();
    }

    private static KvStateMachine restore(byte[] bytes, long index) throws IOException {
        KvStateMachine restored = new KvStateMachine();
        restored.restore(index, new ByteArrayInputStream(bytes), 64, 1024);
        return restored;
    }

    @Test
    void leasesAndTheirKeysGoThroughASnapshotAndARevokeAfterDeletesTheSameKeys() throws IOException {
        grant(9, 60);
        grant(3, 2);
        put("a", "1", 9);
        put("b", "1", 9);
        put("c", "1", 3);
        put("a", "2", 3);
        put("d", "1", 0);
        byte[] bytes = snapshotBytes();
        // A write after the capture is not in the snapshot: the leases are copied at the capture.
        grant(11, 5);
        KvStateMachine restored = restore(bytes, kv.appliedIndex() - 1);
        assertEquals(List.of(3L, 9L), restored.leases().ids());
        assertEquals(2, restored.leases().get(3).ttlSeconds());
        assertEquals(List.of("b"), restored.leases().get(9).keys().stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList());
        assertEquals(List.of("a", "c"), restored.leases().get(3).keys().stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList());
        assertEquals(9, restored.store().range(RangeRequest.key(b("a")).atRevision(2)).kvs().get(0).lease(), "history keeps its leases");
        apply(new KvCommand.LeaseRevoke(11));
        assertEquals(kv.hash(), restored.hash());

        apply(new KvCommand.LeaseRevoke(3));
        restored.apply(new Entry(1, restored.appliedIndex() + 1, new KvCommand.LeaseRevoke(3).encode()));
        assertEquals(kv.hash(), restored.hash());
        assertEquals(kv.store().range(RangeRequest.range(RangeRequest.FROM_KEY, RangeRequest.FROM_KEY)).kvs(),
                restored.store().range(RangeRequest.range(RangeRequest.FROM_KEY, RangeRequest.FROM_KEY)).kvs());
    }

    @Test
    void aKeyOfALeaseTheSnapshotDoesNotHoldOrLeasesOutOfOrderAreRefused() throws IOException {
        grant(2, 10);
        grant(8, 10);
        put("k", "v", 8);
        byte[] good = snapshotBytes();
        int leases = KvSnapshotFormat.HEADER_BYTES;
        assertEquals(2, ByteBuffer.wrap(good).getLong(leases - 8), "the lease count closes the header");

        // Lease 8 left out of the lease section: key "k" names a lease the snapshot does not hold.
        byte[] without8 = concat(Arrays.copyOfRange(good, 0, leases + 16), Arrays.copyOfRange(good, leases + 32, good.length - 4));
        ByteBuffer.wrap(without8).putLong(leases - 8, 1);
        KvSnapshotFormatException e = assertThrows(KvSnapshotFormatException.class, () -> restore(withCrc(without8), 1));
        assertTrue(e.getMessage().contains("is attached to lease 8, which the snapshot does not hold"), e.getMessage());

        byte[] swapped = good.clone();
        System.arraycopy(good, leases, swapped, leases + 16, 16);
        System.arraycopy(good, leases + 16, swapped, leases, 16);
        e = assertThrows(KvSnapshotFormatException.class, () -> restore(withCrc(swapped), 1));
        assertTrue(e.getMessage().contains("id 2 is not above the one before (8)"), e.getMessage());

        byte[] noTtl = good.clone();
        ByteBuffer.wrap(noTtl).putLong(leases + 8, 0);
        e = assertThrows(KvSnapshotFormatException.class, () -> restore(withCrc(noTtl), 1));
        assertTrue(e.getMessage().contains("TTL 0 s outside"), e.getMessage());
    }

    @Test
    void aSnapshotOfTheFormatBeforeLeasesIsStillRead() throws IOException {
        put("a", "1", 0);
        put("b", "2", 0);
        byte[] v3 = snapshotBytes();
        // Format 1: version 1, no lease count, no auth section (here empty: no leases, users or roles).
        int count = KvSnapshotFormat.HEADER_BYTES - 8;
        int keys = KvSnapshotFormat.HEADER_BYTES + KvSnapshotFormat.AUTH_FIXED_BYTES;
        byte[] v1 = concat(Arrays.copyOfRange(v3, 0, count), Arrays.copyOfRange(v3, keys, v3.length - 4));
        ByteBuffer.wrap(v1).putShort(KvSnapshotFormat.MAGIC.length, (short) 1);
        KvStateMachine restored = restore(withCrc(v1), kv.appliedIndex());
        assertEquals(kv.hash(), restored.hash());
        assertEquals(0, restored.leases().size());
    }

    /** {@code a} then {@code b}, and room for the trailer's CRC. */
    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length + 4);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** The payload with its trailer's CRC made right again. */
    private static byte[] withCrc(byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload, 0, payload.length - 4);
        ByteBuffer.wrap(payload).putInt(payload.length - 4, (int) crc.getValue());
        return payload;
    }
}
