package io.raftkv.client;

import io.raftkv.client.CasCounterCheck.Increment;
import io.raftkv.client.CasCounterCheck.Outcome;
import io.raftkv.client.CasCounterCheck.Seen;
import io.raftkv.protocol.KeyValue;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CAS-counter check on small hand-made histories: a correct one passes, and each way an increment can be
 * lost, doubled or misreported, and each way a client's revisions can go back, is named.
 */
class CasCounterCheckTest {

    /**
     * A correct run: counter 0 went 1 (token 1.1, revision 5, client 1), 2 (token 2.1, revision 7, client 2);
     * counter 1 went 1 (token 1.2, revision 6, client 1); token 2.2 had an unknown outcome and was not applied;
     * token 3.1 had an unknown outcome and was applied (counter 1 to 2, revision 8); token 3.2 was refused.
     */
    private final List<KeyValue> stored = new ArrayList<>(List.of(
            counter(0, 2, 5, 7, 2), token(0, "1.1", 1, 5), token(0, "2.1", 2, 7),
            counter(1, 2, 6, 8, 2), token(1, "1.2", 1, 6), token(1, "3.1", 2, 8)));
    private final List<Increment> increments = new ArrayList<>(List.of(
            acked("1.1", 0, 1, 5, 100, 110), acked("1.2", 1, 1, 6, 120, 130), acked("2.1", 0, 2, 7, 105, 140),
            new Increment("2.2", 0, Outcome.UNKNOWN, 3, 0, 150, 160),
            new Increment("3.1", 1, Outcome.UNKNOWN, 2, 0, 150, 170),
            new Increment("3.2", 0, Outcome.NOT_APPLIED, 0, 0, 180, 190)));
    private long storedRevision = 8;
    private final Map<Integer, List<Seen>> seen = new TreeMap<>(Map.of(
            1, new ArrayList<>(List.of(read(4), write(5), read(5), write(6))),
            2, new ArrayList<>(List.of(read(5), write(7), read(8))),
            3, new ArrayList<>(List.of(read(7)))));

    @Test
    void aCorrectRunPasses() {
        CasCounterCheck.Result r = check();
        assertTrue(r.ok(), r.describe());
        assertEquals(4, r.applied());
        assertEquals(3, r.acknowledged());
        assertEquals(2, r.unknown());
        assertEquals(1, r.unknownApplied());
        assertEquals(1, r.notApplied());
        assertEquals(8, r.observations());
    }

    @Test
    void anAcknowledgedIncrementThatIsGoneIsLost() {
        // A leader acknowledged 2.1 and lost it; 2.2 (unknown) then took count 2.
        stored.set(2, token(0, "2.2", 2, 7));
        assertFinds("increment 0/2.1, acknowledged with count 2 at revision 7, is lost");
    }

    @Test
    void aTokenPutTwiceIsAnIncrementAppliedTwice() {
        // 2.1 applied at count 2 and again at count 3.
        stored.set(0, counter(0, 3, 5, 9, 3));
        stored.set(2, new KeyValue(utf8(CasCounterCheck.tokenKey(0, "2.1")), 7, 9, 2, utf8("3")));
        increments.set(2, acked("2.1", 0, 3, 9, 105, 140));
        assertFinds("increment 2.1 of counter 0 was applied 2 times", "no increment wrote count 2");
    }

    @Test
    void twoIncrementsOfOneCountAreALostUpdate() {
        // 2.1 wrote count 1 over 1.1's count 1, without a compare: the counter was put twice but holds 1.
        stored.set(0, counter(0, 1, 5, 7, 2));
        stored.set(2, token(0, "2.1", 1, 7));
        increments.set(2, acked("2.1", 0, 1, 7, 105, 140));
        assertFinds("counter 0: increments 1.1 and 2.1 both wrote count 1 (a lost update)", "counter 0 holds 1 but was put 2 times: 1 of its increments were overwritten (lost updates)");
    }

    @Test
    void anIncrementTheClusterRefusedMustNotBeThere() {
        stored.set(0, counter(0, 3, 5, 9, 3));
        stored.add(token(0, "3.2", 3, 9));
        assertFinds("increment 0/3.2, which the cluster said was not applied, is there (count 3)");
    }

    @Test
    void anIncrementNoClientSentIsFound() {
        stored.set(0, counter(0, 3, 5, 9, 3));
        stored.add(token(0, "9.9", 3, 9));
        assertFinds("increment 0/9.9 is there, but no client recorded sending it");
    }

    @Test
    void anAcknowledgementMustNameTheStoredCountAndRevision() {
        increments.set(2, acked("2.1", 0, 2, 6, 105, 140));
        assertFinds("increment 0/2.1 was acknowledged with count 2 at revision 6, but the store has count 2 at revision 7");
    }

    @Test
    void countsMustRiseWithRevisions() {
        stored.set(1, token(0, "1.1", 1, 9));
        stored.set(0, counter(0, 2, 9, 7, 2));
        increments.set(0, acked("1.1", 0, 1, 9, 100, 110));
        assertFinds("counter 0: count 2 (2.1) has revision 7, not after 9 of the count before it (1.1)");
    }

    @Test
    void anIncrementAcknowledgedBeforeAnotherWasSentHasTheLowerRevision() {
        // 1.2 (revision 6) was sent at 120, after 2.1 (revision 7) had been acknowledged at 115.
        increments.set(2, acked("2.1", 0, 2, 7, 105, 115));
        assertFinds("increment 0/2.1 was acknowledged at revision 7 before 1/1.2 was sent, which got revision 6");
    }

    @Test
    void aClientsRevisionsNeverGoBack() {
        seen.get(2).add(read(6));
        assertFinds("client 2 saw revision 6 (read, node 1) after revision 8 (read, node 1)");
    }

    @Test
    void aWriteGetsARevisionAboveEveryOneItsClientSaw() {
        seen.get(3).add(write(7));
        assertFinds("client 3's write got revision 7 (write, node 1), not above revision 7 (read, node 1) it had already seen");
    }

    @Test
    void noRevisionAClientSawIsLost() {
        // After the restart of every node the store is at revision 7, but client 2 read at 8.
        storedRevision = 7;
        assertFinds("client 2 saw revision 8 (read, node 1), but the store read after the run is at revision 7");
    }

    private void assertFinds(String... expected) {
        CasCounterCheck.Result r = check();
        for (String e : expected) assertTrue(r.problems().stream().anyMatch(p -> p.contains(e)), e + "\nnot in\n" + r.describe());
    }

    private CasCounterCheck.Result check() {
        return CasCounterCheck.check(2, increments, seen, storedRevision, stored);
    }

    private static Increment acked(String token, int counter, long count, long revision, long invoke, long complete) {
        return new Increment(token, counter, Outcome.ACKNOWLEDGED, count, revision, invoke, complete);
    }

    private static KeyValue counter(int c, long value, long createRevision, long modRevision, long version) {
        return new KeyValue(utf8(CasCounterCheck.counterKey(c)), createRevision, modRevision, version, utf8(Long.toString(value)));
    }

    private static KeyValue token(int c, String token, long count, long revision) {
        return new KeyValue(utf8(CasCounterCheck.tokenKey(c, token)), revision, revision, 1, utf8(Long.toString(count)));
    }

    private static Seen read(long revision) {
        return new Seen(revision, false, 1, "read");
    }

    private static Seen write(long revision) {
        return new Seen(revision, true, 1, "write");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
