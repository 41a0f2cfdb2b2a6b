package org.testigo.tests

import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import org.testigo.android.OnDutyLoop
import org.testigo.core.DutyWake
import org.testigo.core.TestigoException
import org.testigo.core.WaitCanceller

/** Being on duty, against the real hub tests/kotlin/run.sh starts. */
fun wakeTests() = Suite("on duty").apply {
    val console by lazy { HubConsole.shared ?: error("no hub: run through tests/kotlin/run.sh") }

    test("the on-duty loop wakes on an assignment made through the hub and brings its summary") {
        withStore { f ->
            f.store.enrol(console.url, console.enrolmentCode("volunteer"))
            f.store.sync(null)
            val arrivals = LinkedBlockingQueue<DutyWake.Synced>()
            val loop = OnDutyLoop(f.store, waitSecs = 30u) { arrivals.put(it) }
            val thread = Thread { loop.run() }.apply { start() }
            try {
                val id = console.openIncident("Gravois Ave & Chippewa St", urgency = "critical")
                console.assign(id, f.store.device().deviceId)
                val wake = arrivals.poll(60, TimeUnit.SECONDS) ?: throw AssertionFailed("the loop never woke")
                assertEquals(listOf(id), wake.newIncidents.map { it.id }, "new incidents")
                assertEquals("Gravois Ave & Chippewa St", wake.newIncidents.single().placeText, "summary")
                assertEquals(1u, wake.report.incidentsAdded, "sync report")
                assertEquals(id, f.store.incident(id).id, "stored on the device")
            } finally {
                loop.stop()
                thread.join(10_000)
            }
            expect(!thread.isAlive) { "stop() ends the loop" }
        }
    }

    test("a cancelled wait returns Cancelled; push endpoints must be https") {
        withStore { f ->
            f.store.enrol(console.url, console.enrolmentCode("volunteer"))
            val canceller = WaitCanceller()
            canceller.cancel()
            assertEquals(DutyWake.Cancelled, f.store.waitForWork(30u, canceller), "after cancel")
            assertThrows<TestigoException.InvalidInput>("plain http endpoint") {
                f.store.registerPushEndpoint("http://10.0.0.5/up/phone")
            }
            f.store.registerPushEndpoint("https://push.example.invalid/up/phone")
            f.store.unregisterPushEndpoint()
        }
    }
}
