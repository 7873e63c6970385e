package io.tether.apicheck.internal;

/** Fixture: a public type in an internal package, which the listing leaves out. */
public final class Secret {
}
