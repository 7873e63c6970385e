package io.tether.server;

/** What the store did with one uplink message. */
public enum AppendResult {
    /** Stored; seq was the next expected one. */
    STORED,
    /** Stored after a gap: seq was beyond last + 1; the skipped numbers are abandoned. */
    STORED_AFTER_GAP,
    /** Not stored again: seq was at or below the last stored seq. */
    DUPLICATE
}
