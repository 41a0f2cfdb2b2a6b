package org.testigo.tests

import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList
import org.testigo.android.SyncOutcome
import org.testigo.android.SyncPolicy
import org.testigo.android.TestigoStore
import org.testigo.core.AnswerValue
import org.testigo.core.Confidence
import org.testigo.core.Determination
import org.testigo.core.EventKind
import org.testigo.core.IncidentObserver
import org.testigo.core.IncidentStatus
import org.testigo.core.ListQuery
import org.testigo.core.ObservationKind
import org.testigo.core.Role
import org.testigo.core.TestigoException
import org.testigo.core.YesNoAnswer

/**
 * Devices syncing with the real hub that tests/kotlin/run.sh starts on loopback. The
 * hub is shared by the tests here, so each test enrols its own devices.
 */
fun syncTests() = Suite("sync with a real hub").apply {
    val console by lazy { HubConsole.shared ?: error("no hub: run through tests/kotlin/run.sh") }

    test("background sync retries only what time can fix") {
        assertEquals(SyncOutcome.DONE, SyncPolicy.outcomeOf(null), "success")
        assertEquals(SyncOutcome.RETRY, SyncPolicy.outcomeOf(TestigoException.Sync("hub unreachable")), "network")
        assertEquals(SyncOutcome.RETRY, SyncPolicy.outcomeOf(TestigoException.Storage("database is locked")), "busy disk")
        assertEquals(SyncOutcome.GIVE_UP, SyncPolicy.outcomeOf(TestigoException.NotPermitted("not enrolled")), "not enrolled")
        assertEquals(SyncOutcome.GIVE_UP, SyncPolicy.outcomeOf(TestigoException.Closed("wiped")), "wiped")
    }

    test("the coroutine wrapper enrols and syncs") {
        val dir = tempDir()
        try {
            kotlinx.coroutines.runBlocking {
                TestigoStore.open(java.io.File(dir, "field.db").path, randomKey()).use { store ->
                    assertEquals(Role.VOLUNTEER, store.enrol(console.url, console.enrolmentCode("volunteer")).role, "role")
                    store.createIncident(fieldIncident())
                    val report = store.sync()
                    expect(report.changesUp > 0u && report.rejected.isEmpty()) { "report $report" }
                    assertEquals(false, store.list().single().hasUnsynced, "after sync")
                    assertEquals(emptyList<org.testigo.core.QuarantinedChange>(), store.quarantined(), "quarantine")
                }
            }
        } finally {
            dir.deleteRecursively()
        }
    }

    test("a device that is not enrolled cannot sync, and a wrong code does not enrol it") {
        withStore { f ->
            assertThrows<TestigoException.NotPermitted>("sync before enrolment") { f.store.sync(null) }
            assertThrows<TestigoException>("enrol with a made-up code") { f.store.enrol(console.url, "not-a-code") }
            assertEquals(false, f.store.device().enrolled, "enrolled")
        }
    }

    test("an unreachable hub is TestigoException.Sync and nothing local is lost") {
        withStore { f ->
            f.store.enrol(console.url, console.enrolmentCode("volunteer"))
            val id = f.store.createIncident(fieldIncident())
            assertThrows<TestigoException.Sync>("sync to a closed port") { f.store.sync("http://127.0.0.1:9") }
            assertEquals(true, f.store.list(ListQuery())[0].hasUnsynced, "still waiting for the hub")
            assertEquals(id, f.store.incident(id).id, "the incident")
        }
    }

    test("dispatched incident: two volunteers verify offline in Spanish, sync, and the team lead sees the dispute") {
        val v1 = StoreFixture()
        val v2 = StoreFixture()
        val lead = StoreFixture()
        try {
            assertEquals(Role.VOLUNTEER, v1.store.enrol(console.url, console.enrolmentCode("volunteer", "south")).role, "v1 role")
            v2.store.enrol(console.url, console.enrolmentCode("volunteer", "south"))
            assertEquals(Role.TEAM_LEAD, lead.store.enrol(console.url, console.enrolmentCode("team_lead", "south")).role, "lead role")

            // A call comes in; the dispatcher assigns both volunteers.
            val id = console.openIncident("Cherokee St & Jefferson Ave")
            console.assign(id, v1.store.device().deviceId)
            console.assign(id, v2.store.device().deviceId)
            console.assignTeam(id, "south")

            val heard = CopyOnWriteArrayList<List<String>>()
            v1.store.observe(object : IncidentObserver {
                override fun incidentsChanged(incidentIds: List<String>) {
                    heard += incidentIds
                }
            })
            val first = v1.store.sync(null)
            assertEquals(1u, first.incidentsAdded, "incidents received by v1")
            expect(listOf(id) in heard) { "v1's observer heard of the new incident: $heard" }
            assertEquals(1u, v2.store.sync(null).incidentsAdded, "incidents received by v2")

            // Offline on scene, each on their own phone, in Spanish.
            for ((device, present) in listOf(v1 to YesNoAnswer.YES, v2 to YesNoAnswer.NO)) {
                device.store.setLocale("es")
                device.store.checkIn(id, fix())
                device.store.answer(id, "arrival", AnswerValue.Checkpoint(Instant.now(), fix()))
                device.store.answer(id, "enforcement_present", AnswerValue.YesNo(present))
                device.store.addObservation(id, ObservationKind.NOTE, "nota de ${device.store.device().deviceId}", null, fix())
            }
            v1.store.recordEvent(id, EventKind.DETERMINATION_PROPOSED, Determination.VERIFIED, Confidence.MEDIUM, null)
            v2.store.recordEvent(id, EventKind.DETERMINATION_PROPOSED, Determination.NOT_FOUND, Confidence.MEDIUM, null)
            expect(v1.store.checklist(id, null).title == "Verificación en el lugar") { "Spanish checklist" }

            // Connectivity returns.
            val up = v1.store.sync(null)
            expect(up.changesUp > 0u && up.rejected.isEmpty()) { "v1 upload: $up" }
            v2.store.sync(null)
            v1.store.sync(null)
            assertEquals(1, lead.store.sync(null).incidentsAdded.toInt(), "incidents received by the team lead")

            for (device in listOf(v1, v2, lead)) {
                val view = device.store.incident(id)
                assertEquals(2, view.observations.size, "observations on every device")
                assertEquals(IncidentStatus.DISPUTED, view.status.status, "status on every device")
            }
            val combined = lead.store.combinedChecklist(id, "es")
            expect("enforcement_present" in combined.disagreements) { "disagreements ${combined.disagreements}" }
            assertEquals(2, combined.authors.size, "authors")
            assertEquals(false, lead.store.list(ListQuery())[0].hasUnsynced, "nothing waiting on the lead's phone")

            // The team lead settles it; the volunteers see the confirmation.
            lead.store.recordEvent(id, EventKind.DETERMINATION_CONFIRMED, Determination.VERIFIED, null, "vi las fotos")
            lead.store.sync(null)
            v2.store.sync(null)
            assertEquals(IncidentStatus.CONFIRMED, v2.store.incident(id).status.status, "status on v2 after the confirmation")

            // A sync with nothing new is small.
            val idle = v1.store.sync(null)
            v1.store.sync(null).let { again ->
                expect(again.bytesUp + again.bytesDown < 2_000u) { "an idle sync moved ${again.bytesUp} + ${again.bytesDown} bytes" }
                assertEquals(0u, again.changesUp + again.changesDown, "changes in an idle sync")
            }
            expect(idle.rejected.isEmpty() && v1.store.quarantined().isEmpty()) { "nothing quarantined" }
            expect(!v1.store.clock().skewed) { "the clock is not skewed" }
        } finally {
            listOf(v1, v2, lead).forEach {
                it.store.close()
                it.dir.deleteRecursively()
            }
        }
    }
}
