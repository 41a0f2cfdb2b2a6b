package org.testigo.tests

import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import org.testigo.core.IncidentObserver
import org.testigo.core.ListQuery
import org.testigo.core.ObservationKind

fun concurrencyTests() = Suite("concurrency").apply {
    test("8 threads x 25 observations at once: all 200 saved, 200 notifications, reads in between") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val notified = AtomicInteger()
            f.store.observe(object : IncidentObserver {
                override fun incidentsChanged(incidentIds: List<String>) {
                    notified.incrementAndGet()
                }
            })
            val threads = 8
            val perThread = 25
            val pool = Executors.newFixedThreadPool(threads)
            val start = CountDownLatch(1)
            val futures = (0 until threads).map { t ->
                pool.submit<Unit> {
                    start.await()
                    repeat(perThread) { i ->
                        f.store.addObservation(id, ObservationKind.COUNT, "thread $t item $i", i.toLong(), fix())
                        if (i % 5 == 0) f.store.list(ListQuery())
                    }
                }
            }
            start.countDown()
            futures.forEach { it.get(120, TimeUnit.SECONDS) }
            pool.shutdown()

            val view = f.store.incident(id)
            assertEquals(threads * perThread, view.observations.size, "observations")
            assertEquals(threads * perThread, view.observations.map { it.id }.toSet().size, "distinct observation ids")
            assertEquals((threads * perThread).toUInt(), f.store.list(ListQuery())[0].observationCount, "count in the index")
            assertEquals(threads * perThread, notified.get(), "notifications")
            f.reopen().use { again -> assertEquals(threads * perThread, again.incident(id).observations.size, "after reopening") }
        }
    }
}
