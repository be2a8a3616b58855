package io.raftkv.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.WatchOption;
import io.raftkv.client.RaftKvClient;
import io.raftkv.client.WatchListener;
import io.raftkv.client.WatchResponse;
import io.raftkv.protocol.WatchEvent;
import io.raftkv.protocol.WatchRequest;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The watching side of the fan-out benchmark ({@link WatchFanout}): {@code clients} client objects of one system, each
 * holding the watches {@code i} with {@code i % clients == client}, all on one prefix. Client {@code c} is pointed at
 * node {@code c % nodes} alone ({@code pinned}), so the watches spread evenly over the nodes; or, for raftkv, at every
 * node ({@code random}), where the client library picks one at random for its watch connection.
 */
interface FanoutWatchers extends AutoCloseable {

    /** Where one watch's events go, in the order the client library hands them over. */
    interface Sink {
        /** One event: the revision it happened at and the value the put wrote. */
        void event(long revision, byte[] value);

        /** The watch ended or failed; it will say nothing more. */
        void failed(String reason);
    }

    /** Opens watch number {@code watcher} on {@code prefix} through client {@code watcher % clients}. */
    void open(int watcher, byte[] prefix, Sink sink);

    @Override
    void close();

    static FanoutWatchers create(String target, List<String> endpoints, int clients, boolean pinned) {
        return target.equals("etcd") ? new Etcd(endpoints, clients) : new RaftKv(endpoints, clients, pinned);
    }

    /**
     * raftkv: one {@link RaftKvClient} per client; all the watches of a client share its one watch connection and its
     * one watch thread, which calls the listeners in order.
     */
    final class RaftKv implements FanoutWatchers {
        private final List<RaftKvClient> clients = new ArrayList<>();

        RaftKv(List<String> endpoints, int clients, boolean pinned) {
            List<InetSocketAddress> all = RaftKvClient.parseEndpoints(String.join(",", endpoints));
            for (int c = 0; c < clients; c++) {
                List<InetSocketAddress> mine = pinned ? List.of(all.get(c % all.size())) : all;
                this.clients.add(new RaftKvClient(mine, Duration.ofSeconds(10)));
            }
        }

        @Override
        public void open(int watcher, byte[] prefix, Sink sink) {
            clients.get(watcher % clients.size()).watch(WatchRequest.prefix(0, prefix), new WatchListener() {
                @Override
                public void onEvents(WatchResponse response) {
                    for (WatchEvent e : response.events()) sink.event(e.revision(), e.kv().value());
                }

                @Override
                public void onCanceled(long compactRevision, String reason) {
                    sink.failed("canceled (compact revision " + compactRevision + "): " + reason);
                }
            });
        }

        @Override
        public void close() {
            clients.forEach(RaftKvClient::close);
        }
    }

    /**
     * etcd through jetcd: one {@link Client} per client, pointed at one member. jetcd opens one gRPC stream per watch,
     * all the streams of a client on its one HTTP/2 connection.
     */
    final class Etcd implements FanoutWatchers {
        private final List<Client> clients = new ArrayList<>();

        Etcd(List<String> endpoints, int clients) {
            for (int c = 0; c < clients; c++) {
                String e = endpoints.get(c % endpoints.size());
                this.clients.add(Client.builder().endpoints(e.startsWith("http") ? e : "http://" + e).build());
            }
        }

        @Override
        public void open(int watcher, byte[] prefix, Sink sink) {
            WatchOption option = WatchOption.builder().isPrefix(true).build();
            clients.get(watcher % clients.size()).getWatchClient().watch(ByteSequence.from(prefix), option, new Watch.Listener() {
                @Override
                public void onNext(io.etcd.jetcd.watch.WatchResponse response) {
                    for (io.etcd.jetcd.watch.WatchEvent e : response.getEvents()) {
                        sink.event(e.getKeyValue().getModRevision(), e.getKeyValue().getValue().getBytes());
                    }
                }

                @Override
                public void onError(Throwable error) {
                    sink.failed("error: " + error);
                }

                @Override
                public void onCompleted() {
                    sink.failed("completed");
                }
            });
        }

        @Override
        public void close() {
            clients.forEach(Client::close);
        }
    }
}
