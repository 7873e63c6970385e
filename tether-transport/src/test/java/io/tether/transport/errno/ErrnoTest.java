package io.tether.transport.errno;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ErrnoTest {

    /** Linux x86-64 values, from include/uapi/asm-generic/errno*.h. */
    private static final Map<String, Integer> LINUX = Map.ofEntries(
            Map.entry("EAGAIN", 11), Map.entry("EINVAL", 22), Map.entry("ENFILE", 23),
            Map.entry("EMFILE", 24), Map.entry("EPIPE", 32), Map.entry("EADDRINUSE", 98),
            Map.entry("EADDRNOTAVAIL", 99), Map.entry("ENETUNREACH", 101),
            Map.entry("ECONNABORTED", 103), Map.entry("ECONNRESET", 104), Map.entry("ENOBUFS", 105),
            Map.entry("ENOTCONN", 107), Map.entry("ETIMEDOUT", 110), Map.entry("ECONNREFUSED", 111),
            Map.entry("EHOSTDOWN", 112), Map.entry("EHOSTUNREACH", 113), Map.entry("EINPROGRESS", 115));

    @Test
    void everyGatewayErrno_isPresentWithItsLinuxNumber() {
        LINUX.forEach((name, number) -> {
            assertThat(Errno.byName(name)).as(name).isPresent();
            assertThat(Errno.byName(name).orElseThrow().number()).as(name).isEqualTo(number);
        });
    }

    @Test
    void numbers_areUnique() {
        Set<Integer> numbers = Arrays.stream(Errno.values()).map(Errno::number).collect(Collectors.toSet());
        assertThat(numbers).hasSize(Errno.values().length);
    }

    @ParameterizedTest
    @EnumSource(Errno.class)
    void byNumber_findsEveryConstant(Errno errno) {
        assertThat(Errno.byNumber(errno.number())).contains(errno);
    }

    @ParameterizedTest
    @EnumSource(Errno.class)
    void everyErrno_hasAMeaningCausesAndAnAction(Errno errno) {
        assertThat(errno.meaning()).isNotBlank().doesNotContain("\n");
        assertThat(errno.typicalCauses()).isNotEmpty().allSatisfy(s -> assertThat(s).isNotBlank());
        assertThat(errno.whatTetherDoes()).isNotEmpty().allSatisfy(s -> assertThat(s).isNotBlank());
    }

    @Test
    void byName_ignoresCaseAndBlanks() {
        assertThat(Errno.byName("econnreset")).contains(Errno.ECONNRESET);
        assertThat(Errno.byName("EConnReset")).contains(Errno.ECONNRESET);
        assertThat(Errno.byName(" ETIMEDOUT ")).contains(Errno.ETIMEDOUT);
    }

    @Test
    void unknownNumbersAndNames_areEmpty() {
        assertThat(Errno.byNumber(0)).isEmpty();
        assertThat(Errno.byNumber(-104)).isEmpty();
        assertThat(Errno.byNumber(9999)).isEmpty();
        assertThat(Errno.byName("ENOSUCH")).isEmpty();
        assertThat(Errno.byName("CONNRESET")).isEmpty();
        assertThat(Errno.byName("")).isEmpty();
        assertThat(Errno.byName(null)).isEmpty();
    }

    @Test
    void connectionErrnos_explainTheDeviceSideStory() {
        assertThat(Errno.ECONNRESET.meaning()).isEqualTo("Connection reset by peer");
        assertThat(String.join(" ", Errno.ECONNRESET.typicalCauses())).contains("rebooted", "NAT", "SO_LINGER 0");
        assertThat(String.join(" ", Errno.ECONNRESET.whatTetherDoes())).contains("PEER_RESET");
        assertThat(String.join(" ", Errno.EPIPE.whatTetherDoes())).contains("PEER_RESET");
        assertThat(String.join(" ", Errno.ETIMEDOUT.whatTetherDoes())).contains("KEEPALIVE_TIMEOUT");
    }
}
