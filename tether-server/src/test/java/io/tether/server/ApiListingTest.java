package io.tether.server;

import io.tether.apicheck.ApiListing;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

/**
 * The public API of tether-server is the checked-in api/tether-server.api: a change to it fails here
 * with the diff, and is regenerated with {@code -Dapi.update=true} (see the failure message).
 */
class ApiListingTest {
    @Test
    void publicApi_matchesTheCheckedInListing() {
        ApiListing.verify("tether-server", Path.of("target/classes"), Path.of("api/tether-server.api"));
    }
}
