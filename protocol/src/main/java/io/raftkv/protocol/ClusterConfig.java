package io.raftkv.protocol;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The members of a cluster, from {@code nodes.conf}: one line per node, {@code id host port}; {@code #}
 * starts a comment; blank lines are ignored. The cluster id is a digest of the member list, so a node
 * configured for another cluster is refused at the handshake. An optional line {@code cluster NAME} makes
 * the id a digest of the name instead: then each node may see its peers at other addresses (a proxy, NAT), and
 * {@link #localAddresses()} says that the addresses this file gives are this node's own view of its peers.
 */
public record ClusterConfig(List<Member> members, long clusterId, boolean localAddresses) {

    public ClusterConfig(List<Member> members, long clusterId) {
        this(members, clusterId, false);
    }

    public record Member(int id, String host, int port) {
        public InetSocketAddress address() {
            return new InetSocketAddress(host, port);
        }

        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    public static ClusterConfig load(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * Reads the whole file before refusing it: every problem is one line of the exception's message, naming
     * {@code source:line}, so that an operator fixes them all in one go.
     */
    public static ClusterConfig parse(String text, String source) {
        List<Member> members = new ArrayList<>();
        List<Integer> memberLines = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        String name = null;
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            int hash = line.indexOf('#');
            if (hash >= 0) line = line.substring(0, hash);
            line = line.strip();
            if (line.isEmpty()) continue;
            String[] parts = line.split("\\s+");
            String where = source + ":" + (i + 1);
            if (parts[0].equals("cluster")) {
                if (parts.length != 2 || name != null) problems.add(where + ": expected one 'cluster NAME' line, got '" + line + "'");
                else name = parts[1];
                continue;
            }
            if (parts.length != 3) {
                problems.add(where + ": expected 'id host port', got " + parts.length + " fields: '" + line + "'");
                continue;
            }
            Integer id = number(parts[0]);
            Integer port = number(parts[2]);
            if (id == null || id < 1) {
                problems.add(where + ": node id '" + parts[0] + "' is not a whole number from 1");
                continue;
            }
            if (port == null || port < 1 || port > 65535) {
                problems.add(where + ": port '" + parts[2] + "' is not a number from 1 to 65535");
                continue;
            }
            // Checked here so that a node never starts with a member it could not list in a MEMBERS answer.
            String problem = MemberInfo.addressProblem(parts[1] + ":" + port);
            if (problem != null) {
                problems.add(where + ": " + problem);
                continue;
            }
            boolean duplicate = false;
            for (int m = 0; m < members.size(); m++) {
                Member other = members.get(m);
                String first = " (first at " + source + ":" + memberLines.get(m) + ")";
                if (other.id() == id) problems.add(where + ": node id " + id + " listed twice" + first);
                if (other.host().equals(parts[1]) && other.port() == port) problems.add(where + ": address " + parts[1] + ":" + port + " listed twice" + first);
                duplicate |= other.id() == id;
            }
            if (!duplicate) {
                members.add(new Member(id, parts[1], port));
                memberLines.add(i + 1);
            }
        }
        if (members.isEmpty() && problems.isEmpty()) problems.add(source + ": no nodes listed (one line per node: id host port)");
        if (!problems.isEmpty()) throw new IllegalArgumentException(String.join("\n", problems));
        members.sort(Comparator.comparingInt(Member::id));
        CRC32C crc = new CRC32C();
        if (name != null) {
            crc.update(("cluster " + name).getBytes(StandardCharsets.UTF_8));
        } else {
            for (Member m : members) crc.update((m.id() + " " + m.host() + " " + m.port() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new ClusterConfig(List.copyOf(members), crc.getValue(), name != null);
    }

    /** A decimal number of at most 9 digits (so it fits an int), or null. */
    private static Integer number(String s) {
        if (s.isEmpty() || s.length() > 9 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) return null;
        return Integer.parseInt(s);
    }

    public Member member(int id) {
        for (Member m : members) if (m.id() == id) return m;
        return null;
    }

    public List<Integer> ids() {
        return members.stream().map(Member::id).toList();
    }
}
