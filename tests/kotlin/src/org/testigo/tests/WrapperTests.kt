package org.testigo.tests

import java.io.File
import java.util.Collections
import java.util.concurrent.Executors
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.testigo.android.TestigoStore
import org.testigo.core.Confidence
import org.testigo.core.Determination
import org.testigo.core.IncidentObserver
import org.testigo.core.IncidentStatus
import org.testigo.core.TestigoException

private fun <T> withTestigoStore(body: suspend CoroutineScope.(TestigoStore) -> T): T {
    val dir = tempDir()
    return try {
        runBlocking {
            TestigoStore.open(File(dir, "field.db").path, randomKey()).use { body(it) }
        }
    } finally {
        dir.deleteRecursively()
    }
}

fun wrapperTests() = Suite("coroutine wrapper").apply {
    test("suspend calls run on the given IO dispatcher, never the caller's thread") {
        val io = Executors.newSingleThreadExecutor { Thread(it, "testigo-io") }.asCoroutineDispatcher()
        val dir = tempDir()
        try {
            runBlocking {
                TestigoStore.open(File(dir, "field.db").path, randomKey(), io).use { store ->
                    val writers = Collections.synchronizedList(mutableListOf<String>())
                    store.fieldStore.observe(object : IncidentObserver {
                        override fun incidentsChanged(incidentIds: List<String>) {
                            writers += Thread.currentThread().name
                        }
                    })
                    val id = store.createIncident(fieldIncident())
                    store.checkIn(id, fix())
                    store.addNote(id, "two agents at the door", fix())
                    store.addCount(id, "vehicles", 2)
                    store.proposeDetermination(id, Determination.VERIFIED, Confidence.MEDIUM)
                    assertEquals(List(5) { "testigo-io" }, writers.toList(), "threads the writes ran on")
                    val view = store.incident(id)
                    assertEquals(2, view.observations.size, "observations")
                    assertEquals(IncidentStatus.PROPOSED, view.status.status, "status")
                    assertEquals(1uL, store.incidentCount(), "count")
                    assertEquals(id, store.list().single().id, "list")
                }
            }
        } finally {
            io.close()
            dir.deleteRecursively()
        }
    }

    test("typed exceptions come out of suspend functions") {
        withTestigoStore { store ->
            val id = store.createIncident(fieldIncident())
            val e = runCatching { store.checkIn(id, fix(lat = 91.0)) }.exceptionOrNull()
            expect(e is TestigoException.InvalidInput) { "got $e" }
            val e2 = runCatching { store.confirmDetermination(id, Determination.NOT_FOUND) }.exceptionOrNull()
            expect(e2 is TestigoException.NotPermitted) { "got $e2" }
        }
    }

    test("changes() delivers every change in order, then unregisters when cancelled") {
        withTestigoStore { store ->
            val collected = async(start = CoroutineStart.UNDISPATCHED) { withTimeout(30_000) { store.changes().take(3).toList() } }
            yield()
            val id = store.createIncident(fieldIncident())
            store.addNote(id, "one")
            store.addNote(id, "two")
            assertEquals(listOf(listOf(id), listOf(id), listOf(id)), collected.await(), "changes")
        }
    }

    test("incidentUpdates() emits the incident now and again after each change") {
        withTestigoStore { store ->
            val id = store.createIncident(fieldIncident())
            val updates = store.incidentUpdates(id)
            assertEquals(0, updates.first().observations.size, "initial view")
            val next = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(30_000) { updates.first { it.observations.isNotEmpty() } }
            }
            yield()
            store.addNote(id, "first note")
            assertEquals("first note", next.await().observations.single().text, "updated view")
        }
    }

    test("listUpdates() emits the rows now and after changes") {
        withTestigoStore { store ->
            assertEquals(0, store.listUpdates().first().size, "initial rows")
            val next = async(start = CoroutineStart.UNDISPATCHED) { withTimeout(30_000) { store.listUpdates().first { it.isNotEmpty() } } }
            yield()
            val id = store.createIncident(fieldIncident())
            assertEquals(listOf(id), next.await().map { it.id }, "rows after a change")
        }
    }
}
