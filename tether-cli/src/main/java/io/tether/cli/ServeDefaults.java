package io.tether.cli;

import io.tether.server.ServerConfig;
import io.tether.server.TetherServer;
import io.tether.transport.KeepAlive;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.util.Map;

/**
 * The defaults of {@code tether serve}'s server options, read from the server builder (the one
 * place they are defined) and written the way the flags take them. {@code --help} shows them and
 * {@code --config FILE} falls back to them. Options that are not server settings (store, files)
 * keep their defaults in {@link ServeCommand}.
 */
final class ServeDefaults implements CommandLine.IDefaultValueProvider {
    private final Map<String, String> defaults;

    ServeDefaults() {
        ServerConfig c = TetherServer.builder().config();
        defaults = Map.ofEntries(
                Map.entry("--port", Integer.toString(c.bindAddress().getPort())),
                Map.entry("--bind", c.bindAddress().getAddress().getHostAddress()),
                Map.entry("--handshake-timeout", KeepAlive.format(c.handshakeTimeout())),
                Map.entry("--heartbeat", KeepAlive.format(c.heartbeats().interval())),
                Map.entry("--min-heartbeat", KeepAlive.format(c.heartbeats().min())),
                Map.entry("--max-heartbeat", KeepAlive.format(c.heartbeats().max())),
                Map.entry("--heartbeat-multiplier", Double.toString(c.heartbeats().multiplier())),
                Map.entry("--quiet", Boolean.toString(c.heartbeats().quiet())),
                Map.entry("--drain", KeepAlive.format(c.drain())),
                Map.entry("--keepalive", c.keepAlive().toString()),
                Map.entry("--backlog", Integer.toString(c.backlog())),
                Map.entry("--tcp-nodelay", Boolean.toString(c.tcpNoDelay())),
                Map.entry("--max-frame", Integer.toString(c.limits().maxFrameLength())),
                Map.entry("--write-buffer-limit", Integer.toString(c.limits().writeBufferLimit())),
                Map.entry("--device-message-rate", Integer.toString(c.deviceLimits().messageRate())),
                Map.entry("--device-byte-rate", Long.toString(c.deviceLimits().byteRate())),
                Map.entry("--write-stall-timeout", KeepAlive.format(c.deviceLimits().writeStallTimeout())),
                Map.entry("--max-commands-per-device", Integer.toString(c.commandLimits().maxOpenPerDevice())),
                Map.entry("--command-ttl", KeepAlive.format(c.commandLimits().defaultTtl())),
                Map.entry("--max-command-ttl", KeepAlive.format(c.commandLimits().maxTtl())),
                Map.entry("--shutdown-timeout", KeepAlive.format(c.shutdown().timeout())),
                Map.entry("--max-connections", Integer.toString(c.admission().maxConnections())),
                Map.entry("--descriptor-reserve", Integer.toString(c.admission().descriptorReserve())),
                Map.entry("--flapping", c.flapping().toString()),
                Map.entry("--api-rate", io.tether.server.ApiRate.DEFAULT.toString()),
                Map.entry("--history-sessions", Integer.toString(c.historySessions())));
    }

    @Override
    public String defaultValue(ArgSpec argSpec) {
        return argSpec instanceof OptionSpec o ? defaults.get(o.longestName()) : null;
    }
}
