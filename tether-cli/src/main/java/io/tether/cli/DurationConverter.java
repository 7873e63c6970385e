package io.tether.cli;

import io.tether.transport.Durations;
import picocli.CommandLine;

import java.time.Duration;

/**
 * Durations as people write them ({@link Durations#parse}: {@code 500ms}, {@code 10s}, {@code 2m},
 * {@code 1h}, {@code 1d}, {@code 1m30s}, {@code 0}, ISO-8601), as a picocli converter. The inverse
 * is {@link io.tether.transport.KeepAlive#format}.
 */
public final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    /**
     * @throws CommandLine.TypeConversionException if the text is not a duration
     */
    public static Duration parse(String value) {
        try {
            return Durations.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
