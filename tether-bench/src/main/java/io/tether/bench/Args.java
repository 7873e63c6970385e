package io.tether.bench;

import java.util.HashMap;
import java.util.Map;

/** {@code --key value} arguments for the bench main classes. */
final class Args {
    private final Map<String, String> values = new HashMap<>();

    Args(String[] argv) {
        for (int i = 0; i < argv.length; i++) {
            if (!argv[i].startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument: " + argv[i]);
            }
            String k = argv[i].substring(2);
            int eq = k.indexOf('=');
            if (eq >= 0) {
                values.put(k.substring(0, eq), k.substring(eq + 1));
            } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                values.put(k, argv[++i]);
            } else {
                values.put(k, "true");
            }
        }
    }

    String str(String k, String def) {
        return values.getOrDefault(k, def);
    }

    int integer(String k, int def) {
        String v = values.get(k);
        return v == null ? def : Integer.parseInt(v);
    }

    double dbl(String k, double def) {
        String v = values.get(k);
        return v == null ? def : Double.parseDouble(v);
    }
}
