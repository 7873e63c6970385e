package io.tether.server.internal.commands;

import io.tether.server.Command;
import io.tether.server.CommandState;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

/** The ledger's journal for {@code --store memory}: nothing survives a restart. */
public final class MemoryCommandJournal implements CommandJournal {
    private final Map<String, Command> byId = new ConcurrentHashMap<>();
    private final Map<String, NavigableMap<Long, String>> byDevice = new ConcurrentHashMap<>();
    private final Map<String, String> byKey = new ConcurrentHashMap<>();

    @Override
    public void write(Command c, boolean created, Consumer<Throwable> done) {
        byId.put(c.id(), c);
        if (created) {
            byDevice.computeIfAbsent(c.deviceId(), d -> new ConcurrentSkipListMap<>()).put(c.seq(), c.id());
            if (c.idempotencyKey() != null) {
                byKey.put(c.deviceId() + '\0' + c.idempotencyKey(), c.id());
            }
        }
        done.accept(null);
    }

    @Override
    public void load(Consumer<Command> each) {
        // nothing survives a restart
    }

    @Override
    public Command read(String id) {
        return byId.get(id);
    }

    @Override
    public Command read(String deviceId, long seq) {
        NavigableMap<Long, String> seqs = byDevice.get(deviceId);
        String id = seqs == null ? null : seqs.get(seq);
        return id == null ? null : byId.get(id);
    }

    @Override
    public Command byKey(String deviceId, String key) {
        String id = byKey.get(deviceId + '\0' + key);
        return id == null ? null : byId.get(id);
    }

    @Override
    public List<Command> list(String deviceId, Set<CommandState> states, int limit) {
        List<Command> out = new ArrayList<>();
        NavigableMap<Long, String> seqs = byDevice.get(deviceId);
        if (seqs == null) {
            return out;
        }
        for (String id : seqs.values()) {
            Command c = byId.get(id);
            if (c != null && (states.isEmpty() || states.contains(c.state()))) {
                out.add(c);
                if (out.size() >= limit) {
                    break;
                }
            }
        }
        return out;
    }

    @Override
    public boolean durable() {
        return false;
    }

    @Override
    public void close() {
    }
}
