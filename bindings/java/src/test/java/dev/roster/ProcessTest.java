package dev.roster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A JVM that used the library exits by itself when main returns, with or without close(), and
 * -Xcheck:jni finds nothing to say about the native layer.
 */
class ProcessTest extends Fixtures {
    /** The child: publishes, subscribes with a listener, waits for the push, maybe closes. */
    public static final class Child {
        public static void main(String[] args) {
            RosterClient c = RosterClient.builder().endpoints(args[0]).build();
            Subscriber s = c.subscribe("svc.Exit", SubscribeOptions.DEFAULT, d -> {});
            c.publish("svc.Exit", List.of("x"));
            s.waitFor(d -> d.size() == 1, java.time.Duration.ofSeconds(10));
            if (args[1].equals("close")) {
                c.close();
            }
            System.out.println("done");
        }
    }

    @ParameterizedTest(name = "a child JVM exits by itself ({0})")
    @ValueSource(strings = {"close", "no-close"})
    void aChildJvmExitsByItself(String close) throws IOException, InterruptedException {
        RosterTestServer srv = server();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(
                        java,
                        "-Xcheck:jni",
                        "-Droster.log=warn",
                        "-cp",
                        System.getProperty("java.class.path"),
                        Child.class.getName(),
                        srv.endpoint(),
                        close)
                .redirectErrorStream(true)
                .start();
        boolean exited = p.waitFor(30, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!exited) {
            p.destroyForcibly();
        }
        assertTrue(exited, "the child JVM did not exit by itself: " + out);
        assertEquals(0, p.exitValue(), out);
        // Nothing else: no JNI warning, no crash report, no stack trace.
        assertEquals("done", out.strip(), out);
    }
}
