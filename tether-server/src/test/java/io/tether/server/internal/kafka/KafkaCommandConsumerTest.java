package io.tether.server.internal.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The parts of a command record the consumer reads itself: the ttl header and the refusal it reports. */
class KafkaCommandConsumerTest {
    @Test
    void ttlHeader_takesTheFlagsDurationsAndIso8601() {
        assertThat(KafkaCommandConsumer.parseTtl("10m")).isEqualTo(Duration.ofMinutes(10));
        assertThat(KafkaCommandConsumer.parseTtl("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(KafkaCommandConsumer.parseTtl("45s")).isEqualTo(Duration.ofSeconds(45));
        assertThat(KafkaCommandConsumer.parseTtl("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(KafkaCommandConsumer.parseTtl("2d")).isEqualTo(Duration.ofDays(2));
        assertThat(KafkaCommandConsumer.parseTtl("PT10M")).isEqualTo(Duration.ofMinutes(10));
    }

    @Test
    void badTtl_isARefusalThatSaysWhatIsExpected() {
        for (String bad : new String[] {"", "ten minutes", "0s", "10", "PT-1S", "99999999999999999d"}) {
            assertThatThrownBy(() -> KafkaCommandConsumer.parseTtl(bad)).as(bad)
                    .isInstanceOf(KafkaCommandConsumer.Refused.class).hasMessageContaining("ttl header");
        }
    }

    @Test
    void refusal_isJsonNamingTheDeviceKeyAndTheRecord() {
        ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("tether.commands", 2, 41L, "m-1".getBytes(StandardCharsets.UTF_8),
                new byte[0]);
        String json = new String(KafkaCommandConsumer.rejection(r, "m-1", "k\"9", "QUEUE_FULL", "device m-1 has 2 open"),
                StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"state\":\"REJECTED\",\"deviceId\":\"m-1\",\"idempotencyKey\":\"k\\\"9\","
                + "\"error\":\"QUEUE_FULL\",\"detail\":\"device m-1 has 2 open\",\"topic\":\"tether.commands\","
                + "\"partition\":2,\"offset\":41}");
    }
}
