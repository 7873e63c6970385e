package io.tether.transport.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;

import javax.net.ssl.SSLException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TLS on the device port: a server {@link SslContext} from PEM files, and the {@link SslHandler}
 * that goes first in each connection's pipeline.
 *
 * <p><b>Provider.</b> The JDK's own TLS implementation ({@link SslProvider#JDK}): nothing native to
 * ship, and it stays in step with the JDK's security updates. OpenSSL through
 * {@code netty-tcnative-boringssl-static} is cheaper per handshake; it is the switch to make if
 * handshake CPU ever matters (reconnect storms of many thousands of devices), see
 * docs/OPERATIONS.md, "TLS".
 *
 * <p><b>Protocols.</b> TLS 1.3 and TLS 1.2 only; older versions are refused in the handshake.
 *
 * <p><b>Deadline.</b> The TLS handshake counts inside the server's handshake timeout, which starts
 * at TCP accept; {@link SslHandler}'s own handshake timer is off for such connections, so a stalled
 * TLS handshake ends the way every other stalled handshake ends (HANDSHAKE_TIMEOUT).
 *
 * <p>Thread-safe: a context is immutable and shared by all connections.
 */
public final class Tls {
    /** The protocol versions offered and accepted, newest first. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    private static final Pattern PEM_BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);

    private Tls() {
    }

    /**
     * A server context from a PEM certificate chain and a PEM PKCS#8 private key, using the JDK
     * provider and TLS 1.2/1.3 only. Both files are read once, here: to use a renewed certificate,
     * build a new context and restart the server.
     *
     * @param certChainPem the server's certificate first, then any intermediates
     *                     ({@code -----BEGIN CERTIFICATE-----} blocks)
     * @param keyPem       the certificate's private key, unencrypted PKCS#8
     *                     ({@code -----BEGIN PRIVATE KEY-----}). A PKCS#1 ({@code BEGIN RSA PRIVATE
     *                     KEY}), SEC1 ({@code BEGIN EC PRIVATE KEY}) or encrypted key is refused with
     *                     the {@code openssl pkcs8 -topk8 -nocrypt} command that converts it.
     * @throws UncheckedIOException     if a file is missing or unreadable (the message names it)
     * @throws IllegalArgumentException if a file does not hold what it should (no certificate, a key
     *                                  in another format, a key that does not belong to the
     *                                  certificate), with what was found and what was expected
     */
    public static SslContext serverContext(Path certChainPem, Path keyPem) {
        X509Certificate[] chain = readCertificates(certChainPem);
        PrivateKey key = readPrivateKey(keyPem);
        checkKeyMatches(key, chain[0], certChainPem, keyPem);
        try {
            return SslContextBuilder.forServer(key, chain)
                    .sslProvider(SslProvider.JDK)
                    .protocols(PROTOCOLS)
                    .build();
        } catch (SSLException | RuntimeException e) {
            throw new IllegalArgumentException("TLS: cannot build a server context from " + certChainPem + " and "
                    + keyPem + ": " + e.getMessage(), e);
        }
    }

    /**
     * The handler to put first in a connection's pipeline.
     *
     * @param context          a server context, e.g. from {@link #serverContext}
     * @param channel          the accepted channel
     * @param handshakeTimeout the TLS handshake's own timeout; {@link Duration#ZERO} = none. Zero is
     *                         right for a connection with a handshake deadline of its own (from TCP
     *                         accept to HELLO, which then bounds the TLS handshake too): a second
     *                         timer would close a stalled connection first, by another path, and the
     *                         close would not be recorded as HANDSHAKE_TIMEOUT.
     */
    public static SslHandler handler(SslContext context, Channel channel, Duration handshakeTimeout) {
        SslHandler handler = context.newHandler(channel.alloc());
        handler.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        return handler;
    }

    // ---- PEM --------------------------------------------------------------------------------

    private static X509Certificate[] readCertificates(Path file) {
        String text = readText(file, "certificate");
        List<PemBlock> blocks = blocks(text);
        List<PemBlock> certs = blocks.stream().filter(b -> b.type.equals("CERTIFICATE")).toList();
        if (certs.isEmpty()) {
            String found = blocks.isEmpty() ? "no PEM block" : "found -----BEGIN " + blocks.get(0).type + "-----";
            String hint = blocks.stream().anyMatch(b -> b.type.endsWith("PRIVATE KEY"))
                    ? " (is this the key file? certificate and key may be swapped)" : "";
            throw new IllegalArgumentException("TLS certificate file " + file + ": " + found + hint
                    + " (expected: one or more -----BEGIN CERTIFICATE----- blocks, the server's certificate first)");
        }
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            X509Certificate[] chain = new X509Certificate[certs.size()];
            for (int i = 0; i < chain.length; i++) {
                chain[i] = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(certs.get(i).der));
            }
            return chain;
        } catch (CertificateException e) {
            throw new IllegalArgumentException("TLS certificate file " + file + ": not a valid X.509 certificate ("
                    + e.getMessage() + ")", e);
        }
    }

    private static PrivateKey readPrivateKey(Path file) {
        String text = readText(file, "key");
        List<PemBlock> blocks = blocks(text);
        PemBlock pkcs8 = blocks.stream().filter(b -> b.type.endsWith("PRIVATE KEY")).findFirst().orElse(null);
        if (pkcs8 == null) {
            String found = blocks.isEmpty() ? "no PEM block" : "found -----BEGIN " + blocks.get(0).type + "-----";
            String hint = blocks.stream().anyMatch(b -> b.type.equals("CERTIFICATE"))
                    ? " (is this the certificate file? certificate and key may be swapped)" : "";
            throw new IllegalArgumentException("TLS key file " + file + ": " + found + hint
                    + " (expected: -----BEGIN PRIVATE KEY-----, unencrypted PKCS#8)");
        }
        switch (pkcs8.type) {
            case "PRIVATE KEY":
                break;
            case "ENCRYPTED PRIVATE KEY":
                throw new IllegalArgumentException("TLS key file " + file + ": found -----BEGIN ENCRYPTED PRIVATE KEY-----"
                        + " (expected: unencrypted PKCS#8, -----BEGIN PRIVATE KEY-----); " + convertCommand(file)
                        + " (it asks for the passphrase) and protect the file by its permissions instead");
            default:
                // "RSA PRIVATE KEY" (PKCS#1), "EC PRIVATE KEY" (SEC1): what older tools write.
                throw new IllegalArgumentException("TLS key file " + file + ": found -----BEGIN " + pkcs8.type
                        + "----- (expected: PKCS#8, -----BEGIN PRIVATE KEY-----); " + convertCommand(file));
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8.der);
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519", "Ed448", "RSASSA-PSS"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // Not this algorithm; PKCS#8 names it inside, but the JDK only parses per factory.
            }
        }
        throw new IllegalArgumentException("TLS key file " + file
                + ": not a readable PKCS#8 key (expected: an unencrypted EC, RSA or Ed25519 key)");
    }

    /**
     * A key that does not belong to the certificate would only show up later, as a handshake
     * failure on every device; signing with the key and verifying with the certificate catches
     * it at start.
     */
    private static void checkKeyMatches(PrivateKey key, X509Certificate cert, Path certFile, Path keyFile) {
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "Ed448", "EdDSA" -> key.getAlgorithm();
            default -> null;
        };
        if (algorithm == null) {
            return; // unusual key type: the handshake will tell
        }
        byte[] probe = "tether tls key check".getBytes(StandardCharsets.US_ASCII);
        boolean matches;
        try {
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(probe);
            matches = verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            matches = false;
        }
        if (!matches) {
            throw new IllegalArgumentException("TLS key file " + keyFile + " does not belong to the certificate "
                    + cert.getSubjectX500Principal() + " in " + certFile
                    + " (expected: the private key the certificate was issued for)");
        }
    }

    private static String convertCommand(Path key) {
        return "convert it with: openssl pkcs8 -topk8 -nocrypt -in " + key + " -out " + key + ".pkcs8";
    }

    private static String readText(Path file, String what) {
        try {
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": no such file", e);
        } catch (AccessDeniedException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": permission denied", e);
        } catch (MalformedInputException e) {
            throw new IllegalArgumentException("TLS " + what + " file " + file
                    + ": binary content (expected: PEM text; convert DER with openssl x509/pkey -inform DER)", e);
        } catch (IOException e) {
            throw new UncheckedIOException("TLS " + what + " file " + file + ": cannot be read (" + e + ")", e);
        }
    }

    private record PemBlock(String type, byte[] der) {
    }

    private static List<PemBlock> blocks(String text) {
        Matcher m = PEM_BLOCK.matcher(text);
        List<PemBlock> out = new ArrayList<>();
        while (m.find()) {
            byte[] der;
            try {
                der = Base64.getMimeDecoder().decode(m.group(2));
            } catch (IllegalArgumentException e) {
                der = new byte[0];
            }
            out.add(new PemBlock(m.group(1), der));
        }
        return out;
    }
}
