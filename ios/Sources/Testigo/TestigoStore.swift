import Foundation

/// The field store for Swift concurrency. The Rust calls block on disk (and network
/// for sync), so each runs in a detached task, never on the caller's actor (the main
/// actor, for a view). Errors are the generated `TestigoError` cases; screens switch
/// on them (`catch TestigoError.InvalidInput(let field, _)`).
///
/// Safe to share between tasks and threads.
public final class TestigoStore: Sendable {
    /// The generated binding, for calls this wrapper does not cover. Blocking.
    public let fieldStore: FieldStore

    /// Opens (or creates) the store at `path` with the 32-byte key from the Keychain
    /// (see `DatabaseKey`).
    public static func open(path: String, key: Data) async throws -> TestigoStore {
        try await Task.detached(priority: .userInitiated) {
            TestigoStore(fieldStore: try FieldStore.open(path: path, key: key))
        }.value
    }

    public init(fieldStore: FieldStore) {
        self.fieldStore = fieldStore
    }

    public func device() async throws -> DeviceInfo { try await run { try $0.device() } }

    public func clock() async throws -> ClockStatus { try await run { try $0.clock() } }

    /// Opens an incident seen in the field and returns its id.
    public func createIncident(_ incident: NewFieldIncident) async throws -> String {
        try await run { try $0.createIncident(incident: incident) }
    }

    public func incident(_ incidentId: String) async throws -> IncidentView {
        try await run { try $0.incident(incidentId: incidentId) }
    }

    public func list(_ query: ListQuery = ListQuery()) async throws -> [IncidentSummary] {
        try await run { try $0.list(query: query) }
    }

    public func incidentCount() async throws -> UInt64 { try await run { try $0.incidentCount() } }

    public func checkIn(_ incidentId: String, fix: LocationFix) async throws -> Checkpoint {
        try await run { try $0.checkIn(incidentId: incidentId, fix: fix) }
    }

    public func checkOut(_ incidentId: String, fix: LocationFix) async throws -> Checkpoint {
        try await run { try $0.checkOut(incidentId: incidentId, fix: fix) }
    }

    public func answer(_ incidentId: String, questionId: String, value: AnswerValue) async throws {
        try await run { try $0.answer(incidentId: incidentId, questionId: questionId, value: value) }
    }

    /// A free-text note on what the volunteer sees. Returns the observation id.
    public func addNote(_ incidentId: String, text: String, fix: LocationFix? = nil) async throws -> String {
        try await run { try $0.addObservation(incidentId: incidentId, kind: .note, text: text, count: nil, fix: fix) }
    }

    /// A number of something (agents, vehicles, people detained). Returns the observation id.
    public func addCount(_ incidentId: String, text: String, count: Int64, fix: LocationFix? = nil) async throws -> String {
        try await run { try $0.addObservation(incidentId: incidentId, kind: .count, text: text, count: count, fix: fix) }
    }

    /// Corrects an observation; the original stays. Returns the amendment id.
    public func amendObservation(_ incidentId: String, observationId: String, text: String, count: Int64? = nil) async throws -> String {
        try await run { try $0.amendObservation(incidentId: incidentId, observationId: observationId, text: text, count: count) }
    }

    public func proposeDetermination(_ incidentId: String, _ determination: Determination, confidence: Confidence, note: String? = nil) async throws -> String {
        try await run {
            try $0.recordEvent(incidentId: incidentId, kind: .determinationProposed, determination: determination, confidence: confidence, note: note)
        }
    }

    /// Team leads only.
    public func confirmDetermination(_ incidentId: String, _ determination: Determination, note: String? = nil) async throws -> String {
        try await run {
            try $0.recordEvent(incidentId: incidentId, kind: .determinationConfirmed, determination: determination, confidence: nil, note: note)
        }
    }

    public func markCallerNotified(_ incidentId: String, note: String? = nil) async throws -> String {
        try await run { try $0.recordEvent(incidentId: incidentId, kind: .callerNotified, determination: nil, confidence: nil, note: note) }
    }

    public func closeIncident(_ incidentId: String, note: String? = nil) async throws -> String {
        try await run { try $0.recordEvent(incidentId: incidentId, kind: .closed, determination: nil, confidence: nil, note: note) }
    }

    public func assign(_ incidentId: String, deviceId: String, active: Bool = true) async throws {
        try await run { try $0.assign(incidentId: incidentId, assigneeDeviceId: deviceId, active: active) }
    }

    /// Language of checklist texts and validation messages: "en", "es", "es-MX"…
    public func setLocale(_ locale: String) async throws {
        try await run { try $0.setLocale(locale: locale) }
    }

    /// This device's checklist for the incident, in `locale` (default: the store's).
    public func checklist(_ incidentId: String, locale: String? = nil) async throws -> Checklist {
        try await run { try $0.checklist(incidentId: incidentId, locale: locale) }
    }

    /// Every verifier's answers side by side, with their disagreements (team lead review).
    public func combinedChecklist(_ incidentId: String, locale: String? = nil) async throws -> CombinedChecklist {
        try await run { try $0.combinedChecklist(incidentId: incidentId, locale: locale) }
    }

    /// Validates an answer without writing it; throws `TestigoError.InvalidInput` with the template's message.
    public func checkAnswer(_ incidentId: String, questionId: String, value: AnswerValue) async throws {
        try await run { try $0.checkAnswer(incidentId: incidentId, questionId: questionId, value: value) }
    }

    /// The newest version of a checklist, to open an incident with.
    public func latestTemplate(_ templateId: String = defaultTemplateId(), locale: String? = nil) async throws -> TemplateInfo {
        try await run { try $0.latestTemplate(templateId: templateId, locale: locale) }
    }

    /// Removes closed incidents past retention whose changes the hub holds; returns their ids.
    public func applyRetention() async throws -> [String] {
        try await run { try $0.applyRetention() }
    }

    /// Enrols this device with the hub using a coordinator's one-time code; returns the
    /// device as enrolled (role, team).
    public func enrol(hubUrl: String, code: String) async throws -> DeviceInfo {
        try await run { try $0.enrol(hubUrl: hubUrl, code: code) }
    }

    /// Sends this device's changes and receives what it lacks. Throws
    /// `TestigoError.Sync` when the hub cannot be reached: retry later.
    public func sync(hubUrl: String? = nil) async throws -> SyncReport {
        try await run { try $0.sync(hubUrl: hubUrl) }
    }

    /// Changes the hub refused, kept on this device.
    public func quarantined() async throws -> [QuarantinedChange] {
        try await run { try $0.quarantined() }
    }

    /// Destroys the store and its files; later calls throw `TestigoError.Closed`. The caller deletes the key.
    public func wipe() async throws {
        try await run { try $0.wipe() }
    }

    /// The ids of incidents that changed, one array per committed write or sync merge,
    /// until the consuming task stops iterating. Nothing is dropped.
    public func changes() -> AsyncStream<[String]> {
        changeSignals(initial: nil)
    }

    /// One incident, now and after every change to it.
    public func incidentUpdates(_ incidentId: String) -> AsyncThrowingStream<IncidentView, Error> {
        let signals = changeSignals(initial: [incidentId])
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for await ids in signals where ids.contains(incidentId) {
                        continuation.yield(try await self.incident(incidentId))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// This device's checklist for one incident, now and after every change to it.
    public func checklistUpdates(_ incidentId: String, locale: String? = nil) -> AsyncThrowingStream<Checklist, Error> {
        let signals = changeSignals(initial: [incidentId])
        return AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                do {
                    for await ids in signals where ids.contains(incidentId) {
                        continuation.yield(try await self.checklist(incidentId, locale: locale))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A list screen's rows, now and after every change to any incident.
    public func listUpdates(_ query: ListQuery = ListQuery()) -> AsyncThrowingStream<[IncidentSummary], Error> {
        let signals = changeSignals(initial: [])
        return AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let task = Task {
                do {
                    for await _ in signals {
                        continuation.yield(try await self.list(query))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Registers the observer before yielding `initial`, so a reader starting from
    /// the initial signal cannot miss a change made while it subscribed.
    private func changeSignals(initial: [String]?) -> AsyncStream<[String]> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            do {
                let registration = try fieldStore.observe(observer: StreamObserver(continuation))
                continuation.onTermination = { _ in try? registration.cancel() }
                if let initial { continuation.yield(initial) }
            } catch {
                continuation.finish()
            }
        }
    }

    private func run<T: Sendable>(_ call: @escaping @Sendable (FieldStore) throws -> T) async throws -> T {
        let store = fieldStore
        return try await Task.detached(priority: .userInitiated) { try call(store) }.value
    }
}

/// Forwards the core's change notifications into an `AsyncStream`.
private final class StreamObserver: IncidentObserver {
    private let continuation: AsyncStream<[String]>.Continuation

    init(_ continuation: AsyncStream<[String]>.Continuation) {
        self.continuation = continuation
    }

    func incidentsChanged(incidentIds: [String]) {
        continuation.yield(incidentIds)
    }
}
