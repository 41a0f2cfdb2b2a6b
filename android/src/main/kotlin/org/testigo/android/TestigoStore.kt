package org.testigo.android

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.withContext
import org.testigo.core.AnswerValue
import org.testigo.core.Checklist
import org.testigo.core.Checkpoint
import org.testigo.core.ClockStatus
import org.testigo.core.CombinedChecklist
import org.testigo.core.Confidence
import org.testigo.core.Determination
import org.testigo.core.DeviceInfo
import org.testigo.core.EventKind
import org.testigo.core.FieldStore
import org.testigo.core.IncidentObserver
import org.testigo.core.IncidentSummary
import org.testigo.core.IncidentView
import org.testigo.core.ListQuery
import org.testigo.core.LocationFix
import org.testigo.core.NewFieldIncident
import org.testigo.core.ObservationKind
import org.testigo.core.QuarantinedChange
import org.testigo.core.SyncReport
import org.testigo.core.TemplateInfo
import org.testigo.core.defaultTemplateId

/**
 * The field store for coroutines: every call runs on [io] (Dispatchers.IO by default)
 * because the Rust calls block on disk and network, and changes arrive as [Flow]s.
 *
 * Errors are the generated [org.testigo.core.TestigoException] subclasses, thrown from
 * the suspend functions; screens switch on them (`is TestigoException.InvalidInput`).
 * The instance is safe to share across coroutines and threads. [close] frees the Rust
 * store; calls after it throw [IllegalStateException].
 */
class TestigoStore private constructor(
    /** The generated binding, for calls this wrapper does not cover. Blocking. */
    val fieldStore: FieldStore,
    private val io: CoroutineDispatcher,
) : AutoCloseable {

    companion object {
        /**
         * Opens (or creates) the store at [path] with the 32-byte database [key] from the
         * platform keystore (see `platform.KeystoreDatabaseKey` on Android).
         */
        suspend fun open(path: String, key: ByteArray, io: CoroutineDispatcher = Dispatchers.IO): TestigoStore =
            withContext(io) { TestigoStore(FieldStore.open(path, key), io) }
    }

    suspend fun device(): DeviceInfo = onIo { device() }

    suspend fun clock(): ClockStatus = onIo { clock() }

    /** Opens an incident seen in the field and returns its id. */
    suspend fun createIncident(incident: NewFieldIncident): String = onIo { createIncident(incident) }

    suspend fun incident(incidentId: String): IncidentView = onIo { incident(incidentId) }

    suspend fun list(query: ListQuery = ListQuery()): List<IncidentSummary> = onIo { list(query) }

    suspend fun incidentCount(): ULong = onIo { incidentCount() }

    suspend fun checkIn(incidentId: String, fix: LocationFix): Checkpoint = onIo { checkIn(incidentId, fix) }

    suspend fun checkOut(incidentId: String, fix: LocationFix): Checkpoint = onIo { checkOut(incidentId, fix) }

    suspend fun answer(incidentId: String, questionId: String, value: AnswerValue) = onIo { answer(incidentId, questionId, value) }

    /** A free-text note on what the volunteer sees. Returns the observation id. */
    suspend fun addNote(incidentId: String, text: String, fix: LocationFix? = null): String =
        onIo { addObservation(incidentId, ObservationKind.NOTE, text, null, fix) }

    /** A number of something (agents, vehicles, people detained). Returns the observation id. */
    suspend fun addCount(incidentId: String, text: String, count: Long, fix: LocationFix? = null): String =
        onIo { addObservation(incidentId, ObservationKind.COUNT, text, count, fix) }

    /** Corrects an observation; the original stays. Returns the amendment id. */
    suspend fun amendObservation(incidentId: String, observationId: String, text: String, count: Long? = null): String =
        onIo { amendObservation(incidentId, observationId, text, count) }

    suspend fun proposeDetermination(incidentId: String, determination: Determination, confidence: Confidence, note: String? = null): String =
        onIo { recordEvent(incidentId, EventKind.DETERMINATION_PROPOSED, determination, confidence, note) }

    /** Team leads only. */
    suspend fun confirmDetermination(incidentId: String, determination: Determination, note: String? = null): String =
        onIo { recordEvent(incidentId, EventKind.DETERMINATION_CONFIRMED, determination, null, note) }

    suspend fun markCallerNotified(incidentId: String, note: String? = null): String =
        onIo { recordEvent(incidentId, EventKind.CALLER_NOTIFIED, null, null, note) }

    suspend fun closeIncident(incidentId: String, note: String? = null): String =
        onIo { recordEvent(incidentId, EventKind.CLOSED, null, null, note) }

    suspend fun assign(incidentId: String, deviceId: String, active: Boolean = true) = onIo { assign(incidentId, deviceId, active) }

    /** Language of checklist texts and validation messages: "en", "es", "es-MX"… */
    suspend fun setLocale(locale: String) = onIo { setLocale(locale) }

    /** This device's checklist for the incident, in [locale] (default: the store's). */
    suspend fun checklist(incidentId: String, locale: String? = null): Checklist = onIo { checklist(incidentId, locale) }

    /** Every verifier's answers side by side, with their disagreements (team lead review). */
    suspend fun combinedChecklist(incidentId: String, locale: String? = null): CombinedChecklist =
        onIo { combinedChecklist(incidentId, locale) }

    /** Validates an answer without writing it; throws `TestigoException.InvalidInput` with the template's message. */
    suspend fun checkAnswer(incidentId: String, questionId: String, value: AnswerValue) = onIo { checkAnswer(incidentId, questionId, value) }

    /** The newest version of a checklist, to open an incident with. */
    suspend fun latestTemplate(templateId: String = defaultTemplateId(), locale: String? = null): TemplateInfo =
        onIo { latestTemplate(templateId, locale) }

    /** Removes closed incidents past retention whose changes the hub holds; returns their ids. */
    suspend fun applyRetention(): List<String> = onIo { applyRetention() }

    /**
     * Enrols this device with the hub using a coordinator's one-time code; returns the
     * device as enrolled (role, team).
     */
    suspend fun enrol(hubUrl: String, code: String): DeviceInfo = onIo { enrol(hubUrl, code) }

    /**
     * Sends this device's changes and receives what it lacks. Throws
     * `TestigoException.Sync` when the hub cannot be reached (see [SyncPolicy]).
     */
    suspend fun sync(hubUrl: String? = null): SyncReport = onIo { sync(hubUrl) }

    /** Changes the hub refused, kept on this device. */
    suspend fun quarantined(): List<QuarantinedChange> = onIo { quarantined() }

    /** Destroys the store and its files; later calls throw `TestigoException.Closed`. The caller deletes the key. */
    suspend fun wipe() = onIo { wipe() }

    /**
     * This device's checklist for one incident, now and after every change to it (its
     * own answers, or a sync bringing someone else's).
     */
    fun checklistUpdates(incidentId: String, locale: String? = null): Flow<Checklist> =
        changeSignals(initial = listOf(incidentId))
            .filter { incidentId in it }
            .conflate()
            .map { checklist(incidentId, locale) }

    /**
     * The ids of incidents that changed, one list per committed write or sync merge,
     * from the moment of collection until the collector is cancelled. No change is
     * dropped: a slow collector gets them all, in order.
     */
    fun changes(): Flow<List<String>> = changeSignals(initial = null)

    /** One incident, now and after every change to it. */
    fun incidentUpdates(incidentId: String): Flow<IncidentView> =
        changeSignals(initial = listOf(incidentId))
            .filter { incidentId in it }
            .conflate()
            .map { incident(incidentId) }

    /** A list screen's rows, now and after every change to any incident. */
    fun listUpdates(query: ListQuery = ListQuery()): Flow<List<IncidentSummary>> =
        changeSignals(initial = emptyList())
            .conflate()
            .map { list(query) }

    override fun close() = fieldStore.close()

    /**
     * Registers the observer first and only then emits [initial], so a reader that
     * starts from the initial signal cannot miss a change made while it subscribed.
     */
    private fun changeSignals(initial: List<String>?): Flow<List<String>> = callbackFlow {
        val registration = fieldStore.observe(object : IncidentObserver {
            override fun incidentsChanged(incidentIds: List<String>) {
                trySend(incidentIds)
            }
        })
        if (initial != null) send(initial)
        awaitClose {
            registration.cancel()
            registration.close()
        }
    }.buffer(Channel.UNLIMITED)

    private suspend fun <T> onIo(call: FieldStore.() -> T): T = withContext(io) { fieldStore.call() }
}
