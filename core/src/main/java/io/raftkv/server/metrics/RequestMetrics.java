package io.raftkv.server.metrics;

import io.raftkv.protocol.ClientRequest;
import io.raftkv.protocol.ClientResponse;
import io.raftkv.protocol.ErrorCode;

import java.util.Locale;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * How long client requests take, from the frame's arrival on the loop to the answer queued on its connection, by type
 * (put, get, ...) and outcome ({@code ok}, {@code not_leader}, or the error code in lower case). Written by the loop
 * thread only. A histogram is made the first time its (type, outcome) is seen, so a scrape lists only those that
 * happened; it is published through an {@link AtomicReferenceArray}, so a reader sees it whole.
 */
public final class RequestMetrics {

    static final String[] TYPES = {"put", "delete", "get", "range", "txn", "compact", "status", "lease_grant", "lease_revoke",
            "lease_keepalive", "lease_timetolive", "lease_leases", "other"};
    /** Error codes with an outcome of their own; a higher one (a newer node's) counts as {@code error}. */
    private static final int ERROR_CODES_MAX = 31;
    private static final int OK = 0;
    private static final int NOT_LEADER = 1;
    private static final int OTHER_ERROR = 2;
    private static final int OUTCOMES = 3 + ERROR_CODES_MAX;
    private static final String[] OUTCOME_NAMES = new String[OUTCOMES];

    static {
        OUTCOME_NAMES[OK] = "ok";
        OUTCOME_NAMES[NOT_LEADER] = "not_leader";
        OUTCOME_NAMES[OTHER_ERROR] = "error";
        for (int code = 1; code <= ERROR_CODES_MAX; code++) OUTCOME_NAMES[OTHER_ERROR + code] = ErrorCode.name(code).toLowerCase(Locale.ROOT);
    }

    private final AtomicReferenceArray<Histogram> histograms = new AtomicReferenceArray<>(TYPES.length * OUTCOMES);

    /** Loop thread only: {@code request} was answered {@code response} after {@code nanos}. */
    public void observe(ClientRequest request, ClientResponse response, long nanos) {
        int slot = typeOf(request) * OUTCOMES + outcomeOf(response);
        Histogram h = histograms.getPlain(slot);
        if (h == null) {
            h = Histogram.latency();
            histograms.setRelease(slot, h);
        }
        h.observe(nanos);
    }

    static int typeOf(ClientRequest r) {
        if (r instanceof ClientRequest.Put) return 0;
        if (r instanceof ClientRequest.Delete) return 1;
        if (r instanceof ClientRequest.Get) return 2;
        if (r instanceof ClientRequest.Range) return 3;
        if (r instanceof ClientRequest.Txn) return 4;
        if (r instanceof ClientRequest.Compact) return 5;
        if (r instanceof ClientRequest.Status) return 6;
        if (r instanceof ClientRequest.LeaseGrant) return 7;
        if (r instanceof ClientRequest.LeaseRevoke) return 8;
        if (r instanceof ClientRequest.LeaseKeepAlive) return 9;
        if (r instanceof ClientRequest.LeaseTimeToLive) return 10;
        if (r instanceof ClientRequest.LeaseLeases) return 11;
        return TYPES.length - 1;
    }

    static int outcomeOf(ClientResponse r) {
        if (r instanceof ClientResponse.Error e) return e.code() >= 1 && e.code() <= ERROR_CODES_MAX ? OTHER_ERROR + e.code() : OTHER_ERROR;
        if (r instanceof ClientResponse.NotLeader) return NOT_LEADER;
        return OK;
    }

    /** Writes, which change the log, among {@link #TYPES}: their timeouts and lost leaderships are failed proposals. */
    private static boolean isWrite(int type) {
        return type == 0 || type == 1 || type == 4 || type == 5 || type == 7 || type == 8;
    }

    void writeTo(TextFormat out) {
        out.family("raftkv_request_duration_seconds", "histogram",
                "Client requests from arrival to answer, by type and outcome (ok, not_leader, or the error code).");
        long committed = 0;
        long failed = 0;
        for (int slot = 0; slot < histograms.length(); slot++) {
            Histogram h = histograms.getAcquire(slot);
            if (h == null) continue;
            int type = slot / OUTCOMES;
            int outcome = slot % OUTCOMES;
            h.writeTo(out, "raftkv_request_duration_seconds", "type", TYPES[type], "outcome", OUTCOME_NAMES[outcome]);
            if (!isWrite(type)) continue;
            if (outcome == OK) committed += h.read().count();
            if (outcome == OTHER_ERROR + ErrorCode.TIMEOUT || outcome == OTHER_ERROR + ErrorCode.UNAVAILABLE) failed += h.read().count();
        }
        out.single("raftkv_proposals_committed_total", "counter", "Writes proposed through this node, committed, applied and answered OK.", committed);
        out.single("raftkv_proposals_failed_total", "counter",
                "Writes proposed and then lost: answered TIMEOUT (outcome unknown) or UNAVAILABLE (a leader change replaced the entry).", failed);
    }
}
