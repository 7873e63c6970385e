package io.tether.protocol.auth;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The authentication vectors in docs/PROTOCOL.md are what the implementation computes. */
class DeviceTokenDocTest {
    private static final HexFormat HEX = HexFormat.of();

    private static Map<String, String[]> vectors() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "docs", "PROTOCOL.md"));
        Map<String, String[]> out = new LinkedHashMap<>();
        boolean in = false;
        for (String line : lines) {
            if (line.startsWith("```auth-vectors")) {
                in = true;
            } else if (in && line.startsWith("```")) {
                break;
            } else if (in && !line.isBlank()) {
                String[] f = line.split("\\|");
                out.put(f[0].trim(), new String[] {f[1].trim(), f[2].trim()});
            }
        }
        return out;
    }

    @Test
    void documentedVectors_matchTheImplementation() throws Exception {
        Map<String, String[]> v = vectors();
        assertThat(v.keySet()).containsExactly("DEVICE_KEY", "GROUP_KEY", "MEMBER_KEY", "TOKEN");
        byte[] deviceKey = DeviceToken.deviceKey("truck-42", "correct horse");
        assertThat(v.get("DEVICE_KEY")[0]).isEqualTo("id=truck-42 secret=correct horse");
        assertThat(HEX.formatHex(deviceKey)).isEqualTo(v.get("DEVICE_KEY")[1]);
        byte[] group = DeviceToken.groupKey("sim-", "fleet secret");
        assertThat(HEX.formatHex(group)).isEqualTo(v.get("GROUP_KEY")[1]);
        assertThat(HEX.formatHex(DeviceToken.memberKey(group, "sim-7"))).isEqualTo(v.get("MEMBER_KEY")[1]);
        byte[] token = DeviceToken.create(deviceKey, "truck-42", 1_800_000_000_000L, HEX.parseHex("000102030405060708090a0b0c0d0e0f"));
        assertThat(HEX.formatHex(token)).isEqualTo(v.get("TOKEN")[1]);
        DeviceToken.Parsed p = DeviceToken.parse(token);
        assertThat(p.expiryMillis()).isEqualTo(1_800_000_000_000L);
    }
}
