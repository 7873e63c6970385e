package io.tether.cli;

import picocli.CommandLine;

import java.time.Duration;

/**
 * The value of {@code --keepalive}: {@code IDLE,INTVL,CNT} (e.g. {@code 60s,20s,3}) or
 * {@code off}.
 */
public record KeepAlive(Duration idle, Duration interval, int count) {

    public boolean off() {
        return idle.isZero();
    }

    @Override
    public String toString() {
        return off() ? "off" : DurationConverter.format(idle) + "," + DurationConverter.format(interval) + "," + count;
    }

    /** picocli converter. */
    public static final class Converter implements CommandLine.ITypeConverter<KeepAlive> {
        @Override
        public KeepAlive convert(String value) {
            String v = value.trim();
            if (v.equalsIgnoreCase("off")) {
                return new KeepAlive(Duration.ZERO, Duration.ofSeconds(1), 1);
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
                throw new CommandLine.TypeConversionException("keepalive count '" + parts[2] + "' is not a whole number");
            }
            if (idle.toMillis() < 1000 || interval.toMillis() < 1000 || count < 1 || count > 127) {
                throw new CommandLine.TypeConversionException("'" + value
                        + "': idle and interval must be >= 1s (the kernel counts whole seconds) and count 1 to 127");
            }
            return new KeepAlive(idle, interval, count);
        }
    }
}
