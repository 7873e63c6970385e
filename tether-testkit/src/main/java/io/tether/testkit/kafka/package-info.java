/**
 * Apache Kafka for tests: {@link io.tether.testkit.kafka.KafkaBroker} runs a real one-node KRaft
 * broker as its own process (on loopback, or inside a {@link io.tether.testkit.fault.NetworkLab}
 * namespace so iptables faults can cut it off), and {@link io.tether.testkit.kafka.ReadCommittedChecker}
 * reads what a transactional consumer would see, to assert exactly-once and per-key order.
 */
package io.tether.testkit.kafka;
