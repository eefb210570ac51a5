package dev.roster;

import java.lang.ref.Cleaner;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/** How the async forms start, and the cleaner of forgotten handles. */
final class Futures {
    /** Frees the native memory of handles nobody closed (never unregisters anything). */
    static final Cleaner CLEANER = Cleaner.create();

    private Futures() {}

    /**
     * A future that {@code call} hands to the native layer to complete. An error raised before
     * the operation started (a closed handle, a value the core refuses) fails the future rather
     * than being thrown, so an async method reports every core error the same way.
     */
    static <T> CompletableFuture<T> start(Consumer<CompletableFuture<T>> call) {
        CompletableFuture<T> done = new CompletableFuture<>();
        try {
            call.accept(done);
        } catch (RosterException e) {
            done.completeExceptionally(e);
        }
        return done;
    }
}
