package io.tether.server;

import java.io.IOException;
import java.util.Objects;

/**
 * An append refused because the {@link MessageStore} is {@linkplain StoreHealth.State#FAILED
 * failed}: nothing of it was stored. The connection that sent it is told BYE STORE_UNAVAILABLE
 * with a reconnect hint; the device resends after reconnecting.
 */
public final class StoreUnavailableException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient StoreHealth health;

    /** @param health the failed state that refused the append */
    public StoreUnavailableException(StoreHealth health) {
        super("store unavailable (" + Objects.requireNonNull(health, "health").resource() + "): " + health.cause());
        this.health = health;
    }

    /** The failed state that refused the append. */
    public StoreHealth health() {
        return health;
    }
}
