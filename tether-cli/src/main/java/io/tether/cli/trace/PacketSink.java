package io.tether.cli.trace;

/** Receives the packets of a capture, in file order, from {@link CaptureReader}. */
@FunctionalInterface
public interface PacketSink {
    /**
     * One captured packet. {@code data} is the reader's buffer, valid only during the call.
     *
     * @param timeNanos  capture time, nanoseconds since the Unix epoch
     * @param linkType   the LINKTYPE_ value of the packet's interface
     * @param data       buffer holding the captured bytes at {@code offset}
     * @param capturedLength bytes captured (at most the snap length)
     * @param wireLength bytes the packet had on the wire
     */
    void packet(long timeNanos, int linkType, byte[] data, int offset, int capturedLength, int wireLength);
}
