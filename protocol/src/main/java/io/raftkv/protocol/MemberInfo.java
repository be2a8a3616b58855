package io.raftkv.protocol;

public record MemberInfo(int id, String address, boolean learner) { }
