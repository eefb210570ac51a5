// Kotlin conveniences over the generated API
// (target/generated-sources/uniffi/.../roster_uniffi.kt).
package dev.roster.uniffi

import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow

/**
 * The subscription's data as a cold [Flow]: the current data first, then each newer version (a slow
 * collector skips to the newest). It ends when the subscription does.
 */
fun Subscriber.flow(): Flow<SubscriberData> = flow {
    updates().use { updates ->
        while (true) {
            emit(updates.next() ?: break)
        }
    }
}

/** A [SubscriberListener] from a lambda; it runs on a Roster thread, one call at a time. */
fun listener(onData: (SubscriberData) -> Unit): SubscriberListener =
    object : SubscriberListener {
        override fun onData(data: SubscriberData) = onData(data)
    }

/** Every item of every zone. */
val SubscriberData.items: List<String>
    get() = zones.toSortedMap().values.flatten()

/** How many items in all zones. */
val SubscriberData.size: Int
    get() = zones.values.sumOf { it.size }

/**
 * Waits until the data satisfies [predicate] (the current data, then each newer version); `Timeout`
 * after [timeoutMs]. The lambda comes last, as Kotlin's trailing lambdas do.
 */
suspend fun Subscriber.waitFor(
    timeoutMs: ULong = 10_000uL,
    predicate: (SubscriberData) -> Boolean,
): SubscriberData =
    wait(timeoutMs).use { waiting ->
        var data = waiting.next()
        while (!predicate(data)) data = waiting.next()
        data
    }

/**
 * Runs [block] with this client, then shuts it down (unregistering everything) and frees it,
 * whether [block] succeeded or threw.
 */
suspend fun <R> Client.useSession(block: suspend (Client) -> R): R = use {
    try {
        block(this)
    } finally {
        closeAsync()
    }
}
