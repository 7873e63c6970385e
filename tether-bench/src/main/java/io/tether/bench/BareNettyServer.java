package io.tether.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * The JVM floor: a bare Netty 4.2 epoll server with nothing per connection but Netty's own
 * channel and pipeline. {@code --mode echo} echoes bytes (accept-and-hold + echo);
 * {@code --mode mqtt} (default) answers the four MQTT 3.1.1 packets the load generator sends
 * (CONNECT, PINGREQ, PUBLISH QoS 1, DISCONNECT) statelessly: no session table, no keep-alive
 * deadline, no takeover. Same thread layout as Tether: 1 acceptor, --workers I/O threads
 * (default: cores).
 *
 * <p>Usage: {@code java -Xms64m -Xss256k -XX:+UseG1GC -cp tether-bench.jar io.tether.bench.BareNettyServer --port P [--mode mqtt|echo]}
 */
public final class BareNettyServer {

    public static void main(String[] argv) throws Exception {
        Args a = new Args(argv);
        int port = a.integer("port", 1883);
        boolean echo = a.str("mode", "mqtt").equals("echo");
        int workers = a.integer("workers", Runtime.getRuntime().availableProcessors());
        EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        EventLoopGroup io = new MultiThreadIoEventLoopGroup(workers, EpollIoHandler.newFactory());
        ChannelHandler echoHandler = new Echo();
        Channel server = new ServerBootstrap().group(boss, io).channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, a.integer("backlog", 4096))
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(echo ? echoHandler : new MqttResponder());
                    }
                })
                .bind(a.str("bind", "127.0.0.1"), port).sync().channel();
        System.out.println("{\"listening\":" + port + "}");
        System.out.flush();
        server.closeFuture().sync();
    }

    @ChannelHandler.Sharable
    static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Whole MQTT packets in, fixed responses out; the cumulation buffer is released when empty. */
    static final class MqttResponder extends ByteToMessageDecoder {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
            while (true) {
                int start = in.readerIndex();
                int len = Mqtt.remainingLength(in, start);
                if (len < 0) {
                    return;
                }
                int header = Mqtt.headerLength(len);
                if (in.readableBytes() < header + len) {
                    return;
                }
                int type = in.getUnsignedByte(start) >> 4;
                int body = start + header;
                switch (type) {
                    case Mqtt.CONNECT -> ctx.write(ctx.alloc().buffer(4).writeBytes(Mqtt.CONNACK_OK));
                    case Mqtt.PINGREQ -> ctx.write(ctx.alloc().buffer(2).writeBytes(Mqtt.PINGRESP_BYTES));
                    case Mqtt.PUBLISH -> {
                        int qos = (in.getUnsignedByte(start) >> 1) & 3;
                        if (qos == 1) {
                            int topicLen = in.getUnsignedShort(body);
                            int pid = in.getUnsignedShort(body + 2 + topicLen);
                            ctx.write(Mqtt.puback(ctx.alloc(), pid));
                        }
                    }
                    case Mqtt.DISCONNECT -> ctx.close();
                    default -> { }
                }
                in.readerIndex(start + header + len);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
            super.channelReadComplete(ctx);
            ctx.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
