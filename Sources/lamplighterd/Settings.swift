import CommandLineSupport
import Foundation

/// Why a setting could not be used: the message names the key and where the value came from
/// (the flag, the environment variable, or the config file's line).
struct SettingsError: Error, CustomStringConvertible {
    /// One line for the operator.
    let description: String
}

/// Every setting of `lamplighterd`, with its config-file key. The flag is `--KEY` and the
/// environment variable `LAMPLIGHTER_KEY` (upper case, `-` as `_`); ``reloadable`` ones are
/// applied again on SIGHUP.
enum SettingKey: String, CaseIterable, Sendable {
    case db, keyFile = "key-file", fleetKey = "fleet-key"
    case lampHost = "lamp-host", lampPort = "lamp-port", apiHost = "api-host", apiPort = "api-port"
    case reportInterval = "report-interval", pingInterval = "ping-interval", requestTimeout = "request-timeout"
    case maxLinks = "max-links"
    case maxPendingHandshakes = "max-pending-handshakes", adminTokenFile = "admin-token-file", streamBuffer = "stream-buffer"
    case timezone, latitude, longitude, programCheckInterval = "program-check-interval"
    case logLevel = "log-level", logFormat = "log-format"
    case corsOrigin = "cors-origin", mapTiles = "map-tiles"
    case handshakeFailures = "handshake-failures", handshakeBackoff = "handshake-backoff"
    case eventRetention = "event-retention", auditRetention = "audit-retention", energyRetention = "energy-retention"
    case tlsCertificate = "tls-certificate", tlsKey = "tls-key", lampTLSClientCA = "lamp-tls-client-ca"
    case lampMinimumMinor = "lamp-minimum-minor"
    case faultMinWatts = "fault-min-watts", faultPowerTolerance = "fault-power-tolerance", faultMaxSwitches = "fault-max-switches"
    case faultDarkAfter = "fault-dark-after", faultHold = "fault-hold", cabinetDarkShare = "cabinet-dark-share"

    /// The environment variable, e.g. `LAMPLIGHTER_API_PORT`.
    var environment: String { "LAMPLIGHTER_" + rawValue.uppercased().replacingOccurrences(of: "-", with: "_") }

    /// The flag, e.g. `--api-port`.
    var flag: String { "--" + rawValue }

    /// Whether SIGHUP applies a changed value without a restart (and without dropping links).
    var reloadable: Bool {
        switch self {
        case .logLevel, .maxPendingHandshakes, .streamBuffer, .programCheckInterval: true
        // The files are read again on every SIGHUP; turning TLS on or off needs a restart.
        case .tlsCertificate, .tlsKey, .lampTLSClientCA: true
        default: false
        }
    }

    /// Whether the value is a secret (never printed).
    var secret: Bool { self == .fleetKey }
}

/// The settings' three sources in their order of precedence: flags, then the environment,
/// then the config file; a setting in none of them has its default.
///
/// The config file has the format of lampctl's: `key = value` lines with the keys of
/// ``SettingKey``, `#` comments, blank lines; an unknown key or a line without `=` is an error
/// naming the line. (Not swift-configuration: its optional getters fall back to the default
/// on a malformed value, exactly the silent failure these settings must not have, and its
/// file formats are JSON, without comments, or YAML, which would bring a C library.)
struct SettingsSources: Sendable {
    /// Values given as flags, by key.
    var flags: [SettingKey: String] = [:]
    /// The environment.
    var environment: [String: String] = ProcessInfo.processInfo.environment
    /// The config file's path, if any.
    var file: String?
    /// The config file's values, with their line numbers.
    var fileValues: [SettingKey: (value: String, line: Int)] = [:]

    /// Sources with the config file at `file` (which must exist) read.
    init(flags: [SettingKey: String], file: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.flags = flags
        self.environment = environment
        self.file = file
        if let file {
            fileValues = try Self.parse(file: file)
        }
    }

    /// The config file named by `--config`, else `LAMPLIGHTER_CONFIG`.
    static func configPath(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        flag ?? environment["LAMPLIGHTER_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Reads a config file.
    static func parse(file: String) throws -> [SettingKey: (value: String, line: Int)] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw SettingsError(description: "cannot read the config file \(file)")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: file)
    }

    /// Parses config-file text; errors name the file and line.
    static func parse(_ text: String, file: String) throws -> [SettingKey: (value: String, line: Int)] {
        var values: [SettingKey: (value: String, line: Int)] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw SettingsError(description: "\(file):\(index + 1): expected 'key = value'")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard let key = SettingKey(rawValue: name) else {
                let near = SettingKey.allCases.map(\.rawValue).filter { Suggestion.distance($0, name) <= 2 }
                throw SettingsError(
                    description: "\(file):\(index + 1): unknown key '\(name)'"
                        + (near.isEmpty ? " (keys: \(SettingKey.allCases.map(\.rawValue).joined(separator: ", ")))" : "; did you mean '\(near[0])'?"))
            }
            guard values[key] == nil else {
                throw SettingsError(description: "\(file):\(index + 1): \(name) is set twice (first on line \(values[key]?.line ?? 0))")
            }
            values[key] = (value, index + 1)
        }
        return values
    }

    /// Where a key's value comes from, and the value: the flag, the environment or the file.
    func lookup(_ key: SettingKey) -> (value: String, source: String)? {
        if let value = flags[key] { return (value, key.flag) }
        if let value = environment[key.environment], !value.isEmpty { return (value, key.environment) }
        if key == .logLevel, let value = environment["LOG_LEVEL"], !value.isEmpty { return (value, "LOG_LEVEL") }
        if let (value, line) = fileValues[key], let file { return (value, "\(file):\(line): \(key.rawValue)") }
        return nil
    }

    /// A string setting.
    func string(_ key: SettingKey) -> String? { lookup(key)?.value }

    /// A string setting with a default.
    func string(_ key: SettingKey, default value: String) -> String { lookup(key)?.value ?? value }

    /// A whole-number setting within `range`.
    func integer(_ key: SettingKey, default value: Int, range: ClosedRange<Int>, unit: String = "") throws -> Int {
        guard let (text, source) = lookup(key) else { return value }
        guard let number = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw SettingsError(
                description: "\(source): '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)\(unit)")
        }
        return number
    }

    /// A decimal setting within `range`, or nil when not set.
    func decimal(_ key: SettingKey, range: ClosedRange<Double>) throws -> Double? {
        guard let (text, source) = lookup(key) else { return nil }
        guard let number = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw SettingsError(description: "\(source): '\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// A string setting `problem` accepts (it returns nil, or what is wrong), or nil when not set.
    func checked(_ key: SettingKey, _ problem: (String) -> String?) throws -> String? {
        guard let (text, source) = lookup(key) else { return nil }
        if let problem = problem(text) { throw SettingsError(description: "\(source): \(problem)") }
        return text
    }

    /// A setting that must be one of `choices`.
    func choice(_ key: SettingKey, default value: String, choices: [String]) throws -> String {
        guard let (text, source) = lookup(key) else { return value }
        guard choices.contains(text) else {
            throw SettingsError(description: "\(source): '\(text)' is not one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    /// Every setting that has a value, with its source, secrets hidden: for `lamplighterd config`.
    func effective() -> [(key: SettingKey, value: String, source: String)] {
        SettingKey.allCases.compactMap { key in
            lookup(key).map { (key, key.secret ? "(secret)" : key == .db ? DatabaseLocation.shown($0.value) : $0.value, $0.source) }
        }
    }
}
