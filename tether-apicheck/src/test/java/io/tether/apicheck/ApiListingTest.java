package io.tether.apicheck;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The listing names what a user can call, and a changed API fails with a diff and the fix. */
public class ApiListingTest {
    private static final Path CLASSES = Path.of("target/test-classes");

    /** A public fixture type; its nested internal-ish members decide what is listed. */
    public static final class Sample {
        public static final int LIMIT = 3;
        int hidden;

        public Sample(String name) {
        }

        public String name() {
            return "";
        }

        protected void hook() {
        }

        void packagePrivate() {
        }

        private static final class Hidden {
        }
    }

    /** A public signature naming a type of an internal package. */
    public static final class Leaky {
        public io.tether.apicheck.internal.Secret secret() {
            return null;
        }
    }

    @Test
    void listing_hasPublicAndProtectedMembers_only() {
        List<String> lines = ApiListing.of(CLASSES);
        String s = Sample.class.getName();
        assertThat(lines).contains(
                s + ": public static final class",
                s + ": public " + s + "(java.lang.String)",
                s + ": public java.lang.String " + s + ".name()",
                s + ": protected void " + s + ".hook()",
                s + ": public static final int " + s + ".LIMIT");
        assertThat(String.join("\n", lines)).doesNotContain("packagePrivate", "hidden", "Hidden", "Secret:");
        assertThat(lines).isSorted();
    }

    @Test
    void internalTypeInAPublicSignature_fails(@TempDir Path dir) {
        assertThatThrownBy(() -> ApiListing.verify("m", CLASSES, dir.resolve("m.api"), true))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("exposes internal types")
                .hasMessageContaining("Leaky.secret()");
    }

    @Test
    void changedApi_failsWithTheDiffAndHowToRegenerate(@TempDir Path dir) throws Exception {
        Path listing = dir.resolve("m.api");
        List<String> actual = ApiListing.of(CLASSES).stream().filter(l -> !l.contains("Leaky")).toList();
        List<String> edited = new java.util.ArrayList<>(actual);
        String removed = edited.remove(0);
        edited.add("io.example.Gone: public void io.example.Gone.gone()");
        Files.write(listing, edited);
        assertThatThrownBy(() -> ApiListing.check("m", actual, listing, false))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("+ " + removed)
                .hasMessageContaining("- io.example.Gone: public void io.example.Gone.gone()")
                .hasMessageContaining("-Dapi.update=true");
        Files.write(listing, actual);
        ApiListing.check("m", actual, listing, false);
    }
}
