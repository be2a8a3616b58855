package io.raftkv.client;

import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.KeyValue;
import io.raftkv.protocol.MemberInfo;
import io.raftkv.protocol.OpResult;
import io.raftkv.protocol.RangeRequest;
import io.raftkv.protocol.ResponseHeader;
import io.raftkv.protocol.TxnOp;
import io.raftkv.protocol.WatchEvent;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * raftkvctl's output formats ({@code -w}), each the shape etcdctl prints:
 * <ul>
 * <li>{@code simple}: keys and values one per line, written as the raw bytes they are (or etcdctl's
 *     {@code \x..} hex with {@code --hex}); put prints OK, del the number deleted, txn SUCCESS or FAILURE and
 *     then each response after a blank line; member list a line per member, as etcdctl's.</li>
 * <li>{@code json}: one line, the response as etcd's JSON (the protobuf field names, keys and values in
 *     base64, fields with their zero value left out as Go's {@code omitempty} does), with the header
 *     {@code cluster_id}, {@code member_id}, {@code revision}, {@code raft_term}. Key/value answers carry no cluster
 *     id (their {@code cluster_id} is 0); member answers carry the cluster's, and no revision or term.</li>
 * <li>{@code table}: etcdctl's boxed table (headers centred, cells right-aligned), for get, status and the member
 *     commands (whose table adds an IS LEADER column to etcdctl's).</li>
 * </ul>
 */
abstract class CtlPrinter {

    enum Format {
        SIMPLE, JSON, TABLE;

        static Format parse(String s) throws RaftKvCtl.UsageException {
            return switch (s) {
                case "simple" -> SIMPLE;
                case "json" -> JSON;
                case "table" -> TABLE;
                default -> throw new RaftKvCtl.UsageException("unknown output format '" + s + "' for -w (simple, json or table)");
            };
        }

        @Override
        public String toString() {
            return name().toLowerCase();
        }
    }

    protected final PrintStream out;
    protected final boolean hex;

    CtlPrinter(PrintStream out, boolean hex) {
        this.out = out;
        this.hex = hex;
    }

    static CtlPrinter of(Format format, PrintStream out, boolean hex) {
        return switch (format) {
            case SIMPLE -> new Simple(out, hex);
            case JSON -> new Json(out, hex);
            case TABLE -> new Table(out, hex);
        };
    }

    /** The answer to {@code asked}; {@code valueOnly} (etcdctl's --print-value-only) only in simple output. */
    abstract void get(ResponseHeader header, OpResult.Range range, RangeRequest asked, boolean valueOnly);

    abstract void put(ResponseHeader header, OpResult.Put put);

    abstract void del(ResponseHeader header, OpResult.DeleteRange del);

    /** A transaction's answer; {@code ran} are the operations of the branch that ran, one per result. */
    abstract void txn(ClientResponse.TxnResult txn, List<TxnOp> ran);

    /** What a member command did, in etcdctl's words: "Member 4 added to cluster 1a2b3c4d". */
    enum MemberChange {
        ADDED("added to"), REMOVED("removed from"), PROMOTED("promoted in");

        final String words;

        MemberChange(String words) {
            this.words = words;
        }

        String line(int id, MemberList list) {
            return "Member " + id + " " + words + " cluster " + Long.toHexString(list.clusterId());
        }
    }

    /** etcdctl's member list. */
    abstract void memberList(MemberList list);

    /** A member added, removed or promoted; {@code list} is the configuration after the change. */
    abstract void memberChange(MemberChange change, int id, MemberList list);

    /** The leadership handed to {@code target}; {@code list} is the answer of the node that handed it over. */
    abstract void leaderMoved(int target, MemberList list);

    /** One watch response; raftkvctl watch prints in simple and json only, as etcdctl. */
    void watch(WatchResponse response) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for watch");
    }

    /** A lease granted: etcdctl's "lease 694d5765fc71500b granted with TTL(10s)". Simple and json only, as etcdctl. */
    void leaseGranted(ClientResponse.LeaseResult r) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for lease");
    }

    void leaseRevoked(long id, ResponseHeader header) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for lease");
    }

    void leaseKeptAlive(ClientResponse.LeaseResult r) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for lease");
    }

    /** A lease's time to live; {@code r} null: the lease does not exist (etcdctl's "already expired"). */
    void leaseTimeToLive(long id, ClientResponse.LeaseResult r, boolean keys) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for lease");
    }

    void leaseList(List<Long> ids) {
        throw new IllegalStateException("no " + getClass().getSimpleName() + " form for lease");
    }

    /** A lease id as etcdctl prints it: 16 hex digits. */
    static String leaseId(long id) {
        return String.format("%016x", id);
    }

    /** Our nodes have no names: a member is called node + its id, as bin/raftkv names their data directories. */
    static String memberName(MemberInfo m) {
        return "node" + m.id();
    }

    // ------------------------------------------------------------------ simple

    static final class Simple extends CtlPrinter {

        Simple(PrintStream out, boolean hex) {
            super(out, hex);
        }

        @Override
        void get(ResponseHeader header, OpResult.Range range, RangeRequest asked, boolean valueOnly) {
            if (asked.countOnly()) {
                out.println(range.count());
                return;
            }
            for (KeyValue kv : range.kvs()) kv(kv, valueOnly);
        }

        @Override
        void put(ResponseHeader header, OpResult.Put put) {
            out.println("OK");
            if (put.prevKv() != null) kv(put.prevKv(), false);
        }

        @Override
        void del(ResponseHeader header, OpResult.DeleteRange del) {
            out.println(del.deleted());
            for (KeyValue kv : del.prevKvs()) kv(kv, false);
        }

        @Override
        void txn(ClientResponse.TxnResult txn, List<TxnOp> ran) {
            out.println(txn.succeeded() ? "SUCCESS" : "FAILURE");
            for (int i = 0; i < txn.results().size(); i++) {
                out.println();
                OpResult r = txn.results().get(i);
                if (r instanceof OpResult.Put p) put(txn.header(), p);
                else if (r instanceof OpResult.DeleteRange d) del(txn.header(), d);
                else if (r instanceof OpResult.Range g) get(txn.header(), g, ((TxnOp.Range) ran.get(i)).request(), false);
            }
        }

        /** etcdctl's line per member: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER (one address serves both). */
        @Override
        void memberList(MemberList list) {
            for (MemberInfo m : list.members()) {
                out.println(m.id() + ", started, " + memberName(m) + ", " + m.address() + ", " + m.address() + ", " + m.learner());
            }
        }

        /** As etcdctl: the line, and after an add the members (etcdctl prints the new node's settings there). */
        @Override
        void memberChange(MemberChange change, int id, MemberList list) {
            out.println(change.line(id, list));
            if (change == MemberChange.ADDED) memberList(list);
        }

        @Override
        void leaderMoved(int target, MemberList list) {
            if (list.nodeId() == target) out.println("Node " + target + " is the leader already");
            else out.println("Leadership transferred from node " + list.nodeId() + " to node " + target);
        }

        /** etcdctl's: for each event its type, the previous key and value if asked for, then the key and value. */
        @Override
        void watch(WatchResponse response) {
            for (WatchEvent e : response.events()) {
                out.println(e.type());
                if (e.prevKv() != null) kv(e.prevKv(), false);
                kv(e.kv(), false);
            }
        }

        @Override
        void leaseGranted(ClientResponse.LeaseResult r) {
            out.println("lease " + leaseId(r.leaseId()) + " granted with TTL(" + r.ttlSeconds() + "s)");
        }

        @Override
        void leaseRevoked(long id, ResponseHeader header) {
            out.println("lease " + leaseId(id) + " revoked");
        }

        @Override
        void leaseKeptAlive(ClientResponse.LeaseResult r) {
            out.println("lease " + leaseId(r.leaseId()) + " keepalived with TTL(" + r.ttlSeconds() + ")");
        }

        /** etcdctl's: "lease ID granted with TTL(10s), remaining(7s)", with ", attached keys([a b])" when asked for. */
        @Override
        void leaseTimeToLive(long id, ClientResponse.LeaseResult r, boolean keys) {
            if (r == null) {
                out.println("lease " + leaseId(id) + " already expired");
                return;
            }
            out.print("lease " + leaseId(id) + " granted with TTL(" + r.grantedTtlSeconds() + "s), remaining(" + r.ttlSeconds() + "s)");
            if (keys) {
                out.print(", attached keys([");
                for (int i = 0; i < r.keys().size(); i++) {
                    if (i > 0) out.print(' ');
                    byte[] k = r.keys().get(i);
                    if (hex) out.print(CtlInput.toHex(k));
                    else out.write(k, 0, k.length);
                }
                out.print("])");
            }
            out.println();
        }

        @Override
        void leaseList(List<Long> ids) {
            out.println("found " + ids.size() + " leases");
            for (long id : ids) out.println(leaseId(id));
        }

        /** etcdctl's printKV: the key on a line, then the value on a line, as raw bytes. */
        private void kv(KeyValue kv, boolean valueOnly) {
            if (!valueOnly) bytesLine(kv.key());
            bytesLine(kv.value());
        }

        private void bytesLine(byte[] b) {
            if (hex) out.print(CtlInput.toHex(b));
            else out.write(b, 0, b.length);
            out.println();
        }
    }

    // ------------------------------------------------------------------ json

    static final class Json extends CtlPrinter {

        Json(PrintStream out, boolean hex) {
            super(out, hex);
        }

        @Override
        void get(ResponseHeader header, OpResult.Range range, RangeRequest asked, boolean valueOnly) {
            out.println(range(header(header), range));
        }

        @Override
        void put(ResponseHeader header, OpResult.Put put) {
            out.println(put(header(header), put));
        }

        @Override
        void del(ResponseHeader header, OpResult.DeleteRange del) {
            out.println(del(header(header), del));
        }

        /** etcdctl's TxnResponseJSON: each response as {"Response":{"response_put":{...}}}, its header holding the revision. */
        @Override
        void txn(ClientResponse.TxnResult txn, List<TxnOp> ran) {
            StringBuilder s = new StringBuilder("{\"header\":").append(header(txn.header()));
            if (txn.succeeded()) s.append(",\"succeeded\":true");
            if (!txn.results().isEmpty()) {
                s.append(",\"responses\":[");
                String inner = "{\"revision\":" + txn.header().revision() + "}";
                for (int i = 0; i < txn.results().size(); i++) {
                    if (i > 0) s.append(',');
                    OpResult r = txn.results().get(i);
                    s.append("{\"Response\":{");
                    if (r instanceof OpResult.Put p) s.append("\"response_put\":").append(put(inner, p));
                    else if (r instanceof OpResult.DeleteRange d) s.append("\"response_delete_range\":").append(del(inner, d));
                    else if (r instanceof OpResult.Range g) s.append("\"response_range\":").append(range(inner, g));
                    s.append("}}");
                }
                s.append(']');
            }
            out.println(s.append('}'));
        }

        /** etcd's MemberListResponse. */
        @Override
        void memberList(MemberList list) {
            out.println(new StringBuilder("{\"header\":").append(header(list)).append(members(list)).append('}'));
        }

        /** etcd's MemberAddResponse (with the new {@code member}), MemberRemoveResponse and MemberPromoteResponse. */
        @Override
        void memberChange(MemberChange change, int id, MemberList list) {
            StringBuilder s = new StringBuilder("{\"header\":").append(header(list));
            MemberInfo added = list.member(id);
            if (change == MemberChange.ADDED && added != null) s.append(",\"member\":").append(member(added));
            out.println(s.append(members(list)).append('}'));
        }

        /** etcd's MoveLeaderResponse: the header alone, from the node that handed over. */
        @Override
        void leaderMoved(int target, MemberList list) {
            out.println("{\"header\":" + header(list) + "}");
        }

        /** A member answer's header: the cluster's id and the member that answered (there is no revision or term). */
        private static String header(MemberList list) {
            return "{\"cluster_id\":" + Long.toUnsignedString(list.clusterId()) + ",\"member_id\":" + Integer.toUnsignedString(list.nodeId()) + "}";
        }

        private static String members(MemberList list) {
            StringBuilder s = new StringBuilder(",\"members\":[");
            for (int i = 0; i < list.members().size(); i++) {
                if (i > 0) s.append(',');
                s.append(member(list.members().get(i)));
            }
            return s.append(']').toString();
        }

        /** etcd's etcdserverpb.Member: isLearner left out when false, as Go's omitempty does. */
        private static String member(MemberInfo m) {
            String address = string(m.address());
            return "{\"ID\":" + Integer.toUnsignedString(m.id()) + ",\"name\":" + string(memberName(m)) + ",\"peerURLs\":[" + address
                    + "],\"clientURLs\":[" + address + "]" + (m.learner() ? ",\"isLearner\":true" : "") + "}";
        }

        /** One line per response, etcd's WatchResponse: the header, then the events (a progress notification has none). */
        @Override
        void watch(WatchResponse response) {
            StringBuilder s = new StringBuilder("{\"Header\":{\"revision\":").append(response.revision()).append("},\"Events\":[");
            for (int i = 0; i < response.events().size(); i++) {
                WatchEvent e = response.events().get(i);
                if (i > 0) s.append(',');
                s.append('{');
                if (e.type() == WatchEvent.Type.DELETE) s.append("\"type\":1,");
                s.append("\"kv\":").append(kv(e.kv()));
                if (e.prevKv() != null) s.append(",\"prev_kv\":").append(kv(e.prevKv()));
                s.append('}');
            }
            out.println(s.append("]}"));
        }

        /** etcd's LeaseGrantResponse. */
        @Override
        void leaseGranted(ClientResponse.LeaseResult r) {
            out.println("{\"header\":" + header(r.header()) + ",\"ID\":" + r.leaseId() + ",\"TTL\":" + r.ttlSeconds() + "}");
        }

        /** etcd's LeaseRevokeResponse: the header alone. */
        @Override
        void leaseRevoked(long id, ResponseHeader header) {
            out.println("{\"header\":" + header(header) + "}");
        }

        /** etcd's LeaseKeepAliveResponse, one line per keepalive. */
        @Override
        void leaseKeptAlive(ClientResponse.LeaseResult r) {
            out.println("{\"header\":" + header(r.header()) + ",\"ID\":" + r.leaseId() + ",\"TTL\":" + r.ttlSeconds() + "}");
        }

        /** etcd's LeaseTimeToLiveResponse (keys in base64); a lease that does not exist has TTL -1, as etcd answers. */
        @Override
        void leaseTimeToLive(long id, ClientResponse.LeaseResult r, boolean keys) {
            if (r == null) {
                out.println("{\"ID\":" + id + ",\"TTL\":-1}");
                return;
            }
            StringBuilder s = new StringBuilder("{\"header\":").append(header(r.header())).append(",\"ID\":").append(id)
                    .append(",\"TTL\":").append(r.ttlSeconds()).append(",\"grantedTTL\":").append(r.grantedTtlSeconds());
            if (!r.keys().isEmpty()) {
                s.append(",\"keys\":[");
                for (int i = 0; i < r.keys().size(); i++) s.append(i > 0 ? "," : "").append('"').append(base64(r.keys().get(i))).append('"');
                s.append(']');
            }
            out.println(s.append('}'));
        }

        /** etcd's LeaseLeasesResponse. */
        @Override
        void leaseList(List<Long> ids) {
            StringBuilder s = new StringBuilder("{\"leases\":[");
            for (int i = 0; i < ids.size(); i++) s.append(i > 0 ? "," : "").append("{\"ID\":").append(ids.get(i)).append('}');
            out.println(s.append("]}"));
        }

        private static String header(ResponseHeader h) {
            return "{\"cluster_id\":0,\"member_id\":" + h.memberId() + ",\"revision\":" + h.revision() + ",\"raft_term\":" + h.raftTerm() + "}";
        }

        private static String range(String header, OpResult.Range r) {
            StringBuilder s = new StringBuilder("{\"header\":").append(header);
            kvs(s, "kvs", r.kvs());
            if (r.more()) s.append(",\"more\":true");
            if (r.count() != 0) s.append(",\"count\":").append(r.count());
            return s.append('}').toString();
        }

        private static String put(String header, OpResult.Put p) {
            StringBuilder s = new StringBuilder("{\"header\":").append(header);
            if (p.prevKv() != null) s.append(",\"prev_kv\":").append(kv(p.prevKv()));
            return s.append('}').toString();
        }

        private static String del(String header, OpResult.DeleteRange d) {
            StringBuilder s = new StringBuilder("{\"header\":").append(header);
            if (d.deleted() != 0) s.append(",\"deleted\":").append(d.deleted());
            kvs(s, "prev_kvs", d.prevKvs());
            return s.append('}').toString();
        }

        private static void kvs(StringBuilder s, String name, List<KeyValue> kvs) {
            if (kvs.isEmpty()) return;
            s.append(",\"").append(name).append("\":[");
            for (int i = 0; i < kvs.size(); i++) {
                if (i > 0) s.append(',');
                s.append(kv(kvs.get(i)));
            }
            s.append(']');
        }

        /** etcd's mvccpb.KeyValue: bytes as base64, zero fields left out (a keys-only read has no value). */
        private static String kv(KeyValue kv) {
            StringBuilder s = new StringBuilder("{\"key\":\"").append(base64(kv.key())).append('"');
            if (kv.createRevision() != 0) s.append(",\"create_revision\":").append(kv.createRevision());
            if (kv.modRevision() != 0) s.append(",\"mod_revision\":").append(kv.modRevision());
            if (kv.version() != 0) s.append(",\"version\":").append(kv.version());
            if (kv.value().length > 0) s.append(",\"value\":\"").append(base64(kv.value())).append('"');
            if (kv.lease() != 0) s.append(",\"lease\":").append(kv.lease());
            return s.append('}').toString();
        }

        private static String base64(byte[] b) {
            return Base64.getEncoder().encodeToString(b);
        }

        /** A JSON string literal. */
        static String string(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\r' -> b.append("\\r");
                    case '\t' -> b.append("\\t");
                    default -> {
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                    }
                }
            }
            return b.append('"').toString();
        }
    }

    // ------------------------------------------------------------------ table

    /** etcdctl has tables only for member, endpoint and similar commands; raftkvctl adds get (and status). */
    static final class Table extends CtlPrinter {

        Table(PrintStream out, boolean hex) {
            super(out, hex);
        }

        @Override
        void get(ResponseHeader header, OpResult.Range range, RangeRequest asked, boolean valueOnly) {
            if (asked.countOnly()) {
                render(out, List.of("COUNT"), List.<List<String>>of(List.of(Long.toString(range.count()))));
                return;
            }
            boolean keysOnly = asked.keysOnly();
            List<String> columns = new ArrayList<>(List.of("KEY", "CREATE REVISION", "MOD REVISION", "VERSION"));
            if (!keysOnly) columns.add("VALUE");
            List<List<String>> rows = new ArrayList<>();
            for (KeyValue kv : range.kvs()) {
                List<String> row = new ArrayList<>(List.of(text(kv.key()), Long.toString(kv.createRevision()),
                        Long.toString(kv.modRevision()), Long.toString(kv.version())));
                if (!keysOnly) row.add(text(kv.value()));
                rows.add(row);
            }
            render(out, columns, rows);
        }

        @Override
        void put(ResponseHeader header, OpResult.Put put) {
            throw new IllegalStateException("table output has no put");
        }

        @Override
        void del(ResponseHeader header, OpResult.DeleteRange del) {
            throw new IllegalStateException("table output has no del");
        }

        @Override
        void txn(ClientResponse.TxnResult txn, List<TxnOp> ran) {
            throw new IllegalStateException("table output has no txn");
        }

        /** etcdctl's member table, and a last column saying which member the answering node knows as the leader. */
        @Override
        void memberList(MemberList list) {
            List<List<String>> rows = new ArrayList<>();
            for (MemberInfo m : list.members()) {
                rows.add(List.of(Integer.toString(m.id()), "started", memberName(m), m.address(), m.address(), Boolean.toString(m.learner()),
                        Boolean.toString(m.id() == list.leaderId())));
            }
            render(out, List.of("ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER", "IS LEADER"), rows);
        }

        @Override
        void memberChange(MemberChange change, int id, MemberList list) {
            out.println(change.line(id, list));
            memberList(list);
        }

        @Override
        void leaderMoved(int target, MemberList list) {
            throw new IllegalStateException("table output has no move-leader");
        }

        /** A cell: the bytes as text when they are UTF-8 without control characters, else in {@code \x..} hex. */
        private String text(byte[] b) {
            if (hex) return CtlInput.toHex(b);
            String s;
            try {
                s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                return CtlInput.toHex(b);
            }
            return s.codePoints().anyMatch(Character::isISOControl) ? CtlInput.toHex(b) : s;
        }

        /**
         * The table as etcdctl's tablewriter draws it: {@code +---+} rules above and below the header and at the
         * end, headers centred, cells right-aligned, one space of padding each side.
         */
        static void render(PrintStream out, List<String> header, List<List<String>> rows) {
            int[] widths = new int[header.size()];
            for (int i = 0; i < widths.length; i++) widths[i] = width(header.get(i));
            for (List<String> row : rows) for (int i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i], width(row.get(i)));
            StringBuilder rule = new StringBuilder("+");
            for (int w : widths) rule.append("-".repeat(w + 2)).append('+');
            out.println(rule);
            StringBuilder h = new StringBuilder("|");
            for (int i = 0; i < widths.length; i++) {
                int gap = widths[i] - width(header.get(i));
                h.append(' ').append(" ".repeat(gap / 2)).append(header.get(i)).append(" ".repeat(gap - gap / 2)).append(" |");
            }
            out.println(h);
            out.println(rule);
            for (List<String> row : rows) {
                StringBuilder r = new StringBuilder("|");
                for (int i = 0; i < widths.length; i++) {
                    r.append(' ').append(" ".repeat(widths[i] - width(row.get(i)))).append(row.get(i)).append(" |");
                }
                out.println(r);
            }
            out.println(rule);
        }

        private static int width(String s) {
            return s.codePointCount(0, s.length());
        }
    }
}
