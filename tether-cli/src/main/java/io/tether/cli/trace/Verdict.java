package io.tether.cli.trace;

/**
 * The case a connection's story ends in. The rules that pick one are in
 * {@link Connection#decide()} and, in words, in docs/OPERATIONS.md ("Reading a capture with
 * tether trace").
 */
public enum Verdict {
    CLEAN_CLOSE("clean-close", "clean close"),
    POWER_LOSS_HEARTBEAT("power-loss-heartbeat", "power loss, detected by heartbeat"),
    HEARTBEAT_TIMEOUT_DEVICE_ALIVE("heartbeat-timeout-device-alive", "heartbeat timeout of a device that was still there"),
    POWER_LOSS_KEEPALIVE("power-loss-keepalive", "power loss, detected by keepalive"),
    TAKEN_OVER("taken-over", "rebooted device taken over"),
    MIDDLEBOX_SILENCE("middlebox-silence", "NAT/middlebox silence"),
    PEER_RESET("peer-reset", "peer reset"),
    REFUSED("refused", "refused (RST to SYN)"),
    NO_ANSWER("no-answer", "SYN without answer"),
    SERVER_BUSY("server-busy", "server busy"),
    SERVER_CLOSED("server-closed", "closed by the server"),
    DEVICE_CLOSED("device-closed", "closed by the device"),
    SERVER_RESET("server-reset", "reset by the server"),
    HALF_OPEN("half-open", "half-open at the end of the capture"),
    OPEN("open", "still open at the end of the capture");

    private final String code;
    private final String words;

    Verdict(String code, String words) {
        this.code = code;
        this.words = words;
    }

    /** The verdict as JSON shows it, e.g. {@code power-loss-heartbeat}. */
    public String code() {
        return code;
    }

    /** The verdict in plain words, e.g. "power loss, detected by heartbeat". */
    public String words() {
        return words;
    }
}
