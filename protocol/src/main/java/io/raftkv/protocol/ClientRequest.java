package io.raftkv.protocol;

/** What a client asks; every request carries an id the answer repeats, so requests can be pipelined. */
public sealed interface ClientRequest {

    long requestId();

    record Put(long requestId, byte[] key, byte[] value) implements ClientRequest { }

    record Delete(long requestId, byte[] key) implements ClientRequest { }

    /** {@code serializable}: answer from the node's own map, possibly stale, instead of a linearizable read. */
    record Get(long requestId, byte[] key, boolean serializable) implements ClientRequest { }

    record Status(long requestId) implements ClientRequest { }
}
