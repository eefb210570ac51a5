package dev.roster.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.roster.testing.RosterTestServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The two examples as processes, through a test server: the subscriber sees the publisher's
 * address come and go, and both exit by themselves. Roster comes from its coordinates.
 */
class ExamplesTest {
    static Process java(Class<?> main, String... args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(
                List.of(java, "-Droster.log=warn", "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true).start();
    }

    static String finish(Process p) throws IOException, InterruptedException {
        boolean exited = p.waitFor(30, TimeUnit.SECONDS);
        if (!exited) {
            p.destroyForcibly();
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(exited, "did not exit: " + out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void theSubscriberSeesThePublishersAddressComeAndGo() throws Exception {
        try (RosterTestServer server = RosterTestServer.start()) {
            String svc = "com.example.ExampleService:1.0";
            Process sub = java(Subscriber.class, "--endpoint", server.endpoint(), "--data-id", svc, "--until-empty");
            // Started once subscribed: the address is then pushed, not read at subscribe time.
            while (server.subscribers() == 0) {
                Thread.sleep(20);
            }
            Process pub = java(
                    Publisher.class,
                    "--endpoint",
                    server.endpoint(),
                    "--data-id",
                    svc,
                    "--data",
                    "bolt://10.0.0.5:12200",
                    "--seconds",
                    "1");
            String published = finish(pub);
            assertTrue(published.contains("java publisher: published bolt://10.0.0.5:12200 under " + svc), published);
            assertTrue(published.contains("java publisher: unregistered"), published);
            String seen = finish(sub);
            assertTrue(
                    seen.startsWith("java subscriber: subscribed to " + svc + "#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"),
                    seen);
            assertTrue(seen.contains("{DEFAULT_ZONE=[bolt://10.0.0.5:12200]}"), seen);
            assertTrue(seen.strip().endsWith("{}"), "ends with no providers: " + seen);
        }
    }
}
