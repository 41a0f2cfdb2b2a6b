import os

/// Sends the Rust core's log events to the unified log (Console.app, `log stream`).
public final class OSLogLogger: Logger {
    private let osLog: os.Logger

    public init(subsystem: String = "org.testigo", category: String = "core") {
        osLog = os.Logger(subsystem: subsystem, category: category)
    }

    public func log(record: LogRecord) {
        let message = "\(record.target): \(record.message)"
        switch record.level {
        case .error: osLog.error("\(message, privacy: .public)")
        case .warn: osLog.warning("\(message, privacy: .public)")
        case .info: osLog.info("\(message, privacy: .public)")
        case .debug, .trace: osLog.debug("\(message, privacy: .public)")
        }
    }

    /// Installs an os_log logger for the process; call once at launch.
    public static func install(level: LogLevel = .info) throws {
        try setLogger(logger: OSLogLogger(), maxLevel: level)
    }
}
