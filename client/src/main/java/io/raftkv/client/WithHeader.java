package io.raftkv.client;

import io.raftkv.protocol.ResponseHeader;

/** An operation's result with the header it was served with (the store's revision, the member, its term). */
public record WithHeader<T>(ResponseHeader header, T value) {
}
