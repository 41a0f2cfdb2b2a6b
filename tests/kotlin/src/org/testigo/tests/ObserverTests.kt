package org.testigo.tests

import java.util.Collections
import org.testigo.core.IncidentObserver
import org.testigo.core.ObservationKind

class RecordingObserver : IncidentObserver {
    val calls: MutableList<List<String>> = Collections.synchronizedList(mutableListOf())
    override fun incidentsChanged(incidentIds: List<String>) {
        calls += incidentIds
    }
}

fun observerTests() = Suite("observer").apply {
    test("the observer hears about every committed write, with the incident id, until cancelled") {
        withStore { f ->
            val observer = RecordingObserver()
            val registration = f.store.observe(observer)
            expect(registration.isActive()) { "active after observe" }
            val id = f.store.createIncident(fieldIncident())
            f.store.addObservation(id, ObservationKind.NOTE, "a note", null, fix())
            f.store.checkIn(id, fix())
            assertEquals(listOf(listOf(id), listOf(id), listOf(id)), observer.calls.toList(), "calls")

            registration.cancel()
            expect(!registration.isActive()) { "inactive after cancel" }
            f.store.addObservation(id, ObservationKind.NOTE, "after cancel", null, null)
            assertEquals(3, observer.calls.size, "calls after cancel")
            registration.cancel()
            registration.close()
        }
    }

    test("a rejected write notifies nobody") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val observer = RecordingObserver()
            f.store.observe(observer).use {
                runCatching { f.store.checkIn(id, fix(lat = 91.0)) }
                assertEquals(0, observer.calls.size, "calls")
            }
        }
    }

    test("an observer that throws does not fail the write, and the others are still called") {
        withStore { f ->
            val failing = object : IncidentObserver {
                override fun incidentsChanged(incidentIds: List<String>) = throw IllegalStateException("observer bug")
            }
            val recording = RecordingObserver()
            f.store.observe(failing)
            f.store.observe(recording)
            val id = f.store.createIncident(fieldIncident())
            assertEquals(1uL, f.store.incidentCount(), "the incident was saved")
            assertEquals(listOf(listOf(id)), recording.calls.toList(), "the second observer")
        }
    }

    test("an observer may read the store from inside the callback") {
        withStore { f ->
            val seen = Collections.synchronizedList(mutableListOf<Int>())
            f.store.observe(object : IncidentObserver {
                override fun incidentsChanged(incidentIds: List<String>) {
                    seen += f.store.incident(incidentIds.single()).observations.size
                }
            })
            val id = f.store.createIncident(fieldIncident())
            f.store.addObservation(id, ObservationKind.NOTE, "one", null, null)
            assertEquals(listOf(0, 1), seen.toList(), "observation counts read in the callback")
        }
    }
}
