package io.tether.transport.errno;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.tether.protocol.Reason;
import io.tether.transport.kernel.SocketTable;
import io.tether.transport.kernel.TcpState;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Classifies failures that the Linux kernel really produced on loopback sockets driven by Netty's
 * epoll transport. Each test provokes one errno and checks what {@link IoFailure#classify} makes
 * of the exception Netty hands over.
 */
class IoFailureRealSocketTest {

    private static final String LOOPBACK = "127.0.0.1";

    private static EventLoopGroup group;

    private final List<Channel> toClose = new ArrayList<>();

    @BeforeAll
    static void startEventLoops() {
        // The errno tests are about the native transport: fail loudly rather than skip if it is missing.
        assertThat(Epoll.isAvailable())
                .as("Netty epoll transport must be available: %s", Epoll.unavailabilityCause())
                .isTrue();
        group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stopEventLoops() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @AfterEach
    void closeChannels() {
        for (Channel ch : toClose) {
            ch.close().syncUninterruptibly();
        }
    }

    @Test
    void connectToClosedPort_isEconnrefused_ioError() throws Exception {
        Channel listener = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter())
                .bind(LOOPBACK, 0).sync().channel();
        InetSocketAddress closedPort = (InetSocketAddress) listener.localAddress();
        listener.close().sync();

        ChannelFuture connect = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(closedPort);
        assertThat(connect.await(5, TimeUnit.SECONDS)).as("connect finished").isTrue();

        assertThat(connect.isSuccess()).isFalse();
        // Netty 4.2.18 reports every connect errno except ENETUNREACH/EHOSTUNREACH as a plain
        // ConnectException (wrapped in AnnotatedConnectException), so the errno comes from the type.
        assertThat(connect.cause()).isInstanceOf(ConnectException.class);
        IoFailure failure = IoFailure.classify(connect.cause());
        assertThat(failure.errno()).isEqualTo(Errno.ECONNREFUSED);
        assertThat(failure.errnoNumber()).isEqualTo(111);
        assertThat(failure.reason()).isEqualTo(Reason.IO_ERROR);
    }

    @Test
    void peerResetWhileServerReads_isEconnreset_peerReset() throws Exception {
        Server server = startServer(false, Integer.MAX_VALUE);
        Channel client = connectClient(server, true, true);
        server.child.get(5, TimeUnit.SECONDS);

        client.close().sync(); // SO_LINGER 0: close sends RST instead of FIN

        Throwable cause = server.exceptionCaught.get(5, TimeUnit.SECONDS);
        IoFailure failure = IoFailure.classify(cause);
        assertThat(failure.errno()).isEqualTo(Errno.ECONNRESET);
        assertThat(failure.reason()).isEqualTo(Reason.PEER_RESET);
    }

    @Test
    void firstWriteAfterPeerReset_isEconnreset_andLaterWritesCarryIt() throws Exception {
        Server server = startServer(false, Integer.MAX_VALUE);
        Socket client = new Socket(LOOPBACK, server.port());
        Channel child = server.child.get(5, TimeUnit.SECONDS);
        int clientPort = client.getLocalPort();

        // Run the reset and the writes in one event-loop task: Netty reacts to the RST's EPOLLERR by
        // reading (even with autoRead off), and the read would consume the socket error first.
        CompletableFuture<List<Throwable>> writeFailures = new CompletableFuture<>();
        child.eventLoop().execute(() -> {
            try {
                client.setSoLinger(true, 0);
                client.close();
                await().atMost(Duration.ofSeconds(5)).until(() -> !hasEstablished(server.port(), clientPort));
                List<Throwable> failures = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    ChannelFuture f = child.writeAndFlush(Unpooled.wrappedBuffer(new byte[16]));
                    if (f.isDone() && !f.isSuccess()) {
                        failures.add(f.cause());
                    }
                }
                writeFailures.complete(failures);
            } catch (Throwable t) {
                writeFailures.completeExceptionally(t);
            }
        });

        List<Throwable> failures = writeFailures.get(10, TimeUnit.SECONDS);
        assertThat(failures).hasSize(3);
        assertThat(IoFailure.classify(failures.get(0)))
                .isEqualTo(new IoFailure(Reason.PEER_RESET, Errno.ECONNRESET));
        // Netty closed the channel after the first failure; later writes fail with a
        // ClosedChannelException whose cause is that first failure.
        assertThat(failures.subList(1, 3))
                .allSatisfy(t -> assertThat(IoFailure.classify(t).errno()).isEqualTo(Errno.ECONNRESET));
    }

    @Test
    void writeAfterPeerClosedAndItsKernelReset_isEpipe_peerReset() throws Exception {
        // The device closes normally (FIN); our side stays in CLOSE_WAIT because half-closure is
        // allowed. Our next write reaches a closed socket, whose kernel answers with RST; an RST in
        // CLOSE_WAIT sets the socket error to EPIPE (tcp_reset), so the following write fails with it.
        Server server = startServer(true, Integer.MAX_VALUE);
        Channel client = connectClient(server, false, true);
        Channel child = server.child.get(5, TimeUnit.SECONDS);
        client.close().sync();
        server.inputShutdown.get(5, TimeUnit.SECONDS);

        List<Throwable> failures = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (int i = 0; i < 50 && failures.isEmpty() && System.nanoTime() < deadline; i++) {
            ChannelFuture f = child.writeAndFlush(Unpooled.wrappedBuffer(new byte[16]));
            assertThat(f.await(2, TimeUnit.SECONDS)).as("write %d completed", i).isTrue();
            if (!f.isSuccess()) {
                failures.add(f.cause());
            }
            // Give the RST a moment to come back over loopback before the next write.
            TimeUnit.MILLISECONDS.sleep(5);
        }

        assertThat(failures).as("a write failed within 50 writes / 5 s").isNotEmpty();
        assertThat(failures)
                .anySatisfy(t -> assertThat(IoFailure.classify(t))
                        .isEqualTo(new IoFailure(Reason.PEER_RESET, Errno.EPIPE)));
    }

    @Test
    void unacknowledgedDataBeyondTcpUserTimeout_isEtimedout_keepaliveTimeout() throws Exception {
        // The client never reads, so its receive window closes and our data stays unacknowledged;
        // with TCP_USER_TIMEOUT the kernel gives up on the connection (zero-window probes included).
        int userTimeoutMillis = 1_000;
        Server server = startServer(false, userTimeoutMillis);
        connectClient(server, false, false);
        Channel child = server.child.get(5, TimeUnit.SECONDS);

        // 4 MiB is far more than the small send and receive buffers hold together.
        ChannelFuture write = child.writeAndFlush(Unpooled.wrappedBuffer(new byte[4 << 20]));
        long start = System.nanoTime();
        // Slack: the kernel checks the timeout on its probe timer, which backs off; 15 s is generous.
        assertThat(write.await(15, TimeUnit.SECONDS)).as("write failed within 15 s").isTrue();
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(write.isSuccess()).isFalse();
        assertThat(elapsedMillis).isGreaterThanOrEqualTo(userTimeoutMillis - 50L);
        List<Throwable> causes = new ArrayList<>();
        causes.add(write.cause());
        Throwable caught = server.exceptionCaught.getNow(null);
        if (caught != null) {
            causes.add(caught); // if Netty's read saw the error first, exceptionCaught carries the code
        }
        assertThat(causes)
                .anySatisfy(t -> assertThat(IoFailure.classify(t))
                        .isEqualTo(new IoFailure(Reason.KEEPALIVE_TIMEOUT, Errno.ETIMEDOUT)));
    }

    private static boolean hasEstablished(int serverPort, int clientPort) throws Exception {
        return SocketTable.read().serverSide(serverPort, TcpState.ESTABLISHED).stream()
                .anyMatch(s -> s.remote().getPort() == clientPort);
    }

    private Server startServer(boolean allowHalfClosure, int userTimeoutMillis) throws InterruptedException {
        Server server = new Server();
        ServerBootstrap b = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, allowHalfClosure)
                .childHandler(server);
        if (userTimeoutMillis != Integer.MAX_VALUE) {
            b.childOption(EpollChannelOption.TCP_USER_TIMEOUT, userTimeoutMillis)
                    .childOption(ChannelOption.SO_SNDBUF, 4096)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(8 << 20, 16 << 20));
        }
        server.listener = b.bind(LOOPBACK, 0).sync().channel();
        toClose.add(server.listener);
        return server;
    }

    private Channel connectClient(Server server, boolean linger0, boolean autoRead) throws InterruptedException {
        Bootstrap b = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.AUTO_READ, autoRead)
                .option(ChannelOption.SO_RCVBUF, 4096)
                .handler(new Server());
        if (linger0) {
            b.option(ChannelOption.SO_LINGER, 0);
        }
        Channel ch = b.connect(server.listener.localAddress()).sync().channel();
        toClose.add(ch);
        return ch;
    }

    /** Records what happens to the accepted channel; also used as a draining client handler. */
    private static final class Server extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Channel> child = new CompletableFuture<>();
        final CompletableFuture<Throwable> exceptionCaught = new CompletableFuture<>();
        final CompletableFuture<Void> inputShutdown = new CompletableFuture<>();
        Channel listener;

        @Override
        public boolean isSharable() {
            return true;
        }

        int port() {
            return ((InetSocketAddress) listener.localAddress()).getPort();
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            child.complete(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                inputShutdown.complete(null);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            exceptionCaught.complete(cause);
            ctx.close();
        }
    }
}
