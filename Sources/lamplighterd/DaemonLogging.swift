import Foundation
import Logging
import Synchronization

/// The daemon's log level, shared by every logger so SIGHUP can change it at once.
final class SharedLogLevel: Sendable {
    private let raw: Atomic<Int>
    private static let levels = Logger.Level.allCases

    init(_ level: Logger.Level) {
        raw = Atomic(Self.levels.firstIndex(of: level) ?? 2)
    }

    /// The level now.
    var level: Logger.Level {
        get { Self.levels[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.levels.firstIndex(of: newValue) ?? 2, ordering: .relaxed) }
    }
}

/// How log lines look: `text` for people, `json` (one object a line) for log collectors.
enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// Writes log lines to standard error, as text or as one JSON object a line
/// (`{"time", "level", "label", "message", "source", "metadata": {...}}`), at the shared
/// level. Lines are written whole under one lock, so lines of different threads never mix.
struct DaemonLogHandler: LogHandler {
    let label: String
    let format: LogFormat
    let shared: SharedLogLevel
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private static let output = Mutex<Void>(())

    /// The shared level; setting it on one logger sets it for all (the daemon has one level).
    var logLevel: Logger.Level {
        get { shared.level }
        set { shared.level = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let own = event.metadata { merged.merge(own) { $1 } }
        if let error = event.error { merged["error"] = "\(error)" }
        let line: String
        switch format {
        case .text:
            let pairs = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            line = "\(Self.timestamp()) \(event.level) \(label): \(event.message)" + (pairs.isEmpty ? "" : " [\(pairs)]")
        case .json:
            var object: [String: Any] = [
                "time": Self.timestamp(), "level": event.level.rawValue, "label": label, "message": "\(event.message)",
                "source": event.source,
            ]
            if !merged.isEmpty { object["metadata"] = merged.mapValues(Self.json) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        let bytes = Data((line + "\n").utf8)
        Self.output.withLock { _ in FileHandle.standardError.write(bytes) }
    }

    /// A metadata value as JSON: strings, arrays and objects as they are.
    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let values): values.map(json)
        case .dictionary(let values): values.mapValues(json)
        }
    }

    /// Now in ISO 8601 with milliseconds, UTC.
    static func timestamp() -> String {
        Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date())
    }
}
