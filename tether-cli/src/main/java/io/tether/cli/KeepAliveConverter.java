package io.tether.cli;

import io.tether.transport.KeepAlive;
import picocli.CommandLine;

import java.time.Duration;

/**
 * {@code --keepalive IDLE,INTVL,CNT} (e.g. {@code 60s,20s,3}) or {@code off}, validated by
 * {@link KeepAlive#of}: the same check, with the kernel's limits, as the gateway's builder and the
 * device SDK.
 */
public final class KeepAliveConverter implements CommandLine.ITypeConverter<KeepAlive> {
    @Override
    public KeepAlive convert(String value) {
        String v = value.trim();
        if (v.equalsIgnoreCase("off")) {
            return KeepAlive.OFF;
        }
        String[] parts = v.split(",");
        if (parts.length != 3) {
            throw new CommandLine.TypeConversionException("'" + value
                    + "' is not IDLE,INTVL,CNT (expected e.g. 60s,20s,3, or off)");
        }
        Duration idle = DurationConverter.parse(parts[0]);
        Duration interval = DurationConverter.parse(parts[1]);
        int count;
        try {
            count = Integer.parseInt(parts[2].trim());
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("keepalive count '" + parts[2].trim() + "' is not a whole number");
        }
        try {
            return KeepAlive.of(idle, interval, count);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
