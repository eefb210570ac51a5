package dev.roster.uniffi

import java.util.Collections
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The core scenarios through the generated Kotlin API, against an in-process server. */
class RosterTest {
    private val made = mutableListOf<AutoCloseable>()

    private fun server(port: UShort = 0u): TestServer =
        TestServer.start(port, 1000uL).also { made += it }

    private suspend fun connect(
        server: TestServer,
        zone: String? = null,
        subscribeMode: SubscribeMode? = null,
    ): Client {
        val c =
            Client(
                ClientOptions(
                    endpoints = listOf(server.endpoint()),
                    appName = "kotlin",
                    zone = zone,
                    subscribeMode = subscribeMode,
                )
            )
        made.add(0, c)
        c.waitConnected(10_000uL)
        return c
    }

    @AfterEach
    fun closeAll() = runBlocking {
        for (m in made) {
            if (m is Client) m.closeAsync()
            if (m is TestServer) m.stop()
            m.close()
        }
    }

    @Test
    fun publishThenSubscribeAndSubscribeThenPublish() = runBlocking {
        val srv = server()
        val provider = connect(srv)
        val consumer = connect(srv)
        assertTrue(provider.isConnected())
        assertTrue(srv.endpoint() in provider.members(), provider.members().toString())
        assertEquals("roster", provider.protocol())
        provider.publish("svc.kt.First", listOf("bolt://10.0.0.1:12200"))
        val first = consumer.subscribe("svc.kt.First", SubscribeOptions(scope = Scope.GLOBAL))
        val d = first.waitFor { it.size == 1 }
        assertEquals(listOf("bolt://10.0.0.1:12200"), d.items)
        assertEquals("svc.kt.First#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP", d.dataInfoId)
        assertEquals(Scope.GLOBAL, d.scope)

        val later = consumer.subscribe("svc.kt.Later")
        val empty = later.waitFor { true }
        provider.publish("svc.kt.Later", listOf("x"))
        assertTrue(later.waitFor { it.size == 1 }.version > empty.version)
    }

    @Test
    fun aListenerSeesEachNewerVersionDownToEmpty() = runBlocking {
        val srv = server()
        val provider = connect(srv)
        val consumer = connect(srv)
        val seen = CopyOnWriteArrayList<SubscriberData>()
        val callers = Collections.synchronizedSet(mutableSetOf<Thread>())
        val inFlight = AtomicInteger()
        val overlapped = AtomicBoolean()
        consumer.subscribe(
            "svc.kt.Listener",
            listener =
                listener {
                    if (inFlight.incrementAndGet() > 1) overlapped.set(true)
                    seen += it
                    callers += Thread.currentThread()
                    inFlight.decrementAndGet()
                },
        )
        val pub = provider.publish("svc.kt.Listener", listOf("a"))
        eventually { seen.lastOrNull()?.size == 1 }
        pub.republish(listOf("a", "b"))
        eventually { seen.last().size == 2 }
        assertEquals(PublisherState(2uL, listOf("a", "b")), pub.current())
        pub.unregister()
        eventually { seen.last().size == 0 }
        assertNull(pub.current())
        assertTrue(seen.zipWithNext().all { (a, b) -> a.version < b.version })
        // The change sets add up to each list the listener was given.
        val view = mutableListOf<String>()
        for (d in seen) {
            d.removed.forEach { view.remove(it) }
            view += d.added
            assertEquals(d.items.sorted(), view.sorted())
        }
        assertEquals(listOf("a", "b"), seen.last().removed.sorted())
        // On a Roster thread (JNA names it), one call at a time.
        assertTrue(Thread.currentThread() !in callers)
        assertTrue(!overlapped.get())
        assertEquals(0uL, srv.counts().publishers)
    }

    @Test
    fun aListenerThatThrowsDoesNotStopLaterPushes() = runBlocking {
        val srv = server()
        val c = connect(srv)
        val seen = CopyOnWriteArrayList<Int>()
        c.subscribe(
            "svc.kt.Throws",
            listener =
                listener {
                    seen += it.size
                    if (it.size == 1) throw IllegalStateException("boom")
                },
        )
        val pub = c.publish("svc.kt.Throws", listOf("a"))
        eventually { 1 in seen }
        pub.republish(listOf("a", "b"))
        eventually { 2 in seen }
    }

    @Test
    fun aFlowYieldsEachNewerVersion() = runBlocking {
        val srv = server()
        val c = connect(srv)
        val sub = c.subscribe("svc.kt.Flow")
        sub.waitFor { true } // the empty list is there
        // Collecting starts here (undispatched): the flow's first element is the current data.
        val collected =
            async(start = CoroutineStart.UNDISPATCHED) {
                sub.flow()
                    .transformWhile {
                        emit(it)
                        it.items != listOf("v2")
                    }
                    .toList()
            }
        val pub = c.publish("svc.kt.Flow", listOf("v1"))
        sub.waitFor { it.items == listOf("v1") }
        pub.republish(listOf("v2"))
        val got = withTimeout(10_000) { collected.await() }
        // The empty list first and v2 last, each newer than the one before (a collector that
        // falls behind skips to the newest, so v1 may or may not be there).
        assertEquals(listOf<String>(), got.first().items)
        assertEquals(listOf("v2"), got.last().items)
        assertTrue(got.zipWithNext().all { (a, b) -> a.version < b.version })
        // A flow collected once the data is there starts with it.
        assertEquals(listOf("v2"), sub.flow().first().items)
    }

    @Test
    fun scopesSeeTheirZonesOrEveryZone() = runBlocking {
        val srv = server()
        val a = connect(srv, zone = "zone-a")
        val b = connect(srv, zone = "zone-b")
        a.publish("svc.kt.Zones", listOf("in-a"))
        b.publish("svc.kt.Zones", listOf("in-b"))
        val everyone = a.subscribe("svc.kt.Zones", SubscribeOptions(scope = Scope.GLOBAL))
        val mine = a.subscribe("svc.kt.Zones", SubscribeOptions(scope = Scope.ZONE))
        assertEquals(
            mapOf("zone-a" to listOf("in-a"), "zone-b" to listOf("in-b")),
            everyone.waitFor { it.size == 2 }.zones,
        )
        assertEquals(listOf("in-a"), mine.waitFor { it.size == 1 }.items)
    }

    @Test
    fun peekAndAWaitThatTimesOut() = runBlocking {
        val srv = server()
        val c = connect(srv)
        val sub = c.subscribe("svc.kt.Peek")
        val empty = sub.waitFor { true }
        val e =
            assertThrows(RosterException.Timeout::class.java) {
                runBlocking { sub.waitNewer(empty.version, 100uL) }
            }
        assertTrue(
            e.message!!.startsWith(
                "TIMEOUT: no data of svc.kt.Peek#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP matched within 100 ms; the latest is version ${empty.version} with 0 items"
            ),
            e.message,
        )
        c.publish("svc.kt.Peek", listOf("x"))
        sub.waitFor { it.size == 1 }
        assertEquals(listOf("x"), sub.peek()!!.items)
    }

    @Test
    fun errorsAreOneExceptionClassPerKind() = runBlocking {
        val srv = server()
        val c = connect(srv)
        val invalid =
            assertThrows(RosterException.InvalidArgument::class.java) {
                runBlocking { c.publish("", listOf("x")) }
            }
        assertTrue(
            invalid.message!!.startsWith("INVALID_ARGUMENT: dataId must not be empty"),
            invalid.message,
        )
        val endpoint =
            assertThrows(RosterException.InvalidArgument::class.java) {
                Client(ClientOptions(endpoints = listOf("nowhere")))
            }
        assertTrue(
            endpoint.message!!.startsWith(
                "INVALID_ARGUMENT: endpoint \"nowhere\" is not host:port"
            ),
            endpoint.message,
        )
        val offline =
            Client(ClientOptions(endpoints = listOf("127.0.0.1:1"), connectTimeoutMs = 200uL))
        val down =
            assertThrows(RosterException.NotConnected::class.java) {
                runBlocking { offline.waitConnected(300uL) }
            }
        assertTrue(
            down.message!!.startsWith(
                "NOT_CONNECTED: no registry node answered within 300 ms (tried 127.0.0.1:1; "
            ),
            down.message,
        )
        offline.closeAsync()
        offline.close()
    }

    @Test
    fun everythingAfterShutdownOrUnregisterIsShutDown() = runBlocking {
        val srv = server()
        val c = connect(srv)
        val p = c.publish("svc.kt.Closed", listOf("x"))
        p.unregister()
        p.unregister() // twice is fine
        assertThrows(RosterException.ShutDown::class.java) {
            runBlocking { p.republish(listOf("y")) }
        }
        val s = c.subscribe("svc.kt.Closed")
        s.unsubscribe()
        assertThrows(RosterException.ShutDown::class.java) { s.mode() }
        c.publish("svc.kt.Kept", listOf("x"))
        c.closeAsync()
        assertEquals(0uL, srv.counts().publishers, "shutdown unregistered everything")
        val e =
            assertThrows(RosterException.ShutDown::class.java) {
                runBlocking { c.publish("svc.kt.Closed", listOf("y")) }
            }
        assertEquals("SHUT_DOWN: the client is closed", e.message)
    }

    @Test
    fun aThousandSubscribersWithListenersEachGetEveryChange() = runBlocking {
        val srv = server()
        val provider = connect(srv)
        val consumer = connect(srv)
        val pub = provider.publish("svc.kt.Many", listOf("v1"))
        val last = Array(1000) { "" }
        val subs =
            (0 until 1000).map { i ->
                consumer.subscribe(
                    "svc.kt.Many",
                    listener = listener { last[i] = it.items.firstOrNull() ?: "" },
                )
            }
        eventually { last.all { it == "v1" } }
        pub.republish(listOf("v2"))
        eventually { last.all { it == "v2" } }
        assertEquals(1000uL, srv.counts().subscribers)
        subs.forEach { it.close() } // frees the objects; the subscriptions stay
        assertEquals(1000uL, srv.counts().subscribers)
    }

    @Test
    fun everyModePairAndARunTimeSwitch() = runBlocking {
        val srv = server()
        val url = "bolt://10.0.0.1:12200?timeout=3000&weight=100"
        for (publishMode in PublishMode.entries) {
            val provider =
                Client(
                    ClientOptions(
                        endpoints = listOf(srv.endpoint()),
                        appName = "orders-${publishMode.name.lowercase()}",
                        publishMode = publishMode,
                    )
                )
            made.add(0, provider)
            provider.publish("svc.kt.Orders.$publishMode", listOf(url))
            for (subscribeMode in SubscribeMode.entries) {
                val consumer = connect(srv, subscribeMode = subscribeMode)
                val sub = consumer.subscribe("svc.kt.Orders.$publishMode")
                assertEquals(
                    listOf(url),
                    sub.waitFor { it.size > 0 }.items,
                    "$publishMode/$subscribeMode",
                )
                assertEquals(subscribeMode, sub.mode())
            }
        }
        val consumer = connect(srv, subscribeMode = SubscribeMode.APPLICATION_FIRST)
        val sub = consumer.subscribe("svc.kt.Orders.INTERFACE")
        sub.waitFor { it.size == 1 }
        consumer.setSubscribeMode(SubscribeMode.FORCE_APPLICATION)
        assertEquals(SubscribeMode.FORCE_APPLICATION, consumer.subscribeMode())
        // Interface-only providers: force-application stays pending on an empty application level.
        eventually { sub.migrationStatus() == MigrationStatus.Pending(0uL, 1uL) }
        sub.setMode(SubscribeMode.APPLICATION_FIRST)
        assertEquals(SubscribeMode.APPLICATION_FIRST, sub.mode())
    }

    @Test
    fun afterAServerRestartEverythingIsRedone() = runBlocking {
        val first = TestServer.start(0u, 1000uL)
        val port = first.port()
        val provider = connect(first)
        val consumer = connect(first)
        provider.publish("svc.kt.Restart", listOf("bolt://10.0.0.9:1"))
        val sub = consumer.subscribe("svc.kt.Restart", SubscribeOptions(scope = Scope.GLOBAL))
        sub.waitFor { it.size == 1 }
        first.stop()
        first.close()
        val second = server(port)
        provider.waitConnected(10_000uL)
        consumer.waitConnected(10_000uL)
        eventually { second.counts().publishers == 1uL && second.counts().subscribers == 1uL }
        assertEquals(listOf("bolt://10.0.0.9:1"), sub.waitFor { it.size == 1 }.items)
    }

    @Test
    fun useSessionShutsTheClientDown() = runBlocking {
        val srv = server()
        Client(ClientOptions(endpoints = listOf(srv.endpoint()))).useSession { c ->
            c.waitConnected(10_000uL)
            c.publish("svc.kt.Session", listOf("x"))
            assertEquals(1uL, srv.counts().publishers)
        }
        assertEquals(0uL, srv.counts().publishers)
    }

    private suspend fun eventually(condition: () -> Boolean) {
        withTimeout(10_000) {
            while (!condition()) delay(10)
        }
    }
}
