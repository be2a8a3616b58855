package io.raftkv.raft;

import java.util.List;

/** Builds a {@link Message}, with every field not set left at zero, so call sites name only what they use. */
final class MessageBuilder {

    private final MessageType type;
    private final int from;
    private final int to;
    private long term;
    private long logTerm;
    private long index;
    private List<Entry> entries = List.of();
    private long commit;
    private boolean reject;
    private long hintTerm;
    private long hintIndex;
    private long context;

    MessageBuilder(MessageType type, int from, int to, long term) {
        this.type = type;
        this.from = from;
        this.to = to;
        this.term = term;
    }

    MessageBuilder term(long v) { term = v; return this; }
    MessageBuilder logTerm(long v) { logTerm = v; return this; }
    MessageBuilder index(long v) { index = v; return this; }
    MessageBuilder entries(List<Entry> v) { entries = v; return this; }
    MessageBuilder commit(long v) { commit = v; return this; }
    MessageBuilder reject(boolean v) { reject = v; return this; }
    MessageBuilder hintTerm(long v) { hintTerm = v; return this; }
    MessageBuilder hintIndex(long v) { hintIndex = v; return this; }
    MessageBuilder context(long v) { context = v; return this; }

    Message build() {
        return new Message(type, from, to, term, logTerm, index, entries, commit, reject, hintTerm, hintIndex, context);
    }
}
