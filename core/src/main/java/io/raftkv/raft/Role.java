package io.raftkv.raft;

public enum Role { FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER }
