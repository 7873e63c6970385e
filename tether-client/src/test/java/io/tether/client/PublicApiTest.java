package io.tether.client;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SDK's public signatures show only the project's own types and the JDK's (issue 10, OkHttp's
 * rule): no Netty class, no wire record ({@code Frame.*}), nothing from {@code client.internal}.
 */
class PublicApiTest {

    @Test
    void publicSignatures_mentionNoNettyTypeNoWireRecordAndNoInternalType() throws Exception {
        List<String> leaks = new ArrayList<>();
        for (Class<?> c : publicClasses()) {
            List<Type> types = new ArrayList<>();
            for (Method m : c.getDeclaredMethods()) {
                if (exposed(m.getModifiers()) && !m.isSynthetic()) {
                    types.add(m.getGenericReturnType());
                    types.addAll(List.of(m.getGenericParameterTypes()));
                    types.addAll(List.of(m.getGenericExceptionTypes()));
                }
            }
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (exposed(k.getModifiers())) {
                    types.addAll(List.of(k.getGenericParameterTypes()));
                }
            }
            for (Field f : c.getDeclaredFields()) {
                if (exposed(f.getModifiers())) {
                    types.add(f.getGenericType());
                }
            }
            if (c.isRecord()) {
                for (RecordComponent rc : c.getRecordComponents()) {
                    types.add(rc.getGenericType());
                }
            }
            types.add(c.getGenericSuperclass());
            types.addAll(List.of(c.getGenericInterfaces()));
            for (Type t : types) {
                String name = t == null ? "" : t.getTypeName();
                if (name.contains("io.netty.") || name.contains("io.tether.protocol.Frame")
                        || name.contains("io.tether.client.internal.")) {
                    leaks.add(c.getName() + ": " + name);
                }
            }
        }
        assertThat(publicClasses()).as("the scan found the API").contains(TetherClient.class, TetherClient.Builder.class, ClientListener.class);
        assertThat(leaks).isEmpty();
    }

    private static boolean exposed(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    private static List<Class<?>> publicClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path dir = Path.of(TetherClient.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .resolve("io/tether/client");
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String simple = p.getFileName().toString().replace(".class", "");
                Class<?> c = Class.forName("io.tether.client." + simple, false, PublicApiTest.class.getClassLoader());
                if (Modifier.isPublic(c.getModifiers()) && !c.isAnonymousClass()) {
                    out.add(c);
                }
            }
        }
        return out;
    }
}
