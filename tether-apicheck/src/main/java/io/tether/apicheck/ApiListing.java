package io.tether.apicheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A module's public API as text: one line per public type outside {@code *.internal*} packages and
 * per public or protected constructor, method and field it declares, sorted. Checked in as
 * {@code api/MODULE.api} and compared by each module's {@code ApiListingTest}, so an API change
 * shows up as a diff in review (as OkHttp's and Kotlin's binary-compatibility validators do).
 *
 * <p>Types are loaded without initialization by the caller's class loader, so the classes directory
 * must be on the test class path (it is, for the module's own tests).
 */
public final class ApiListing {
    /** System property that rewrites the listing instead of comparing: {@code -Dapi.update=true}. */
    public static final String UPDATE_PROPERTY = "api.update";

    private ApiListing() {
    }

    /**
     * The listing of the classes under {@code classesDir}, sorted.
     *
     * @throws UncheckedIOException if the directory cannot be read
     * @throws IllegalStateException if a class cannot be loaded
     */
    public static List<String> of(Path classesDir) {
        TreeSet<String> lines = new TreeSet<>();
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        for (String name : classNames(classesDir)) {
            Class<?> c;
            try {
                c = Class.forName(name, false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                throw new IllegalStateException("cannot load " + name + " from " + classesDir + ": " + e, e);
            }
            if (!isApi(c)) {
                continue;
            }
            lines.add(typeLine(c));
            for (Constructor<?> k : c.getDeclaredConstructors()) {
                if (visible(k) && !k.isSynthetic()) {
                    lines.add(c.getName() + ": " + k.toGenericString());
                }
            }
            for (Method m : c.getDeclaredMethods()) {
                if (visible(m) && !m.isSynthetic() && !m.isBridge()) {
                    lines.add(c.getName() + ": " + m.toGenericString());
                }
            }
            for (Field f : c.getDeclaredFields()) {
                if (visible(f) && !f.isSynthetic()) {
                    lines.add(c.getName() + ": " + f.toGenericString());
                }
            }
        }
        return new ArrayList<>(lines);
    }

    /**
     * Compares the listing of {@code classesDir} with the file {@code listing}; with
     * {@code -Dapi.update=true}, writes it instead.
     *
     * @param module the module's directory name, for the hint in the message
     * @throws AssertionError if a public signature names a type of an internal package, or, with
     *         the added and removed lines and how to regenerate, if the listings differ
     */
    public static void verify(String module, Path classesDir, Path listing) {
        verify(module, classesDir, listing, Boolean.getBoolean(UPDATE_PROPERTY));
    }

    static void verify(String module, Path classesDir, Path listing, boolean update) {
        check(module, of(classesDir), listing, update);
    }

    static void check(String module, List<String> actual, Path listing, boolean update) {
        List<String> leaks = actual.stream().filter(l -> l.contains(".internal.")).toList();
        if (!leaks.isEmpty()) {
            throw new AssertionError("the public API of " + module + " exposes internal types (an API a user calls "
                    + "must show only public types):\n  " + String.join("\n  ", leaks));
        }
        try {
            if (update) {
                Files.createDirectories(listing.toAbsolutePath().getParent());
                Files.write(listing, actual, StandardCharsets.UTF_8);
                return;
            }
            List<String> expected = Files.exists(listing) ? Files.readAllLines(listing, StandardCharsets.UTF_8) : List.of();
            if (expected.equals(actual)) {
                return;
            }
            TreeSet<String> removed = new TreeSet<>(expected);
            removed.removeAll(actual);
            TreeSet<String> added = new TreeSet<>(actual);
            added.removeAll(expected);
            StringBuilder b = new StringBuilder("the public API of " + module + " differs from " + listing + ":\n");
            removed.forEach(l -> b.append("- ").append(l).append('\n'));
            added.forEach(l -> b.append("+ ").append(l).append('\n'));
            b.append("If the change is intended, regenerate the listing and commit it:\n")
                    .append("  mvn -B -o -pl ").append(module).append(" -am test -Dtest=ApiListingTest")
                    .append(" -Dsurefire.failIfNoSpecifiedTests=false -D").append(UPDATE_PROPERTY).append("=true");
            throw new AssertionError(b.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> classNames(Path classesDir) {
        try (Stream<Path> files = Files.walk(classesDir)) {
            return files.map(p -> classesDir.relativize(p).toString())
                    .filter(p -> p.endsWith(".class") && !p.endsWith("module-info.class") && !p.endsWith("package-info.class"))
                    .map(p -> p.substring(0, p.length() - ".class".length()).replace(java.io.File.separatorChar, '.'))
                    .sorted()
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + classesDir, e);
        }
    }

    /** Public (or protected nested) types, in public enclosing types, outside internal packages. */
    static boolean isApi(Class<?> c) {
        if (c.isSynthetic() || c.isAnonymousClass() || c.isLocalClass()) {
            return false;
        }
        if (Arrays.asList(c.getPackageName().split("\\.")).contains("internal")) {
            return false;
        }
        for (Class<?> k = c; k != null; k = k.getDeclaringClass()) {
            int m = k.getModifiers();
            if (!Modifier.isPublic(m) && !(k.getDeclaringClass() != null && Modifier.isProtected(m))) {
                return false;
            }
        }
        return true;
    }

    private static boolean visible(Member m) {
        return Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers());
    }

    private static String typeLine(Class<?> c) {
        StringBuilder b = new StringBuilder();
        int mods = c.getModifiers();
        if (c.isInterface()) {
            mods &= ~(Modifier.ABSTRACT | Modifier.INTERFACE);
        }
        String m = Modifier.toString(mods);
        b.append(c.getName()).append(": ").append(m).append(m.isEmpty() ? "" : " ")
                .append(c.isAnnotation() ? "@interface" : c.isInterface() ? "interface" : c.isEnum() ? "enum"
                        : c.isRecord() ? "record" : "class");
        if (c.getSuperclass() != null && c.getSuperclass() != Object.class && !c.isEnum() && !c.isRecord()) {
            b.append(" extends ").append(c.getGenericSuperclass().getTypeName());
        }
        if (c.getGenericInterfaces().length > 0) {
            b.append(c.isInterface() ? " extends " : " implements ").append(Arrays.stream(c.getGenericInterfaces())
                    .map(java.lang.reflect.Type::getTypeName).collect(Collectors.joining(", ")));
        }
        return b.toString();
    }
}
