package io.tether.server.internal.kafka;

import io.tether.server.KafkaOptions;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What --kafka-config may change, and what it may not. */
class KafkaClientsTest {
    private static KafkaClients clients(Map<String, String> props) {
        return new KafkaClients(KafkaOptions.builder("k1:9092").gatewayId("gw-1").properties(props).build());
    }

    @Test
    void theExactlyOnceSettings_winOverTheFile() {
        Map<String, Object> p = clients(Map.of("enable.idempotence", "false", "acks", "1", "transactional.id", "mine",
                "max.in.flight.requests.per.connection", "20")).producerConfig();
        assertThat(p).containsEntry("enable.idempotence", "true").containsEntry("acks", "all")
                .containsEntry("transactional.id", "tether-gw-1").containsEntry("max.in.flight.requests.per.connection", 5);
        Map<String, Object> c = clients(Map.of("isolation.level", "read_uncommitted", "enable.auto.commit", "true"))
                .consumerConfig("g", "x");
        assertThat(c).containsEntry("isolation.level", "read_committed").containsEntry("enable.auto.commit", "false")
                .containsEntry("group.id", "g");
    }

    @Test
    void securityAndTuning_passThrough() {
        Map<String, Object> p = clients(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512",
                "compression.type", "lz4", "linger.ms", "20")).producerConfig();
        assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("compression.type", "lz4").containsEntry("linger.ms", "20")
                .containsEntry("bootstrap.servers", "k1:9092");
    }

    @Test
    void idsFollowTheGatewayId() {
        assertThat(clients(Map.of()).transactionalId()).isEqualTo("tether-gw-1");
        assertThat(clients(Map.of()).commandGroup()).isEqualTo("tether-gw-1-commands");
    }
}
