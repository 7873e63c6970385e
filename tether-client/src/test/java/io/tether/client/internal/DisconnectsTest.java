package io.tether.client.internal;

import io.netty.channel.unix.Errors;
import io.netty.handler.codec.DecoderException;
import io.tether.protocol.ProtocolException;
import io.tether.protocol.Reason;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class DisconnectsTest {

    @BeforeAll
    static void nativeTransport() {
        // NativeIoException's constructor needs the native library loaded; it only occurs with epoll anyway.
        assumeTrue(Epoll.isAvailable(), "epoll unavailable");
    }

    @Test
    void nativeErrnos_areClassifiedByCode() {
        assertThat(Disconnects.classify(new Errors.NativeIoException("readAddress", -104))).isEqualTo(Reason.PEER_RESET);
        assertThat(Disconnects.classify(new Errors.NativeIoException("writeAddress", -32))).isEqualTo(Reason.PEER_RESET);
        assertThat(Disconnects.classify(new Errors.NativeIoException("readAddress", -110)))
                .isEqualTo(Reason.KEEPALIVE_TIMEOUT);
        assertThat(Disconnects.classify(new Errors.NativeIoException("readAddress", -113))).isEqualTo(Reason.IO_ERROR);
    }

    @Test
    void wrappedCauses_areFound() {
        ClosedChannelException closed = new ClosedChannelException();
        closed.initCause(new Errors.NativeIoException("writevAddresses", -32));
        assertThat(Disconnects.classify(closed)).isEqualTo(Reason.PEER_RESET);
        assertThat(Disconnects.classify(new DecoderException(new ProtocolException(Reason.FRAME_TOO_LARGE, "big"))))
                .isEqualTo(Reason.FRAME_TOO_LARGE);
    }

    @Test
    void messageText_isNeverConsulted() {
        assertThat(Disconnects.classify(new IOException("Connection reset by peer"))).isEqualTo(Reason.IO_ERROR);
    }
}
