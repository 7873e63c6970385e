package io.tether.cli.trace;

/** The file is not a capture this reader understands (not pcap, not pcapng, or a corrupt header). */
public final class CaptureFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public CaptureFormatException(String message) {
        super(message);
    }
}
