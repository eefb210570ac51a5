package dev.roster;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.function.Consumer;

/**
 * What the native layer calls on its dispatcher thread: subscriber listeners and Rust's log
 * records. Listeners run one at a time per subscriber; a slow one gets the newest data next.
 *
 * <p>Logging goes to {@link System.Logger} (in the JDK, so the jar needs no dependency; SLF4J,
 * Log4j 2 and JUL all plug into it through their {@code System.LoggerFinder}).
 */
final class Dispatch {
    private static final Logger LOG = System.getLogger("dev.roster");

    private Dispatch() {}

    /** A subscriber's listener, with what to say when it throws. */
    record Listener(String dataId, Consumer<SubscriberData> consumer) {}

    /** Called from native code with a push for one subscriber. */
    static void deliver(Object listener, SubscriberData data) {
        Listener l = (Listener) listener;
        try {
            l.consumer().accept(data);
        } catch (Throwable t) {
            LOG.log(Level.WARNING, "the listener of " + l.dataId() + " threw; later pushes still come", t);
        }
    }

    /** Rust's log records: level 1 error .. 5 trace, the Rust module path as the logger name. */
    static void log(int level, String target, String message) {
        Level l = switch (level) {
            case 1 -> Level.ERROR;
            case 2 -> Level.WARNING;
            case 3 -> Level.INFO;
            case 4 -> Level.DEBUG;
            default -> Level.TRACE;
        };
        System.getLogger(target).log(l, message);
    }
}
