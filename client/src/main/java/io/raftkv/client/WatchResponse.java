package io.raftkv.client;

import io.raftkv.protocol.WatchEvent;

import java.util.List;

/**
 * What a watch hands on: the events of one or more whole revisions, in revision order (a revision's events together,
 * in key order), or none when it is a progress notification. {@code revision}: every event of the watch up to it has
 * been delivered.
 */
public record WatchResponse(long revision, List<WatchEvent> events) {

    public WatchResponse {
        events = List.copyOf(events);
    }

    public boolean isProgressNotify() {
        return events.isEmpty();
    }
}
