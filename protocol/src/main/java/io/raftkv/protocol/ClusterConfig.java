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

    public static ClusterConfig parse(String text, String source) {
        List<Member> members = new ArrayList<>();
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
                if (parts.length != 2 || name != null) throw new IllegalArgumentException(where + ": expected one 'cluster NAME' line, got '" + line + "'");
                name = parts[1];
                continue;
            }
            if (parts.length != 3) throw new IllegalArgumentException(where + ": expected 'id host port', got '" + line + "'");
            int id;
            int port;
            try {
                id = Integer.parseInt(parts[0]);
                port = Integer.parseInt(parts[2]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": id and port must be numbers: '" + line + "'");
            }
            if (id < 1) throw new IllegalArgumentException(where + ": node ids start at 1");
            if (port < 1 || port > 65535) throw new IllegalArgumentException(where + ": port " + port + " out of range");
            // Checked here so that a node never starts with a member it could not list in a MEMBERS answer.
            String problem = MemberInfo.addressProblem(parts[1] + ":" + port);
            if (problem != null) throw new IllegalArgumentException(where + ": " + problem);
            for (Member m : members) {
                if (m.id() == id) throw new IllegalArgumentException(where + ": node id " + id + " listed twice");
                if (m.host().equals(parts[1]) && m.port() == port) throw new IllegalArgumentException(where + ": address " + parts[1] + ":" + port + " listed twice");
            }
            members.add(new Member(id, parts[1], port));
        }
        if (members.isEmpty()) throw new IllegalArgumentException(source + ": no nodes listed");
        members.sort(Comparator.comparingInt(Member::id));
        CRC32C crc = new CRC32C();
        if (name != null) {
            crc.update(("cluster " + name).getBytes(StandardCharsets.UTF_8));
        } else {
            for (Member m : members) crc.update((m.id() + " " + m.host() + " " + m.port() + "\n").getBytes(StandardCharsets.UTF_8));
        }
        return new ClusterConfig(List.copyOf(members), crc.getValue(), name != null);
    }

    public Member member(int id) {
        for (Member m : members) if (m.id() == id) return m;
        return null;
    }

    public List<Integer> ids() {
        return members.stream().map(Member::id).toList();
    }
}
