/**
 * The device SDK's engine parts. Not API: types here may change in any release, and
 * {@code io.tether.client} never exposes them.
 *
 * <ul>
 *   <li>{@link io.tether.client.internal.Backoff} — reconnect delay (exponential backoff, full jitter).</li>
 *   <li>{@link io.tether.client.internal.Outbox} — unacknowledged messages and sequence numbers.</li>
 *   <li>{@link io.tether.client.internal.OutboxFile} — the outbox journal on disk: format, forcing, compaction, lock.</li>
 *   <li>{@link io.tether.client.internal.Liveness} — heartbeat PINGs and dead-server detection.</li>
 * </ul>
 */
package io.tether.client.internal;
