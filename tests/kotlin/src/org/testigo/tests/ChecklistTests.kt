package org.testigo.tests

import java.time.Instant
import org.testigo.core.AnswerStatus
import org.testigo.core.AnswerValue
import org.testigo.core.Confidence
import org.testigo.core.Determination
import org.testigo.core.FieldStore
import org.testigo.core.QuestionType
import org.testigo.core.TestigoException
import org.testigo.core.YesNoAnswer
import org.testigo.core.checkTemplateJson
import org.testigo.core.defaultTemplateId

/** A field incident that runs the shipped verification checklist. */
private fun FieldStore.verificationIncident(): String =
    createIncident(fieldIncident().copy(template = latestTemplate(defaultTemplateId(), null).template))

private val doorKnockV1 = """
    {"id": "door-knock", "version": 1,
     "title": {"en": "Door knock", "es": "Toque a la puerta"},
     "sections": [{"id": "s", "title": {"en": "Door", "es": "Puerta"}, "questions": [
       {"id": "warrant_shown", "type": "yes_no_unknown", "required": true,
        "label": {"en": "Was a warrant shown?", "es": "¿Mostraron una orden?"}}]}]}
""".trimIndent()

private val distances = """
    {"id": "distances", "version": 1,
     "title": {"en": "Distances", "es": "Distancias"},
     "sections": [{"id": "s", "title": {"en": "Scene", "es": "Lugar"}, "questions": [
       {"id": "distance_km", "type": "decimal", "required": true,
        "label": {"en": "How far away is it (km)?", "es": "¿A qué distancia está (km)?"},
        "constraints": [{"rule": {"more_than": 0}, "message": {"en": "More than 0 km.", "es": "Más de 0 km."}}]},
       {"id": "route", "type": "text", "required": true,
        "relevance": {"more_than": {"question": "distance_km", "value": 1.5}},
        "label": {"en": "Which route?", "es": "¿Qué ruta?"}}]}]}
""".trimIndent()

fun checklistTests() = Suite("checklist").apply {
    test("a decimal answer crosses the bindings exactly; NaN and a broken bound are refused") {
        withStore { f ->
            val ref = f.store.publishTemplate(distances)
            val id = f.store.createIncident(fieldIncident().copy(template = ref))
            f.store.setLocale("es")
            f.store.answer(id, "distance_km", AnswerValue.Decimal(2.25))
            val shown = f.store.checklist(id, null).sections.flatMap { it.questions }.associateBy { it.id }
            val distance = shown["distance_km"] ?: error("distance not shown")
            assertEquals(QuestionType.DECIMAL, distance.kind, "kind")
            assertEquals(AnswerValue.Decimal(2.25), distance.value, "value")
            assertEquals("2.25", distance.display, "display")
            expect("route" in shown) { "2.25 is more than 1.5" }
            val nan = assertThrows<TestigoException.InvalidInput>("NaN") { f.store.answer(id, "distance_km", AnswerValue.Decimal(Double.NaN)) }
            assertEquals("Escriba un número con cifras.", nan.reason, "NaN reason")
            val negative = assertThrows<TestigoException.InvalidInput>("-1 km") { f.store.answer(id, "distance_km", AnswerValue.Decimal(-1.0)) }
            assertEquals("Más de 0 km.", negative.reason, "the template's message")
            val kept = f.store.checklist(id, null).sections.flatMap { it.questions }.first { it.id == "distance_km" }
            assertEquals(AnswerValue.Decimal(2.25), kept.value, "the saved answer stays")
        }
    }


    test("a volunteer runs the verification checklist in Spanish: labels, skip logic, progress, suggestion") {
        withStore { f ->
            val id = f.store.verificationIncident()
            f.store.setLocale("es")
            assertEquals("es", f.store.locale(), "locale")

            val start = f.store.checklist(id, null)
            assertEquals("Verificación en el lugar", start.title, "title")
            assertEquals("Registre su llegada al lugar reportado", start.sections[0].questions[0].label, "first label")
            assertEquals("arrival", start.nextQuestion, "next question")
            assertEquals(0u, start.progress.answered, "answered")
            expect(!start.complete) { "complete before any answer" }
            expect(start.sections.flatMap { it.questions }.none { it.id == "agencies" }) { "agencies shown before enforcement was seen" }

            f.store.answer(id, "arrival", AnswerValue.Checkpoint(Instant.now(), fix()))
            f.store.answer(id, "enforcement_present", AnswerValue.YesNo(YesNoAnswer.YES))
            f.store.answer(id, "agencies", AnswerValue.Choices(listOf("ice_ero")))
            f.store.answer(id, "agents_identifiable", AnswerValue.YesNo(YesNoAnswer.YES))

            val now = f.store.checklist(id, null)
            val questions = now.sections.flatMap { it.questions }.associateBy { it.id }
            val agencies = questions["agencies"] ?: error("agencies not shown after a yes")
            assertEquals(QuestionType.MULTIPLE_CHOICE, agencies.kind, "agencies kind")
            assertEquals(AnswerStatus.VALID, agencies.status, "agencies status")
            assertEquals("Sí", questions["enforcement_present"]?.display, "yes in Spanish")
            assertEquals(4u, now.progress.answered, "answered")
            expect(now.progress.fraction > 0.0 && now.progress.fraction < 1.0) { "fraction ${now.progress.fraction}" }
            val suggestion = now.suggestion ?: error("no suggestion")
            assertEquals(Determination.VERIFIED, suggestion.determination, "suggested determination")
            assertEquals(Confidence.HIGH, suggestion.confidence, "suggested confidence")
            expect(suggestion.reason.startsWith("Se vio actividad")) { "reason in Spanish: ${suggestion.reason}" }

            val english = f.store.checklist(id, "en")
            assertEquals("Field verification", english.title, "title on request in English")
        }
    }

    test("answers are validated against the template, with the template's message in the store's language") {
        withStore { f ->
            val id = f.store.verificationIncident()
            f.store.setLocale("es")
            f.store.answer(id, "enforcement_present", AnswerValue.YesNo(YesNoAnswer.YES))
            val tooMany = assertThrows<TestigoException.InvalidInput>("500 agents") { f.store.answer(id, "agents_count", AnswerValue.Count(500)) }
            assertEquals("agents_count", tooMany.field, "field")
            assertEquals("Escriba un número del 0 al 200.", tooMany.reason, "message")
            assertThrows<TestigoException.InvalidInput>("text for a yes/no question") {
                f.store.checkAnswer(id, "enforcement_present", AnswerValue.Text("sí"))
            }
            assertThrows<TestigoException.InvalidInput>("a choice that does not exist") {
                f.store.checkAnswer(id, "agencies", AnswerValue.Choices(listOf("fbi_swat")))
            }
            assertThrows<TestigoException.NotFound>("a question that does not exist") {
                f.store.checkAnswer(id, "favourite_colour", AnswerValue.Text("blue"))
            }
            f.store.checkAnswer(id, "agents_count", AnswerValue.Count(3))
            assertEquals(null, f.store.checklist(id, null).sections.flatMap { it.questions }.first { it.id == "agents_count" }.value, "checkAnswer wrote nothing")
        }
    }

    test("the team lead's combined view lists each author's answers") {
        withStore { f ->
            val id = f.store.verificationIncident()
            f.store.answer(id, "enforcement_present", AnswerValue.YesNo(YesNoAnswer.NO))
            val combined = f.store.combinedChecklist(id, "en")
            assertEquals(listOf(f.store.device().deviceId), combined.authors.map { it.author }, "authors")
            val present = combined.sections.flatMap { it.questions }.first { it.id == "enforcement_present" }
            assertEquals("No", present.answers.single().display, "display")
            expect(present.agree && combined.disagreements.isEmpty()) { "one author never disagrees" }
        }
    }

    test("templates: publish a new checklist, refuse a changed version, check JSON, incidents without one") {
        withStore { f ->
            val ref = f.store.publishTemplate(doorKnockV1)
            assertEquals("door-knock" to 1u, ref.id to ref.version, "published")
            assertEquals(ref, f.store.publishTemplate(doorKnockV1), "publishing again is harmless")
            assertThrows<TestigoException.NotPermitted>("same version, other content") {
                f.store.publishTemplate(doorKnockV1.replace("Was a warrant shown?", "Did they show a warrant?"))
            }
            assertEquals("Toque a la puerta", f.store.latestTemplate("door-knock", "es").title, "title in Spanish")
            val invalid = assertThrows<TestigoException.InvalidTemplate>("not a template") { checkTemplateJson("{\"id\": 1}") }
            expect(invalid.problems.isNotEmpty()) { "problems listed" }
            val warnings = checkTemplateJson(doorKnockV1.replace(", \"es\": \"¿Mostraron una orden?\"", ""))
            expect(warnings.isNotEmpty()) { "a missing Spanish label is a warning" }
            val plain = f.store.createIncident(fieldIncident())
            assertThrows<TestigoException.NotFound>("checklist of an incident without one") { f.store.checklist(plain, null) }
        }
    }
}
