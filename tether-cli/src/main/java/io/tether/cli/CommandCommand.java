package io.tether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.tether.server.CommandRequest;
import io.tether.server.CommandState;
import io.tether.transport.KeepAlive;
import io.tether.transport.tls.Tls;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code tether command send|get|list|cancel}: the HTTP API's commands (docs/API.md) from the
 * shell. Each subcommand makes the requests of one action and ends with an exit code a script can
 * branch on:
 *
 * <ul>
 *   <li>0: the command was DELIVERED or SUCCEEDED (or, without {@code --wait}, is accepted and
 *       still QUEUED or SENT); {@code list} listed; {@code cancel} canceled it.</li>
 *   <li>1: the command FAILED, EXPIRED or was CANCELED; {@code cancel} was refused (409: it was
 *       sent or has finished).</li>
 *   <li>2: the request could not be made or was refused: a wrong flag, no key, no connection, or an
 *       error answer of the API (400, 401, 404, 405, 409 queue-full, 413, 429, 503, ...).</li>
 *   <li>3: {@code --wait} ended while the command was still QUEUED or SENT.</li>
 * </ul>
 *
 * An instance serves one invocation; it is not thread-safe.
 */
@Command(name = "command",
        mixinStandardHelpOptions = true,
        description = "Sends a device a command through the HTTP API (tether serve --api) and follows it to its end.",
        subcommands = {CommandCommand.Send.class, CommandCommand.Get.class, CommandCommand.ListCommands.class,
                CommandCommand.Cancel.class})
public final class CommandCommand implements Callable<Integer> {
    /** The command ended well: DELIVERED or SUCCEEDED. */
    static final int EXIT_OK = 0;
    /** The command ended badly: FAILED, EXPIRED, CANCELED; or a cancel was refused. */
    static final int EXIT_NOT_DONE = 1;
    /** Usage, connection or API errors: nothing was learnt about the command. */
    static final int EXIT_USAGE = 2;
    /** {@code --wait} ended with the command still QUEUED or SENT. */
    static final int EXIT_PENDING = 3;

    /** The longest {@code ?wait=} the API grants; longer waits are made of several polls. */
    static final Duration MAX_POLL = Duration.ofSeconds(60);

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("tether command: missing subcommand (send, get, list or cancel)");
        spec.commandLine().usage(err);
        err.flush();
        return EXIT_USAGE;
    }

    /** A mistake on the command line found after parsing; its message names the flag. */
    static final class Usage extends Exception {
        private static final long serialVersionUID = 1L;

        Usage(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The options every subcommand shares: where the API is, the key, TLS trust, output form. The
     * environment is a constructor argument so that tests can give {@code --api-key-env} a variable.
     */
    static final class ApiOptions {
        static final String DEFAULT_API = "http://127.0.0.1:7480";

        private final Function<String, String> environment;

        ApiOptions() {
            this(System::getenv);
        }

        ApiOptions(Function<String, String> environment) {
            this.environment = environment;
        }

        @Option(names = "--api", paramLabel = "URL", defaultValue = DEFAULT_API,
                description = "Where the API listens (tether serve --api), http or https.%nDefault: ${DEFAULT-VALUE}")
        String api;

        @Option(names = "--api-key-env", paramLabel = "VAR",
                description = "Environment variable holding the API key (as tether api-keys add printed it), sent as a Bearer token.")
        String keyEnv;

        @Option(names = "--api-key-file", paramLabel = "FILE",
                description = "File holding the API key (surrounding whitespace ignored); instead of --api-key-env.")
        Path keyFile;

        @Option(names = "--cacert", paramLabel = "FILE",
                description = "With https://: trust the PEM certificates in FILE (a private CA, or the API's self-signed certificate) instead of the JDK's trust store.")
        Path cacert;

        @Option(names = "--timeout", paramLabel = "D", defaultValue = "10s", converter = DurationConverter.class,
                description = "Bound on connecting and on each answer, beyond the long poll of --wait (default: ${DEFAULT-VALUE}).")
        Duration timeout;

        @Option(names = "--json", description = "Print the API's JSON (one line) instead of text for people.")
        boolean json;

        boolean keyGiven() {
            return keyEnv != null || keyFile != null;
        }

        /** The client for these options: the URL, key and trust checked, nothing sent yet. */
        CommandApi connect() throws Usage {
            String base = base(api);
            if (timeout.isZero()) {
                throw new Usage("--timeout 0 (expected: > 0, e.g. 10s)");
            }
            SSLContext tls = null;
            if (cacert != null) {
                if (!base.startsWith("https:")) {
                    throw new Usage("--cacert applies to an https:// --api only (--api is " + base + ")");
                }
                tls = trusting(cacert);
            }
            return new CommandApi(base, key(), tls, timeout);
        }

        private static String base(String url) throws Usage {
            URI uri;
            try {
                uri = new URI(url.strip());
            } catch (URISyntaxException e) {
                throw new Usage("--api '" + url + "' is not a URL (" + e.getReason() + "; expected e.g. " + DEFAULT_API + ")");
            }
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new Usage("--api '" + url + "': expected an http:// or https:// URL, e.g. " + DEFAULT_API);
            }
            if (uri.getHost() == null) {
                throw new Usage("--api '" + url + "': no host (expected e.g. " + DEFAULT_API + ")");
            }
            if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
                throw new Usage("--api '" + url + "': expected scheme, host, port and at most a path prefix"
                        + " (no user, query or fragment), e.g. " + DEFAULT_API);
            }
            String s = uri.toString();
            while (s.endsWith("/")) {
                s = s.substring(0, s.length() - 1);
            }
            if (s.endsWith("/v1")) {
                throw new Usage("--api '" + url + "': give the API's root, without /v1 (e.g. " + DEFAULT_API + ")");
            }
            return s;
        }

        /** The key, never printed: messages name the variable or file it came from. */
        private String key() throws Usage {
            if (keyEnv != null && keyFile != null) {
                throw new Usage("--api-key-env and --api-key-file both given (expected: one of them)");
            }
            String key;
            String from;
            if (keyEnv != null) {
                from = "--api-key-env " + keyEnv;
                key = environment.apply(keyEnv);
                if (key == null || key.isBlank()) {
                    throw new Usage(from + ": environment variable " + keyEnv + " is " + (key == null ? "not set" : "empty")
                            + " (export " + keyEnv + "=<the key tether api-keys add printed> first)");
                }
            } else if (keyFile != null) {
                from = "--api-key-file " + keyFile;
                try {
                    key = Files.readString(keyFile, StandardCharsets.UTF_8);
                } catch (NoSuchFileException e) {
                    throw new Usage(from + ": no such file");
                } catch (AccessDeniedException e) {
                    throw new Usage(from + ": permission denied");
                } catch (IOException e) {
                    throw new Usage(from + ": cannot read it (" + e.getMessage() + ")");
                }
                if (key.isBlank()) {
                    throw new Usage(from + ": the file is empty (expected: the key tether api-keys add printed)");
                }
            } else {
                return null;
            }
            key = key.strip();
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c < 0x21 || c > 0x7E) {
                    throw new Usage(from + ": the key has a space, line break or non-ASCII character at position " + i
                            + " (expected: the key exactly as tether api-keys add printed it)");
                }
            }
            return key;
        }

        private static SSLContext trusting(Path pem) throws Usage {
            SslContext netty;
            try {
                netty = Tls.clientContext(pem);
            } catch (UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
                throw new Usage("--cacert " + pem + ": " + e.getMessage());
            }
            // Tls builds JDK-provider contexts: the JDK SSLContext inside carries the trust the
            // JDK's HttpClient needs, loaded with the same checks and messages as sim --tls-ca.
            return ((JdkSslContext) netty).context();
        }
    }

    /**
     * What the subcommands share: run, and turn a {@link Usage} or {@link CommandApi.Failure} into
     * one line on stderr and an exit code.
     */
    abstract static class Action implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ApiOptions api;

        @Override
        public final Integer call() {
            try {
                return run(spec.commandLine().getOut());
            } catch (Usage e) {
                return fail(e.getMessage(), EXIT_USAGE);
            } catch (CommandApi.Failure e) {
                String hint = e.status == 401 && !api.keyGiven()
                        ? " (no key was sent: give it with --api-key-env VAR or --api-key-file FILE)" : "";
                return fail(e.getMessage() + hint, exitCode(e));
            } finally {
                spec.commandLine().getOut().flush();
            }
        }

        abstract int run(PrintWriter out) throws Usage, CommandApi.Failure;

        /** The exit code of a request that failed; 2 unless the action knows better. */
        int exitCode(CommandApi.Failure failure) {
            return EXIT_USAGE;
        }

        int fail(String message, int code) {
            PrintWriter err = spec.commandLine().getErr();
            err.println(spec.qualifiedName() + ": " + message);
            err.flush();
            return code;
        }

        /** Prints one command: its JSON with --json, else its line. */
        void print(PrintWriter out, JsonNode command) {
            out.println(api.json ? CommandView.json(command) : CommandView.line(command));
        }

        /**
         * The exit code of a command in {@code state}; {@code wait} is how long the user asked to
         * wait for its end, or null (with a wait, QUEUED and SENT are "still pending").
         */
        int exitCode(JsonNode command, Duration wait) {
            boolean waited = wait != null && !wait.isZero();
            String state = command.path("state").asText();
            return switch (state) {
                case "SUCCEEDED", "DELIVERED" -> EXIT_OK;
                case "FAILED", "EXPIRED", "CANCELED" -> EXIT_NOT_DONE;
                case "QUEUED", "SENT" -> {
                    if (!waited) {
                        yield EXIT_OK;
                    }
                    fail("still " + state + " when --wait " + KeepAlive.format(wait) + " ended", EXIT_PENDING);
                    yield EXIT_PENDING;
                }
                default -> fail("the API answered an unknown state '" + state + "'", EXIT_USAGE);
            };
        }

        /**
         * Long-polls command {@code id} until it is in a final state or {@code wait} has passed, in
         * polls of at most {@link #MAX_POLL}, and returns it as last seen; {@code command} is how it
         * was seen before, or null (then at least one poll is made). A 429 or 503 answer (the API's
         * "try again later") is waited out when its Retry-After fits in what is left of the wait.
         */
        JsonNode follow(CommandApi client, String id, JsonNode command, Duration wait) throws CommandApi.Failure {
            String path = "/v1/commands/" + CommandApi.segment(id) + "?wait=";
            long deadline = System.nanoTime() + wait.toNanos();
            while (command == null || !isFinal(command)) {
                long leftMs = -Math.floorDiv(System.nanoTime() - deadline, 1_000_000L); // the first poll asks for all of --wait
                if (leftMs <= 0) {
                    if (command != null) {
                        break;
                    }
                    leftMs = 1;
                }
                Duration poll = Duration.ofMillis(Math.min(leftMs, MAX_POLL.toMillis()));
                long start = System.nanoTime();
                try {
                    command = client.get(path + KeepAlive.format(poll), poll).body();
                } catch (CommandApi.Failure e) {
                    Duration pause = e.retryAfter == null ? Duration.ofSeconds(1) : e.retryAfter;
                    if (!e.transientRefusal() || pause.toMillis() >= (deadline - System.nanoTime()) / 1_000_000) {
                        throw e;
                    }
                    spec.commandLine().getErr().println(spec.qualifiedName() + ": " + e.getMessage()
                            + "; polling again in " + KeepAlive.format(pause));
                    sleep(pause.toMillis());
                    continue;
                }
                // A server (or a proxy) that answers polls at once must not turn this into a busy loop.
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                if (!isFinal(command) && tookMs < 100) {
                    sleep(100 - tookMs);
                }
            }
            return command;
        }

        private static boolean isFinal(JsonNode command) {
            try {
                return CommandState.valueOf(command.path("state").asText()).isFinal();
            } catch (IllegalArgumentException e) {
                return true; // unknown to this version: no use waiting for it
            }
        }

        private static void sleep(long ms) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        static void checkDevice(String device) throws Usage {
            try {
                io.tether.protocol.Protocol.checkDeviceId(device);
            } catch (IllegalArgumentException e) {
                throw new Usage(e.getMessage().replaceFirst("^deviceId: ", "--device '" + device + "': "));
            }
        }

        static void checkCommandId(String id) throws Usage {
            if (id.isEmpty() || !id.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
                throw new Usage("command id '" + id + "': expected the id send printed (26 characters, e.g. "
                        + "01JD8X6Y0Z3K5V7W9Q1R2S3T4U)");
            }
        }
    }

    @Command(name = "send", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                "Queues a command for a device and, with --wait, follows it until it ends.",
                "Without --wait it prints the new command's id (for scripts: id=$(tether command send ...)); "
                        + "with --wait, one line: id, device, seq, state, the device's result, the delivery time.",
                "The same --idempotency-key for the same device gives back the first command instead of a copy."},
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
                "0:DELIVERED or SUCCEEDED (without --wait: accepted, QUEUED or SENT)",
                "1:FAILED, EXPIRED or CANCELED",
                "2:usage, connection or API error (problem printed on stderr)",
                "3:still QUEUED or SENT when --wait ended"})
    static final class Send extends Action {
        @Option(names = "--device", required = true, paramLabel = "ID", description = "The device's id.")
        String device;

        @ArgGroup(multiplicity = "1")
        Payload payload;

        static final class Payload {
            @Option(names = "--text", paramLabel = "S", description = "The payload: S as UTF-8.")
            String text;

            @Option(names = "--hex", paramLabel = "H", description = "The payload: hex digits, e.g. 0a1b2c (spaces ignored).")
            String hex;

            @Option(names = "--file", paramLabel = "F", description = "The payload: the bytes of file F.")
            Path file;
        }

        @Option(names = "--ttl", paramLabel = "D", converter = DurationConverter.class,
                description = "How long it may wait for delivery before it EXPIRES (default: the server's, 1h).")
        Duration ttl;

        @Option(names = "--idempotency-key", paramLabel = "K",
                description = "1 to 128 printable ASCII characters; a retry with the same K does not queue a second command.")
        String idempotencyKey;

        @Option(names = "--wait", paramLabel = "D", converter = DurationConverter.class,
                description = "Wait up to D for a final state (SUCCEEDED, FAILED, EXPIRED, CANCELED), long-polling the API.")
        Duration wait;

        @Override
        int run(PrintWriter out) throws Usage, CommandApi.Failure {
            ObjectNode body = CommandApi.JSON.createObjectNode();
            byte[] bytes;
            if (payload.text != null) {
                body.put("text", payload.text);
                bytes = payload.text.getBytes(StandardCharsets.UTF_8);
            } else {
                bytes = payload.hex != null ? hex(payload.hex) : read(payload.file);
                body.put("payload", Base64.getEncoder().encodeToString(bytes));
            }
            if (ttl != null) {
                if (ttl.isZero()) {
                    throw new Usage("--ttl 0 (expected: > 0, e.g. 30s or 1h)");
                }
                body.put("ttl", KeepAlive.format(ttl.truncatedTo(java.time.temporal.ChronoUnit.MILLIS)));
            }
            if (idempotencyKey != null) {
                body.put("idempotencyKey", idempotencyKey);
            }
            checkDevice(device);
            try {
                // The server's own checks, to refuse here what it would refuse there.
                new CommandRequest(device, bytes, null, idempotencyKey);
            } catch (IllegalArgumentException e) {
                throw new Usage(e.getMessage().replaceFirst("^idempotencyKey: ", "--idempotency-key: "));
            }
            CommandApi client = api.connect();
            JsonNode command = client.post("/v1/devices/" + CommandApi.segment(device) + "/commands", body).body();
            boolean waiting = wait != null && !wait.isZero();
            if (waiting) {
                command = follow(client, command.path("id").asText(), command, wait);
            }
            if (api.json || waiting) {
                print(out, command);
            } else {
                out.println(command.path("id").asText());
            }
            return exitCode(command, wait);
        }

        private static byte[] hex(String text) throws Usage {
            String digits = text.replaceAll("\\s+", "");
            for (int i = 0; i < digits.length(); i++) {
                if (Character.digit(digits.charAt(i), 16) < 0) {
                    throw new Usage("--hex '" + text + "': '" + digits.charAt(i) + "' is not a hex digit"
                            + " (expected: pairs of 0-9 a-f, e.g. 6f6e)");
                }
            }
            if (digits.length() % 2 != 0) {
                throw new Usage("--hex '" + text + "': " + digits.length()
                        + " hex digits, an odd number (expected: two per byte, e.g. 0a not a)");
            }
            return HexFormat.of().parseHex(digits);
        }

        private static byte[] read(Path file) throws Usage {
            try {
                return Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                throw new Usage("--file " + file + ": no such file");
            } catch (AccessDeniedException e) {
                throw new Usage("--file " + file + ": permission denied");
            } catch (IOException | OutOfMemoryError e) {
                throw new Usage("--file " + file + ": cannot read it (" + e.getMessage() + ")");
            }
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Prints a command as it is now, or, with --wait, once it has ended.",
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
                "0:DELIVERED or SUCCEEDED (without --wait: also QUEUED or SENT)",
                "1:FAILED, EXPIRED or CANCELED",
                "2:usage, connection or API error (404: no such command)",
                "3:still QUEUED or SENT when --wait ended"})
    static final class Get extends Action {
        @Parameters(paramLabel = "ID", description = "The command's id, as send printed it.")
        String id;

        @Option(names = "--wait", paramLabel = "D", converter = DurationConverter.class,
                description = "Wait up to D for a final state, long-polling the API.")
        Duration wait;

        @Override
        int run(PrintWriter out) throws Usage, CommandApi.Failure {
            checkCommandId(id);
            CommandApi client = api.connect();
            boolean waiting = wait != null && !wait.isZero();
            JsonNode command = waiting ? follow(client, id, null, wait)
                    : client.get("/v1/commands/" + CommandApi.segment(id), Duration.ZERO).body();
            print(out, command);
            return exitCode(command, wait);
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Lists a device's commands, oldest first: id, seq, state, created, attempts, detail.",
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
                "0:listed (also when there are none)",
                "2:usage, connection or API error"})
    static final class ListCommands extends Action {
        @Option(names = "--device", required = true, paramLabel = "ID", description = "The device's id.")
        String device;

        @Option(names = "--state", paramLabel = "S", split = ",",
                description = "Only commands in these states, e.g. QUEUED,SENT (${COMPLETION-CANDIDATES}).")
        List<CommandState> states;

        @Option(names = "--limit", paramLabel = "N", description = "At most N commands, 1 to 1000 (default: the server's, 100).")
        Integer limit;

        @Override
        int run(PrintWriter out) throws Usage, CommandApi.Failure {
            checkDevice(device);
            if (limit != null && (limit < 1 || limit > 1000)) {
                throw new Usage("--limit " + limit + " (expected: 1 to 1000)");
            }
            StringBuilder query = new StringBuilder();
            if (states != null && !states.isEmpty()) {
                query.append("state=").append(states.stream().distinct().map(Enum::name).collect(Collectors.joining(",")));
            }
            if (limit != null) {
                query.append(query.length() == 0 ? "" : "&").append("limit=").append(limit);
            }
            JsonNode answer = api.connect().get("/v1/devices/" + CommandApi.segment(device) + "/commands"
                    + (query.length() == 0 ? "" : "?" + query), Duration.ZERO).body();
            JsonNode commands = answer.path("commands");
            if (!commands.isArray()) {
                throw new CommandApi.Failure("the API's answer has no \"commands\" list (is --api the Tether API?)");
            }
            out.print(api.json ? CommandView.json(answer) + System.lineSeparator() : CommandView.table(commands));
            return EXIT_OK;
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true, sortOptions = false,
            description = "Cancels a command that is still QUEUED: it will never be sent.",
            exitCodeListHeading = "%nExit codes:%n", exitCodeList = {
                "0:CANCELED",
                "1:refused: it was sent or has finished (409, the reason printed on stderr)",
                "2:usage, connection or API error (404: no such command)"})
    static final class Cancel extends Action {
        @Parameters(paramLabel = "ID", description = "The command's id, as send printed it.")
        String id;

        @Override
        int run(PrintWriter out) throws Usage, CommandApi.Failure {
            checkCommandId(id);
            JsonNode command = api.connect().delete("/v1/commands/" + CommandApi.segment(id)).body();
            print(out, command);
            return command.path("state").asText().equals("CANCELED") ? EXIT_OK : EXIT_NOT_DONE;
        }

        @Override
        int exitCode(CommandApi.Failure failure) {
            return failure.status == 409 ? EXIT_NOT_DONE : EXIT_USAGE;
        }
    }
}
