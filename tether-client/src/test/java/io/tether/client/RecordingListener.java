package io.tether.client;

import io.tether.protocol.Reason;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.fail;

/** Records every callback with the time it arrived. */
final class RecordingListener implements ClientListener {
    record Disconnect(Reason reason, Throwable cause, long nanos) {
    }

    record Message(long seq, byte[] payload) {
    }

    record Reconnect(int attempt, Duration delay, long nanos) {
    }

    final BlockingQueue<SessionInfo> connected = new LinkedBlockingQueue<>();
    final BlockingQueue<Disconnect> disconnects = new LinkedBlockingQueue<>();
    final BlockingQueue<Goodbye> byes = new LinkedBlockingQueue<>();
    final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final BlockingQueue<Reconnect> reconnects = new LinkedBlockingQueue<>();
    final BlockingQueue<AuthenticationFailedException> authFailures = new LinkedBlockingQueue<>();

    @Override
    public void onAuthenticationFailed(AuthenticationFailedException failure) {
        authFailures.add(failure);
    }

    @Override
    public void onConnected(SessionInfo session) {
        connected.add(session);
    }

    @Override
    public void onDisconnected(Reason reason, Throwable causeOrNull) {
        disconnects.add(new Disconnect(reason, causeOrNull, System.nanoTime()));
    }

    @Override
    public void onBye(Goodbye goodbye) {
        byes.add(goodbye);
    }

    @Override
    public void onMessage(long seq, byte[] payload) {
        messages.add(new Message(seq, payload));
    }

    @Override
    public void onReconnectScheduled(int attempt, Duration delay) {
        reconnects.add(new Reconnect(attempt, delay, System.nanoTime()));
    }

    static <T> T take(BlockingQueue<T> queue) {
        try {
            T t = queue.poll(FakeServer.WAIT.toMillis(), TimeUnit.MILLISECONDS);
            if (t == null) {
                fail("no event within " + FakeServer.WAIT);
            }
            return t;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
