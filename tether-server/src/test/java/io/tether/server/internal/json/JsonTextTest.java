package io.tether.server.internal.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

class JsonTextTest {
    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    @Test
    void times_matchJavaTime_acrossYearsLeapDaysAndWholeSeconds() {
        SplittableRandom r = new SplittableRandom(13);
        long[] fixed = {0, 1, 999, 1000, -1, 951_782_400_000L /* 2000-02-29 */, 4_107_542_400_000L /* 2100-03-01 */,
                -62_167_219_200_000L, 253_402_300_799_999L, 1_796_268_780_000L};
        for (long ms : fixed) {
            check(ms);
        }
        for (int i = 0; i < 100_000; i++) {
            check(r.nextLong(-62_167_219_200_000L, 253_402_300_800_000L));
        }
        check(253_402_300_800_000L); // year 10000: java.time's own shape
        check(-62_167_219_200_001L);
    }

    private static void check(long ms) {
        Instant t = Instant.ofEpochMilli(ms);
        assertThat(JsonText.appendTime(new StringBuilder(), ms, false).toString()).as("%d", ms).isEqualTo(t.toString());
        if (ms >= -62_167_219_200_000L && ms < 253_402_300_800_000L) {
            assertThat(JsonText.time(ms)).as("%d", ms).isEqualTo(MILLIS.format(t));
        }
    }

    @Test
    void strings_areEscaped_soAParserReadsThemBack() throws IOException {
        String s = "a\"b\\c\nd\re\tf\bg\fh\u0001i\u001fj é ✓ \uD83D\uDE00 </script>";
        String json = JsonText.appendString(new StringBuilder(), s).toString();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            p.nextToken();
            assertThat(p.getText()).isEqualTo(s);
        }
        assertThat(JsonText.appendString(new StringBuilder(), "plain").toString()).isEqualTo("\"plain\"");
    }
}
