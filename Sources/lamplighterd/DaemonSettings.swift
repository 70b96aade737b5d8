import FleetCore
import Controller
import Foundation
import LampProtocol
import LightingPrograms
import Logging

/// Every setting of `lamplighterd run`, resolved (flag, then environment, then config file,
/// then default) and checked: a bad value is a ``SettingsError`` naming its key and source.
struct DaemonSettings: Sendable, Equatable {
    /// The SQLite file, absolute.
    var database: DatabaseLocation
    /// The fleet key file, absolute.
    var keyFile: String
    /// Where lamps connect: address and port.
    var lampHost: String
    var lampPort: Int
    /// The operator API: address and port.
    var apiHost: String
    var apiPort: Int
    /// Lamps' status report interval, ping period and request timeout, seconds.
    var reportInterval: Int
    var pingInterval: Int
    var requestTimeout: Int
    /// Connections on the lamp port at once, in any phase (default: the open-file limit less 64).
    var maxLinks: Int
    /// Links allowed in their handshake at once.
    var maxPendingHandshakes: Int
    /// Failed handshakes from one address in a minute before it is backed off (0: no limit),
    /// and its first backoff, seconds (doubling up to 600 s or this, if longer).
    var handshakeFailures: Int
    var handshakeBackoff: Int
    /// Days the event history and the audit log are kept (0: for ever).
    var eventRetention: Int
    var auditRetention: Int
    /// Days hourly energy is kept (0: for ever).
    var energyRetention: Int
    /// The lowest protocol minor a lamp may announce (2: only lamps that authenticate frames).
    var lampMinimumMinor: Int
    /// Where the first admin token is written, absolute.
    var adminTokenFile: String
    /// Events a stream client may have waiting.
    var streamBuffer: Int
    /// The time-zone setting as given (nil: the system's).
    var timezone: String?
    /// The place of lamps registered without one.
    var latitude: Double?
    var longitude: Double?
    /// Seconds between program checks.
    var programCheckInterval: Int
    /// Fault detection's thresholds (`fault-*`, `cabinet-dark-share`).
    var faults: FaultThresholds
    /// Log level and format.
    var logLevel: Logger.Level
    var logFormat: LogFormat
    /// The origin allowed to call the API from a browser (nil: no CORS headers).
    var corsOrigin: String?
    /// The dashboard's map tile server URL (nil: lamps on a plain background).
    var mapTiles: String?
    /// TLS for both ports, absolute paths: certificate chain and key (nil: plain ws:// and
    /// http://), and the CA lamps' client certificates must chain to (nil: none asked).
    var tlsCertificate: String?
    var tlsKey: String?
    var lampTLSClientCA: String?

    /// The lamp port's TLS files, when TLS is on.
    var lampTLS: ServerTLSFiles? {
        guard let tlsCertificate, let tlsKey else { return nil }
        return ServerTLSFiles(certificate: tlsCertificate, key: tlsKey, clientCA: lampTLSClientCA)
    }

    /// The operator API's TLS files, when TLS is on (no client certificates: tokens).
    var apiTLS: ServerTLSFiles? {
        guard let tlsCertificate, let tlsKey else { return nil }
        return ServerTLSFiles(certificate: tlsCertificate, key: tlsKey)
    }

    /// Resolves and checks every setting.
    init(_ sources: SettingsSources) throws {
        database = try DatabaseLocation(sources.string(.db, default: "lamplighter.db"))
        keyFile = URL(fileURLWithPath: sources.string(.keyFile, default: "lamplighter.key")).path
        lampHost = sources.string(.lampHost, default: "0.0.0.0")
        lampPort = try sources.integer(.lampPort, default: 7350, range: 0...65535)
        apiHost = sources.string(.apiHost, default: "127.0.0.1")
        apiPort = try sources.integer(.apiPort, default: 7380, range: 0...65535)
        reportInterval = try sources.integer(.reportInterval, default: 60, range: 1...3600, unit: " seconds")
        pingInterval = try sources.integer(.pingInterval, default: 20, range: 1...3600, unit: " seconds")
        requestTimeout = try sources.integer(.requestTimeout, default: 10, range: 1...3600, unit: " seconds")
        maxLinks = try sources.integer(.maxLinks, default: GatewayConfiguration.defaultMaximumLinks(), range: 1...10_000_000)
        maxPendingHandshakes = try sources.integer(.maxPendingHandshakes, default: 2048, range: 1...1_000_000)
        handshakeFailures = try sources.integer(.handshakeFailures, default: 20, range: 0...1_000_000)
        handshakeBackoff = try sources.integer(.handshakeBackoff, default: 10, range: 1...86_400, unit: " seconds")
        eventRetention = try sources.integer(.eventRetention, default: 90, range: 0...36_500, unit: " days")
        auditRetention = try sources.integer(.auditRetention, default: 365, range: 0...36_500, unit: " days")
        energyRetention = try sources.integer(.energyRetention, default: 400, range: 0...36_500, unit: " days")
        lampMinimumMinor = try sources.integer(.lampMinimumMinor, default: 0, range: 0...Int(LampProtocolVersion.minor))
        adminTokenFile = URL(fileURLWithPath: sources.string(.adminTokenFile, default: "lamplighter.admin-token")).path
        streamBuffer = try sources.integer(.streamBuffer, default: 4096, range: 16...1_000_000, unit: " events")
        timezone = sources.string(.timezone)
        if let timezone, let source = sources.lookup(.timezone)?.source {
            do {
                _ = try PosixTimeZone.resolve(timezone, readFile: Self.readFile)
            } catch {
                throw SettingsError(description: "\(source): \(error.message)")
            }
        }
        latitude = try sources.decimal(.latitude, range: -90...90)
        longitude = try sources.decimal(.longitude, range: -180...180)
        if (latitude == nil) != (longitude == nil) {
            let (given, missing) = latitude == nil ? (SettingKey.longitude, SettingKey.latitude) : (.latitude, .longitude)
            throw SettingsError(
                description: "\(sources.lookup(given)?.source ?? given.flag) is set without \(missing.rawValue): give latitude and longitude together")
        }
        programCheckInterval = try sources.integer(.programCheckInterval, default: 60, range: 1...3600, unit: " seconds")
        faults = FaultThresholds()
        faults.minWatts = try sources.decimal(.faultMinWatts, range: 0...6553) ?? faults.minWatts
        faults.powerTolerancePercent = try sources.decimal(.faultPowerTolerance, range: 1...1000) ?? faults.powerTolerancePercent
        faults.maxSwitchesPerHour = try sources.integer(.faultMaxSwitches, default: faults.maxSwitchesPerHour, range: 1...3600)
        faults.darkAfterSeconds = UInt64(try sources.integer(.faultDarkAfter, default: Int(faults.darkAfterSeconds), range: 1...86400, unit: " seconds"))
        faults.holdSeconds = UInt64(try sources.integer(.faultHold, default: Int(faults.holdSeconds), range: 0...3600, unit: " seconds"))
        faults.cabinetDarkShare = try sources.decimal(.cabinetDarkShare, range: 0.01...1) ?? faults.cabinetDarkShare
        let level = try sources.choice(.logLevel, default: "info", choices: Logger.Level.allCases.map(\.rawValue))
        // choice() allowed only the levels' raw values.
        logLevel = Logger.Level(rawValue: level) ?? .info
        logFormat = LogFormat(rawValue: try sources.choice(.logFormat, default: "text", choices: LogFormat.allCases.map(\.rawValue))) ?? .text
        corsOrigin = try sources.checked(.corsOrigin, OperatorHTTPSettings.corsOriginProblem)
        mapTiles = try sources.checked(.mapTiles, OperatorHTTPSettings.mapTilesProblem)
        let absolute = { (key: SettingKey) in sources.string(key).map { URL(fileURLWithPath: $0).path } }
        tlsCertificate = absolute(.tlsCertificate)
        tlsKey = absolute(.tlsKey)
        lampTLSClientCA = absolute(.lampTLSClientCA)
        if (tlsCertificate == nil) != (tlsKey == nil) {
            let (given, missing) = tlsCertificate == nil ? (SettingKey.tlsKey, SettingKey.tlsCertificate) : (.tlsCertificate, .tlsKey)
            throw SettingsError(
                description: "\(sources.lookup(given)?.source ?? given.flag) is set without \(missing.rawValue): TLS needs the certificate and its key")
        }
        if lampTLSClientCA != nil, tlsCertificate == nil {
            throw SettingsError(
                description: "\(sources.lookup(.lampTLSClientCA)?.source ?? "--lamp-tls-client-ca") needs TLS: set tls-certificate and tls-key too")
        }
        // Read the files now, so a bad one stops the start (or a SIGHUP) with its name.
        if let files = lampTLS {
            do {
                _ = try files.makeContext()
            } catch {
                let key: SettingKey =
                    switch error.file {
                    case .certificate: .tlsCertificate
                    case .key: .tlsKey
                    case .clientCA: .lampTLSClientCA
                    }
                let source = sources.lookup(key)?.source
                throw SettingsError(description: (source.map { "\($0): " } ?? "") + error.description)
            }
        }
    }

    /// The fleet's time-zone rule: the setting's, else the system's.
    var zone: PosixTimeZone {
        // init checked that the setting resolves.
        (try? timezone.map { text throws(PosixTimeZone.ParseError) in try PosixTimeZone.resolve(text, readFile: Self.readFile) })
            ?? PosixTimeZone.system(readFile: Self.readFile)
    }

    /// A file's bytes, for the time-zone lookups.
    static func readFile(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// What a reload may change, by key, with the old and new values.
    func changes(to new: DaemonSettings) -> [(key: SettingKey, old: String, new: String)] {
        let pairs: [(SettingKey, String, String)] = [
            (.db, database.description, new.database.description), (.keyFile, keyFile, new.keyFile), (.lampHost, lampHost, new.lampHost),
            (.lampPort, "\(lampPort)", "\(new.lampPort)"), (.apiHost, apiHost, new.apiHost), (.apiPort, "\(apiPort)", "\(new.apiPort)"),
            (.reportInterval, "\(reportInterval)", "\(new.reportInterval)"), (.pingInterval, "\(pingInterval)", "\(new.pingInterval)"),
            (.requestTimeout, "\(requestTimeout)", "\(new.requestTimeout)"),
            (.maxLinks, "\(maxLinks)", "\(new.maxLinks)"),
            (.maxPendingHandshakes, "\(maxPendingHandshakes)", "\(new.maxPendingHandshakes)"),
            (.lampMinimumMinor, "\(lampMinimumMinor)", "\(new.lampMinimumMinor)"),
            (.adminTokenFile, adminTokenFile, new.adminTokenFile), (.streamBuffer, "\(streamBuffer)", "\(new.streamBuffer)"),
            (.timezone, timezone ?? "(system)", new.timezone ?? "(system)"),
            (.latitude, latitude.map { "\($0)" } ?? "-", new.latitude.map { "\($0)" } ?? "-"),
            (.longitude, longitude.map { "\($0)" } ?? "-", new.longitude.map { "\($0)" } ?? "-"),
            (.programCheckInterval, "\(programCheckInterval)", "\(new.programCheckInterval)"),
            (.logLevel, logLevel.rawValue, new.logLevel.rawValue), (.logFormat, logFormat.rawValue, new.logFormat.rawValue),
            (.corsOrigin, corsOrigin ?? "-", new.corsOrigin ?? "-"), (.mapTiles, mapTiles ?? "-", new.mapTiles ?? "-"),
            (.handshakeFailures, "\(handshakeFailures)", "\(new.handshakeFailures)"),
            (.handshakeBackoff, "\(handshakeBackoff)", "\(new.handshakeBackoff)"),
            (.eventRetention, "\(eventRetention)", "\(new.eventRetention)"), (.auditRetention, "\(auditRetention)", "\(new.auditRetention)"),
            (.energyRetention, "\(energyRetention)", "\(new.energyRetention)"),
            (.tlsCertificate, tlsCertificate ?? "-", new.tlsCertificate ?? "-"), (.tlsKey, tlsKey ?? "-", new.tlsKey ?? "-"),
            (.lampTLSClientCA, lampTLSClientCA ?? "-", new.lampTLSClientCA ?? "-"),
        ]
        return pairs.filter { $0.1 != $0.2 }.map { (key: $0.0, old: $0.1, new: $0.2) }
    }
}
