package io.tether.testkit.fault;

/** Which packets a fault affects, seen from the namespace it is installed in. */
public enum Direction {
    /** Packets arriving from the link (the INPUT chain, {@code -i} the lab's interface). */
    INBOUND,
    /** Packets leaving over the link (the OUTPUT chain, {@code -o} the lab's interface). */
    OUTBOUND,
    /** Both. */
    BOTH
}
