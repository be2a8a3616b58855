package io.raftkv.client;

import io.raftkv.client.LockHolderCheck.Outcome;
import io.raftkv.client.LockHolderCheck.Release;
import io.raftkv.client.LockHolderCheck.Section;
import io.raftkv.client.LockHolderCheck.Write;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The lock-holder check on hand-made histories: a correct run passes (one holder lost its lock inside and overlapped
 * the next, its late write refused), and each broken promise is named: two holders at once, a fence that let a token go
 * back, a refusal with no larger token before it, a holder's write refused while it held the lock, a lost holder's
 * write accepted after the next one wrote, a register left with a token no one wrote.
 */
class LockHolderCheckTest {

    /** Times below are in microseconds; the check reads nanoseconds. */
    private static Write w(int seq, long invokeMicros, long completeMicros, Outcome outcome, long revision) {
        return new Write(seq, invokeMicros * 1000, completeMicros * 1000, outcome, revision);
    }

    private static Section section(int holder, long token, long enterMicros, long exitMicros, List<Write> writes, Release release) {
        return new Section(holder, token, enterMicros * 1000, exitMicros * 1000, writes, release);
    }

    /**
     * Holder 1 (token 10) holds 100..200 and writes at revisions 11, 12. Holder 2 (token 13) enters at 210, writes at 14,
     * then its session ends inside (lost, unlock at 400). Holder 3 (token 16, created when 2's lease ended) enters at 300
     * and writes at 17, 18; holder 2's second write, sent at 350, is refused at 18 by token 16.
     */
    private final List<Section> good = new ArrayList<>(List.of(
            section(1, 10, 100, 200, List.of(w(1, 110, 120, Outcome.ACCEPTED, 11), w(2, 150, 160, Outcome.ACCEPTED, 12)), Release.HELD),
            section(2, 13, 210, 400, List.of(w(1, 220, 230, Outcome.ACCEPTED, 14), w(2, 350, 360, Outcome.REFUSED, 18)), Release.LOST),
            section(3, 16, 300, 500, List.of(w(1, 310, 320, Outcome.ACCEPTED, 17), w(2, 330, 340, Outcome.ACCEPTED, 18)), Release.HELD)));

    private static String problems(LockHolderCheck.Result r) {
        return String.join("\n", r.problems());
    }

    @Test
    void aCorrectRunPassesWithALostHolderFenced() {
        LockHolderCheck.Result r = LockHolderCheck.check(good, 16);
        assertEquals(List.of(), r.problems());
        assertEquals(3, r.sections());
        assertEquals(1, r.lost());
        assertEquals(1, r.overlapped());
        assertEquals(5, r.accepted());
        assertEquals(1, r.refused());
    }

    @Test
    void twoHoldersAtOnceAreNamed() {
        // Holder 2 held its lock to its unlock, yet holder 3 entered inside its section.
        good.set(1, section(2, 13, 210, 400, List.of(w(1, 220, 230, Outcome.ACCEPTED, 14)), Release.HELD));
        LockHolderCheck.Result r = LockHolderCheck.check(good, 16);
        assertTrue(problems(r).contains("holder 3's section with token 16 entered 100 µs before holder 2's section with token 13 left"), problems(r));
    }

    @Test
    void aTokenGoingBackIsNamed() {
        // Holder 2's late write accepted after token 16: the fence failed.
        good.set(1, section(2, 13, 210, 400, List.of(w(1, 220, 230, Outcome.ACCEPTED, 14), w(2, 350, 360, Outcome.ACCEPTED, 19)), Release.LOST));
        LockHolderCheck.Result r = LockHolderCheck.check(good, 16);
        assertTrue(problems(r).contains("the fence let a token go back: holder 2's section with token 13 was written at revision 19, after token 16"), problems(r));
        assertTrue(problems(r).contains("sent after that holder had written, was accepted"), problems(r));
    }

    @Test
    void aRefusalAtTheRevisionOfTheLargerTokensWriteIsExplainedByIt() {
        // Holder 3's first write (revision 17) was the last before holder 2's refused one: a failed txn's header is 17 too.
        good.set(1, section(2, 13, 210, 400, List.of(w(1, 220, 230, Outcome.ACCEPTED, 14), w(2, 325, 328, Outcome.REFUSED, 17)), Release.LOST));
        LockHolderCheck.Result r = LockHolderCheck.check(good, 16);
        assertEquals(List.of(), r.problems());
    }

    @Test
    void aRefusalWithoutALargerTokenIsNamed() {
        good.set(0, section(1, 10, 100, 200, List.of(w(1, 110, 120, Outcome.ACCEPTED, 11), w(2, 150, 160, Outcome.REFUSED, 12)), Release.HELD));
        LockHolderCheck.Result r = LockHolderCheck.check(good, 16);
        assertTrue(problems(r).contains("holder 1's section with token 10 held its lock throughout, yet its write 2 was refused"), problems(r));
        assertTrue(problems(r).contains("write 2 was refused at revision 12 though no larger token had been written"), problems(r));
    }

    @Test
    void aRegisterEndingOnATokenNoOneWroteIsNamed() {
        LockHolderCheck.Result r = LockHolderCheck.check(good, 13);
        assertTrue(problems(r).contains("the register ended with token 13, the largest accepted is 16"), problems(r));
    }

    @Test
    void duplicateTokensAreNamed() {
        good.add(section(4, 16, 600, 700, List.of(), Release.HELD));
        assertTrue(problems(LockHolderCheck.check(good, 16)).contains("two sections have token 16"));
    }
}
