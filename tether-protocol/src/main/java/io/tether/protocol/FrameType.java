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
    /** Version 2: a command, server to device. */
    public static final int COMMAND = 0x08;
    /** Version 2: cumulative acknowledgement of commands, device to server. */
    public static final int COMMAND_ACK = 0x09;
    /** Version 2: a command's result, device to server. */
    public static final int RESULT = 0x0A;
    /** Version 2: acknowledgement of one RESULT, server to device. */
    public static final int RESULT_ACK = 0x0B;

    private FrameType() {
    }

    /** The lowest protocol version that has the type, 0 for an unassigned type. */
    public static int since(int type) {
        if (type >= HELLO && type <= BYE) {
            return Protocol.VERSION;
        }
        if (type >= COMMAND && type <= RESULT_ACK) {
            return Protocol.VERSION_COMMANDS;
        }
        return 0;
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
            case COMMAND: return "COMMAND";
            case COMMAND_ACK: return "COMMAND_ACK";
            case RESULT: return "RESULT";
            case RESULT_ACK: return "RESULT_ACK";
            default: return String.format("0x%02X", type);
        }
    }
}
