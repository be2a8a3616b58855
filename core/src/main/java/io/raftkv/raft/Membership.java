package io.raftkv.raft;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A cluster configuration: the voters and learners, each with the address its peers dial (opaque to the core, may
 * be empty in tests), and the ids removed so far, which are never taken again. Immutable.
 *
 * <p>A configuration change is a log entry whose data is {@link #ENTRY_MARK} followed by {@link #encode()} of the
 * whole new configuration; a node's configuration is the latest one in its log, committed or not (thesis §4.1).
 * Encoding, big-endian:
 * <pre>
 * [u8 format 1][u32 member count]{[u32 id][u8 role: 0 voter, 1 learner][u16 address length][address UTF-8]}
 * [u32 removed count]{[u32 id]}
 * </pre>
 */
public final class Membership {

    /** First byte of a configuration entry; state-machine commands never start with it. */
    public static final byte ENTRY_MARK = (byte) 0xC0;
    /** Far more members than any cluster has: a bound on what a damaged count can make a reader do. */
    public static final int MEMBERS_MAX = 1024;
    /** Ids removed over a cluster's life that are remembered (and refused when added again). */
    public static final int REMOVED_MAX = 65_536;
    public static final int ADDRESS_BYTES_MAX = 255;
    private static final byte FORMAT = 1;

    public enum Role { VOTER, LEARNER }

    public record Member(int id, Role role, String address) {
        public Member {
            if (id < 1) throw new IllegalArgumentException("node ids start at 1, got " + id);
            if (address == null || address.getBytes(StandardCharsets.UTF_8).length > ADDRESS_BYTES_MAX) {
                throw new IllegalArgumentException("address of node " + id + " missing or over " + ADDRESS_BYTES_MAX + " bytes");
            }
        }

        public boolean isVoter() {
            return role == Role.VOTER;
        }

        @Override
        public String toString() {
            return id + (role == Role.LEARNER ? "(learner)" : "") + (address.isEmpty() ? "" : "@" + address);
        }
    }

    /** No members: a node that joins a cluster knows nothing until its leader's log or snapshot tells it. */
    public static final Membership EMPTY = new Membership(List.of(), new int[0]);

    private final List<Member> members;
    private final int[] voters;
    private final int[] learners;
    private final int[] removed;

    public Membership(List<Member> members, int[] removed) {
        List<Member> sorted = new ArrayList<>(members);
        sorted.sort(Comparator.comparingInt(Member::id));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).id() == sorted.get(i - 1).id()) throw new IllegalArgumentException("node " + sorted.get(i).id() + " listed twice");
        }
        if (sorted.size() > MEMBERS_MAX) throw new IllegalArgumentException(sorted.size() + " members, at most " + MEMBERS_MAX);
        this.members = List.copyOf(sorted);
        this.voters = sorted.stream().filter(Member::isVoter).mapToInt(Member::id).toArray();
        this.learners = sorted.stream().filter(m -> !m.isVoter()).mapToInt(Member::id).toArray();
        this.removed = removed.clone();
        Arrays.sort(this.removed);
        if (this.removed.length > REMOVED_MAX) throw new IllegalArgumentException(this.removed.length + " removed ids, at most " + REMOVED_MAX);
        for (int r : this.removed) {
            if (contains(r)) throw new IllegalArgumentException("node " + r + " is both a member and removed");
        }
    }

    /** Voters only, no addresses: the shape of a test cluster. */
    public static Membership ofVoters(List<Integer> ids) {
        return new Membership(ids.stream().map(id -> new Member(id, Role.VOTER, "")).toList(), new int[0]);
    }

    public List<Member> members() {
        return members;
    }

    /** Voter ids, ascending. Do not modify. */
    int[] voterIds() {
        return voters;
    }

    public List<Integer> voters() {
        return Arrays.stream(voters).boxed().toList();
    }

    public List<Integer> learners() {
        return Arrays.stream(learners).boxed().toList();
    }

    public Member member(int id) {
        for (Member m : members) if (m.id() == id) return m;
        return null;
    }

    public boolean contains(int id) {
        return member(id) != null;
    }

    public boolean isVoter(int id) {
        return Arrays.binarySearch(voters, id) >= 0;
    }

    public boolean isLearner(int id) {
        return Arrays.binarySearch(learners, id) >= 0;
    }

    public boolean wasRemoved(int id) {
        return Arrays.binarySearch(removed, id) >= 0;
    }

    public int majority() {
        return voters.length / 2 + 1;
    }

    // ---------------------------------------------------------------- the single-server changes

    public Membership withMember(Member m) {
        if (contains(m.id())) throw new IllegalArgumentException("node " + m.id() + " is already a member");
        List<Member> next = new ArrayList<>(members);
        next.add(m);
        return new Membership(next, removed);
    }

    public Membership withPromoted(int id) {
        Member m = member(id);
        if (m == null || m.isVoter()) throw new IllegalArgumentException("node " + id + " is not a learner");
        List<Member> next = new ArrayList<>(members);
        next.set(next.indexOf(m), new Member(id, Role.VOTER, m.address()));
        return new Membership(next, removed);
    }

    public Membership withRemoved(int id) {
        Member m = member(id);
        if (m == null) throw new IllegalArgumentException("node " + id + " is not a member");
        List<Member> next = new ArrayList<>(members);
        next.remove(m);
        int[] gone = Arrays.copyOf(removed, removed.length + 1);
        gone[removed.length] = id;
        return new Membership(next, gone);
    }

    /**
     * Whether going from this configuration to {@code next} is one change that a single-server step may make:
     * at most one voter added or removed (so any majority of one overlaps any majority of the other, thesis §4.1),
     * learners added, removed or promoted alongside only if no voter set changes otherwise.
     */
    public boolean isSingleServerChangeTo(Membership next) {
        int added = 0;
        int dropped = 0;
        for (int v : next.voters) if (!isVoter(v)) added++;
        for (int v : voters) if (!next.isVoter(v)) dropped++;
        return added + dropped <= 1;
    }

    // ---------------------------------------------------------------- entries and bytes

    public static boolean isConfigEntry(Entry e) {
        return e.data().length > 0 && e.data()[0] == ENTRY_MARK;
    }

    /** The data of the log entry that makes this the configuration. */
    public byte[] toEntryData() {
        byte[] body = encode();
        byte[] data = new byte[body.length + 1];
        data[0] = ENTRY_MARK;
        System.arraycopy(body, 0, data, 1, body.length);
        return data;
    }

    /** The configuration a configuration entry carries; IllegalArgumentException when the entry is not one, or damaged. */
    public static Membership fromEntry(Entry e) {
        if (!isConfigEntry(e)) throw new IllegalArgumentException("entry " + e + " is not a configuration change");
        return decode(ByteBuffer.wrap(e.data(), 1, e.data().length - 1));
    }

    public byte[] encode() {
        int size = 1 + 4 + 4 + 4 * removed.length;
        List<byte[]> addresses = new ArrayList<>();
        for (Member m : members) {
            byte[] a = m.address().getBytes(StandardCharsets.UTF_8);
            addresses.add(a);
            size += 4 + 1 + 2 + a.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).put(FORMAT).putInt(members.size());
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            b.putInt(m.id()).put((byte) m.role().ordinal()).putShort((short) addresses.get(i).length).put(addresses.get(i));
        }
        b.putInt(removed.length);
        for (int r : removed) b.putInt(r);
        return b.array();
    }

    public static Membership decode(byte[] bytes) {
        return decode(ByteBuffer.wrap(bytes));
    }

    /** Reads exactly the rest of {@code b}; IllegalArgumentException names what is wrong with damaged bytes. */
    public static Membership decode(ByteBuffer b) {
        try {
            byte format = b.get();
            if (format != FORMAT) throw new IllegalArgumentException("configuration format " + format + ", this node reads " + FORMAT);
            int count = b.getInt();
            if (count < 0 || count > MEMBERS_MAX) throw new IllegalArgumentException("configuration of " + count + " members");
            List<Member> members = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                int id = b.getInt();
                int role = b.get();
                if (role != 0 && role != 1) throw new IllegalArgumentException("member " + id + " with role " + role);
                byte[] address = new byte[Short.toUnsignedInt(b.getShort())];
                b.get(address);
                members.add(new Member(id, Role.values()[role], new String(address, StandardCharsets.UTF_8)));
            }
            int removedCount = b.getInt();
            if (removedCount < 0 || removedCount > REMOVED_MAX) throw new IllegalArgumentException("configuration with " + removedCount + " removed ids");
            int[] removed = new int[removedCount];
            for (int i = 0; i < removedCount; i++) removed[i] = b.getInt();
            if (b.hasRemaining()) throw new IllegalArgumentException(b.remaining() + " bytes after the configuration");
            return new Membership(members, removed);
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("configuration cut short");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Membership m && members.equals(m.members) && Arrays.equals(removed, m.removed);
    }

    @Override
    public int hashCode() {
        return members.hashCode() * 31 + Arrays.hashCode(removed);
    }

    @Override
    public String toString() {
        return "voters " + members.stream().filter(Member::isVoter).toList()
                + (learners.length == 0 ? "" : " learners " + members.stream().filter(m -> !m.isVoter()).toList())
                + (removed.length == 0 ? "" : " removed " + Arrays.toString(removed));
    }
}
