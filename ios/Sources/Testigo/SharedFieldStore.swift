import Foundation

/// The app's one field store, shared by screens and background sync so that every
/// change reaches the same observers and one file never has two writers. The database
/// lives in Application Support, excluded from backups, and opens with the Keychain
/// key of `DatabaseKey`.
public actor SharedFieldStore {
    public static let shared = SharedFieldStore()

    /// The opening (or opened) store. A task, not a value, so callers that arrive
    /// while it opens (the actor is re-entrant across awaits) share the one opening.
    private var opening: Task<TestigoStore, Error>?

    /// The shared store, opened on first use.
    public func store() async throws -> TestigoStore {
        if let opening { return try await opening.value }
        let task = Task.detached(priority: .userInitiated) {
            let url = try Self.databaseURL()
            return try await TestigoStore.open(path: url.path, key: try DatabaseKey.getOrCreate())
        }
        opening = task
        do {
            return try await task.value
        } catch {
            // A failed open (e.g. storage full) may succeed later; do not cache it.
            opening = nil
            throw error
        }
    }

    /// Erases everything Testigo holds on this phone: the store (device identity,
    /// documents, files) and the database key. Works when the key is already gone: the
    /// files are then deleted unopened. Holders of the old store get `TestigoError.Closed`.
    public func wipe() async throws {
        let open = try? await opening?.value
        opening = nil
        if let open {
            try await open.wipe()
        }
        try await Task.detached(priority: .userInitiated) {
            let url = try Self.databaseURL()
            try wipeStoreFiles(path: url.path)
            try DatabaseKey.destroy()
            let directory = url.deletingLastPathComponent()
            if FileManager.default.fileExists(atPath: directory.path) {
                try FileManager.default.removeItem(at: directory)
            }
        }.value
    }

    private static func databaseURL() throws -> URL {
        var directory = try FileManager.default.url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            .appendingPathComponent("testigo", isDirectory: true)
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.protectionKey: FileProtectionType.completeUntilFirstUserAuthentication]
        )
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        try directory.setResourceValues(values)
        return directory.appendingPathComponent("field.db")
    }
}
