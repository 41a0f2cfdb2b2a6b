import Foundation
import Security

/// The 32-byte SQLCipher key of the field store, kept in the Keychain as a generic
/// password readable after the first unlock (so background sync works while the phone
/// is locked) and only on this device (never in a backup or iCloud Keychain).
public enum DatabaseKey {
    public enum Failure: Error {
        case keychain(OSStatus)
        case randomness(OSStatus)
        /// The Keychain holds something that is not a 32-byte key.
        case malformed
    }

    private static let service = "org.testigo.database-key"
    private static let account = "field-store"
    private static let length = 32

    /// The key, made and stored on first use. Blocking (Keychain): call off the main thread.
    public static func getOrCreate() throws -> Data {
        if let existing = try read() { return existing }
        var key = Data(count: length)
        let status = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, length, $0.baseAddress!) }
        guard status == errSecSuccess else { throw Failure.randomness(status) }
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecAttrSynchronizable as String: false,
            kSecValueData as String: key,
        ]
        switch SecItemAdd(add as CFDictionary, nil) {
        case errSecSuccess: return key
        // Another thread stored one first: use that one, never two keys.
        case errSecDuplicateItem:
            guard let stored = try read() else { throw Failure.malformed }
            return stored
        case let status: throw Failure.keychain(status)
        }
    }

    /// Deletes the key: the store it opened becomes unreadable. Part of a wipe.
    public static func destroy() throws {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw Failure.keychain(status) }
    }

    private static func read() throws -> Data? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var item: CFTypeRef?
        switch SecItemCopyMatching(query as CFDictionary, &item) {
        case errSecSuccess:
            guard let data = item as? Data, data.count == length else { throw Failure.malformed }
            return data
        case errSecItemNotFound:
            return nil
        case let status:
            throw Failure.keychain(status)
        }
    }
}
