package io.tether.protocol;

/** The type byte of a frame. See docs/PROTOCOL.md. */
public final class FrameType {
    public static final int HELLO = 0x01;
    public static final int WELCOME = 0x02;
    public static final int PING = 0x03;
    public static final int PONG = 0x04;
    public static final int DATA = 0x05;
    public static final int ACK = 0x06;
    public static final int BYE = 0x07;

    private FrameType() {
    }

    public static String name(int type) {
        switch (type) {
            case HELLO: return "HELLO";
            case WELCOME: return "WELCOME";
            case PING: return "PING";
            case PONG: return "PONG";
            case DATA: return "DATA";
            case ACK: return "ACK";
            case BYE: return "BYE";
            default: return String.format("0x%02X", type);
        }
    }
}
