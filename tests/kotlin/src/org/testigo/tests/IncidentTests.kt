package org.testigo.tests

import org.testigo.core.AnswerValue
import org.testigo.core.CheckpointKind
import org.testigo.core.Confidence
import org.testigo.core.Determination
import org.testigo.core.EventKind
import org.testigo.core.IncidentStatus
import org.testigo.core.ListQuery
import org.testigo.core.ObservationKind
import org.testigo.core.ReportSource
import org.testigo.core.TestigoException
import org.testigo.core.Urgency
import org.testigo.core.YesNoAnswer

fun incidentTests() = Suite("incidents").apply {
    test("a volunteer opens a field incident and reads it back, in the view and in the list") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            expect(id.startsWith("inc_")) { "incident id $id" }
            val view = f.store.incident(id)
            assertEquals(id, view.id, "id")
            assertEquals("Cherokee St & Jefferson Ave", view.report.placeText, "place")
            assertEquals(ReportSource.FIELD, view.report.source, "source")
            assertEquals(Urgency.HIGH, view.report.urgency, "urgency")
            assertEquals(f.store.device().deviceId, view.createdBy, "created by")
            assertEquals(IncidentStatus.OPEN, view.status.status, "status")
            expect(view.problems.isEmpty()) { "problems ${view.problems}" }

            val rows = f.store.list(ListQuery())
            assertEquals(listOf(id), rows.map { it.id }, "list")
            assertEquals(true, rows[0].hasUnsynced, "unsynced")
            assertEquals(true, rows[0].assignedToMe, "mine")
            assertEquals(1, f.store.list(ListQuery(minUrgency = Urgency.HIGH)).size, "at least high")
            assertEquals(0, f.store.list(ListQuery(minUrgency = Urgency.CRITICAL)).size, "at least critical")
            assertEquals(0, f.store.list(ListQuery(status = IncidentStatus.CLOSED)).size, "closed")
        }
    }

    test("on scene: check-in measures the distance, observations with fixes, an amendment, check-out") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val checkIn = f.store.checkIn(id, fix())
            assertEquals(CheckpointKind.CHECK_IN, checkIn.kind, "checkpoint kind")
            val distance = checkIn.distanceM ?: error("no distance to the reported corner")
            expect(distance in 1.0..50.0) { "distance $distance m" }

            val note = f.store.addObservation(id, ObservationKind.NOTE, "Agents detaining one man at the bus stop", null, fix())
            val count = f.store.addObservation(id, ObservationKind.COUNT, "agents", 4L, fix(accuracyM = 120.0))
            val amendment = f.store.amendObservation(id, count, "agents (one more arrived)", 5L)
            f.store.checkOut(id, fix())

            val view = f.store.incident(id)
            assertEquals(IncidentStatus.ON_SCENE, view.status.status, "status")
            assertEquals(listOf(note, count, amendment), view.observations.map { it.id }, "observations, oldest first")
            assertEquals(4L, view.observations[1].count, "count")
            assertEquals(120.0, view.observations[1].fix?.accuracyM, "fix kept with the observation")
            assertEquals(count, view.observations[2].amends, "amendment points at the original")
            assertEquals(ObservationKind.AMENDMENT, view.observations[2].kind, "amendment kind")
            assertEquals(listOf(CheckpointKind.CHECK_IN, CheckpointKind.CHECK_OUT), view.checkpoints.map { it.kind }, "checkpoints")
            expect(view.closestCheckInM != null) { "closest check-in" }
            assertEquals(3u, f.store.list(ListQuery())[0].observationCount, "observation count in the list row")
        }
    }

    test("an invalid fix (latitude 91) is InvalidInput naming the field, and nothing is written") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val before = f.store.incident(id)
            val e = assertThrows<TestigoException.InvalidInput>("check-in at latitude 91") { f.store.checkIn(id, fix(lat = 91.0)) }
            assertEquals("latitude", e.field, "field")
            val e2 = assertThrows<TestigoException.InvalidInput>("note at longitude NaN") {
                f.store.addObservation(id, ObservationKind.NOTE, "x", null, fix(lon = Double.NaN))
            }
            assertEquals("longitude", e2.field, "field")
            assertThrows<TestigoException.InvalidInput>("answer with a negative accuracy") {
                f.store.answer(id, "where", AnswerValue.Location(fix(accuracyM = -1.0)))
            }
            assertEquals(before, f.store.incident(id), "the incident after rejected writes")
        }
    }

    test("malformed ids are InvalidInput, unknown ones NotFound, empty places InvalidInput") {
        withStore { f ->
            assertThrows<TestigoException.InvalidInput>("malformed incident id") { f.store.incident("inc_nope") }
            assertThrows<TestigoException.NotFound>("unknown incident") { f.store.incident("inc_0123456789abcdef0123456789abcdef") }
            val e = assertThrows<TestigoException.InvalidInput>("empty place") { f.store.createIncident(fieldIncident(place = "  ")) }
            assertEquals("place", e.field, "field")
            val id = f.store.createIncident(fieldIncident())
            assertThrows<TestigoException.InvalidInput>("malformed observation id") { f.store.amendObservation(id, "rec_zz", "x", null) }
            assertThrows<TestigoException.InvalidInput>("question id with spaces") {
                f.store.answer(id, "what did you see", AnswerValue.Text("x"))
            }
        }
    }

    test("answers of every kind are kept per author and read back") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            val answers = mapOf(
                "agents_present" to AnswerValue.YesNo(YesNoAnswer.YES),
                "agency" to AnswerValue.Choice("ice"),
                "vehicles" to AnswerValue.Choices(listOf("suv", "van")),
                "agent_count" to AnswerValue.Count(4),
                "uniform_text" to AnswerValue.Text("POLICE ICE"),
                "arrival" to AnswerValue.Checkpoint(java.time.Instant.ofEpochMilli(1_750_000_000_000), fix()),
            )
            answers.forEach { (question, value) -> f.store.answer(id, question, value) }
            f.store.answer(id, "agents_present", AnswerValue.YesNo(YesNoAnswer.UNKNOWN))
            val view = f.store.incident(id)
            assertEquals(answers.keys.sorted(), view.answers.map { it.questionId }, "questions, in id order")
            val present = view.answers.first { it.questionId == "agents_present" }
            assertEquals(1, present.byAuthor.size, "one author's answer, replaced")
            assertEquals(AnswerValue.YesNo(YesNoAnswer.UNKNOWN), present.byAuthor[0].value, "latest answer")
            expect(present.agree) { "one author agrees with themself" }
            assertEquals(answers["arrival"], view.answers.first { it.questionId == "arrival" }.byAuthor[0].value, "checkpoint answer")
        }
    }

    test("a volunteer proposes a determination; confirming and assigning are refused as NotPermitted") {
        withStore { f ->
            val id = f.store.createIncident(fieldIncident())
            f.store.recordEvent(id, EventKind.DETERMINATION_PROPOSED, Determination.VERIFIED, Confidence.HIGH, "ICE vests, arrest seen")
            val status = f.store.incident(id).status
            assertEquals(IncidentStatus.PROPOSED, status.status, "status")
            assertEquals(Determination.VERIFIED, status.determination, "determination")
            assertEquals(listOf(Determination.VERIFIED), status.proposals.map { it.determination }, "proposals")
            assertThrows<TestigoException.NotPermitted>("volunteer confirms") {
                f.store.recordEvent(id, EventKind.DETERMINATION_CONFIRMED, Determination.VERIFIED, null, null)
            }
            assertThrows<TestigoException.NotPermitted>("volunteer assigns") { f.store.assign(id, f.store.device().deviceId, true) }
            assertEquals(1, f.store.incident(id).events.size, "events after refused writes")
        }
    }
}
