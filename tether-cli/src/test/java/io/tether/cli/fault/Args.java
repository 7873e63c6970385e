package io.tether.cli.fault;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/** {@code --key value} and bare {@code --flag} arguments of the fault programs. */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    private Args() {
    }

    static Args parse(String[] args, Set<String> flagNames) {
        Args a = new Args();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + args[i]);
            }
            String key = args[i].substring(2);
            if (flagNames.contains(key)) {
                a.flags.add(key);
            } else if (i + 1 < args.length) {
                a.values.put(key, args[++i]);
            } else {
                throw new IllegalArgumentException("--" + key + " needs a value");
            }
        }
        return a;
    }

    String str(String key, String dflt) {
        return values.getOrDefault(key, dflt);
    }

    String str(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    int integer(String key, int dflt) {
        String v = values.get(key);
        return v == null ? dflt : Integer.parseInt(v);
    }

    double dbl(String key, double dflt) {
        String v = values.get(key);
        return v == null ? dflt : Double.parseDouble(v);
    }

    boolean has(String key) {
        return values.containsKey(key) || flags.contains(key);
    }
}
