/**
 * The Tether device SDK: one {@link io.tether.client.TetherClient} per device connection. It keeps
 * a session with the gateway alive (heartbeat), notices a dead server within a stated bound,
 * reconnects with backoff and jitter, and keeps every message in an outbox until the server has
 * acknowledged storing it, so that no message is lost and none is stored twice.
 *
 * <p>Start at {@link io.tether.client.TetherClient#builder()}.
 */
package io.tether.client;
