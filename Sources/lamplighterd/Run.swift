import ArgumentParser
import Controller
import FleetCore
import FleetStore
import Foundation
import Hummingbird
import HummingbirdWebSocket
import LampAuth
import LightingPrograms
import Logging
import Metrics
import NIOCore
import OperatorAPI
import Prometheus
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `lamplighterd run`: the controller.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the controller (the default).",
        discussion: """
            Lamps connect to ws://LAMP-HOST:LAMP-PORT/lamp/v1; operators use \
            http://API-HOST:API-PORT/api/v1 with a bearer token (see 'lamplighterd token'); on \
            first start, with no token yet, it writes an admin token to --admin-token-file. The \
            API listens on 127.0.0.1 by default. With --tls-certificate and --tls-key both ports \
            speak TLS only: lamps connect to wss://, operators use https:// (and the stream \
            wss://); --lamp-tls-client-ca also asks lamps for a client certificate.

            Every setting is a flag, an environment variable LAMPLIGHTER_<FLAG> (e.g. \
            LAMPLIGHTER_API_PORT) and a key of the --config file ('api-port = 7380'); a flag \
            wins over the environment, which wins over the file. 'lamplighterd config' shows \
            what is in effect and where it came from.

            SIGTERM or SIGINT stops it gracefully: lamps get close code 1001, pending state is \
            written. SIGHUP reads the config file again and applies log-level, \
            max-pending-handshakes, stream-buffer and program-check-interval without dropping \
            a link (tokens are checked against the database on every request, so they need no \
            reload); it reads the TLS files again too: new connections get the new certificate, \
            open links keep theirs, and a bad file keeps the previous one. It says what it \
            applied and what needs a restart.
            """)

    @OptionGroup var options: RunOptions

    func run() async throws {
        // Before any event loop starts: one malloc arena per core, not glibc's eight
        // (AllocatorArenas: the RSS per link halves and stops varying).
        AllocatorArenas.limit()
        // Everything the daemon creates (the database with its WAL and shared-memory files, the
        // key, the first token) is the service user's alone.
        umask(0o077)
        let (settings, sources) = try options.settings()
        let logLevel = SharedLogLevel(settings.logLevel)
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in DaemonLogHandler(label: label, format: format, shared: logLevel) }
        let logger = Logger(label: "lamplighterd")

        if sources.lookup(.fleetKey) == nil { try FileChecks.checkKeyFile(settings.keyFile) }
        let key = try options.key.load(sources, createIfMissing: true)
        // A SQLite file is checked and locked (one daemon per file); a PostgreSQL database is
        // the server's to guard.
        let sqlitePath = settings.database.path
        let existed = sqlitePath.map { FileManager.default.fileExists(atPath: $0) } ?? true
        if let sqlitePath {
            try FileChecks.checkDatabaseWritable(sqlitePath)
            for warning in FileChecks.databaseWarnings(sqlitePath) {
                logger.warning("\(warning)")
            }
            if existed { try await Self.lock(sqlitePath) }
        }
        let store = try await settings.database.open(logger: Logger(label: "lamp.store"))
        if let sqlitePath, !existed { try await Self.lock(sqlitePath) }
        let firstToken = try await FirstToken.ensure(store: store, file: settings.adminTokenFile, logger: logger)
        // The report interval is part of each lamp's desired config: a changed flag reaches
        // every lamp as a new config version (the welcome's value only covers a lamp with none).
        let reconfigured = try await store.setReportInterval(UInt16(settings.reportInterval), atMilliseconds: WallClock.nowMilliseconds())
        let fleet = FleetState(
            stored: try await store.loadAll(), highestVersion: try await store.highestControlVersion(),
            highestProgramRevision: try await store.highestProgramRevision())
        let zone = settings.zone
        let programs = try await store.programs()
        fleet.withModel {
            $0.loadPrograms(programs, defaults: ProgramDefaults(timeZone: zone, latitude: settings.latitude, longitude: settings.longitude))
        }

        var gatewayConfiguration = GatewayConfiguration(host: settings.lampHost, port: settings.lampPort)
        gatewayConfiguration.reportIntervalSeconds = UInt16(settings.reportInterval)
        gatewayConfiguration.pingIntervalSeconds = UInt16(settings.pingInterval)
        gatewayConfiguration.requestTimeoutMilliseconds = UInt64(settings.requestTimeout) * 1000
        // DaemonSettings checked 0...2.
        gatewayConfiguration.minimumLampMinorVersion = UInt8(settings.lampMinimumMinor)
        gatewayConfiguration.maximumPendingHandshakes = settings.maxPendingHandshakes
        gatewayConfiguration.maximumLinks = settings.maxLinks
        gatewayConfiguration.handshakeFailureLimits.maximumFailures = settings.handshakeFailures
        gatewayConfiguration.handshakeFailureLimits.firstBackoffMilliseconds = UInt64(settings.handshakeBackoff) * 1000
        gatewayConfiguration.handshakeFailureLimits.maximumBackoffMilliseconds = UInt64(max(600, settings.handshakeBackoff)) * 1000

        var history = HistoryLimits()
        history.eventRetentionDays = settings.eventRetention == 0 ? nil : settings.eventRetention
        history.auditRetentionDays = settings.auditRetention == 0 ? nil : settings.auditRetention
        history.energyRetentionDays = settings.energyRetention == 0 ? nil : settings.energyRetention
        let lampTLS: ReloadableTLSContext?
        let apiTLS: ReloadableTLSContext?
        do {
            lampTLS = try settings.lampTLS.map { files throws(ServerTLSError) in try ReloadableTLSContext(files: files) }
            apiTLS = try settings.apiTLS.map { files throws(ServerTLSError) in try ReloadableTLSContext(files: files) }
        } catch {
            throw DaemonExit.fail(error.description, DaemonExit.badSetting)
        }
        gatewayConfiguration.tls = lampTLS

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        Gauge(label: "lamplighter_build_info", dimensions: [("version", LamplighterVersion.current)]).record(1)
        let controller = FleetController(
            store: store, fleet: fleet, fleetKey: key.key, olderFleetKeys: key.older,
            keyFile: sources.lookup(.fleetKey) == nil ? key.source : nil, gateway: gatewayConfiguration,
            programCheckInterval: .seconds(settings.programCheckInterval), streamBuffer: settings.streamBuffer,
            history: history, faults: settings.faults, logger: logger)
        let gateway = controller.gateway
        let metrics = controller.metrics

        print("lamplighterd \(LamplighterVersion.current): database \(settings.database) (\(fleet.count) lamps registered)")
        if let file = sources.file {
            print("lamplighterd: settings from \(file), the environment and the flags")
        }
        if key.generated {
            print("lamplighterd: generated a new fleet key in \(key.source) (keep it secret; lampsim and provisioning need it)")
        } else {
            print("lamplighterd: fleet key from \(key.source)")
        }
        if reconfigured > 0 {
            print("lamplighterd: report interval \(settings.reportInterval) s: \(reconfigured) lamps get a new config version")
        }
        print(Self.programsLine(settings, zone: zone))
        if let firstToken {
            print("lamplighterd: wrote the first admin token to \(firstToken) (for lampctl: export LAMPLIGHTER_TOKEN=$(cat \(firstToken)))")
        }
        let apiHost = settings.apiHost
        let apiPort = settings.apiPort
        let router = OperatorHTTPServer.router(
            service: controller.service,
            metrics: {
                metrics.refresh(fleet: fleet, gateway: gateway)
                return registry.emitToString()
            }, settings: OperatorHTTPSettings(corsOrigin: settings.corsOrigin, mapTiles: settings.mapTiles))
        let application = Application(
            router: router,
            server: OperatorHTTPServer.server(service: controller.service, tls: apiTLS),
            configuration: .init(address: .hostname(apiHost, port: apiPort), serverName: "lamplighterd"),
            onServerRunning: { channel in
                guard let lampAddress = try? await gateway.listeningAddress() else { return }
                let apiPort = channel.localAddress?.port ?? 0
                let (ws, http) = lampTLS == nil ? ("ws", "http") : ("wss", "https")
                let clientCertificates = settings.lampTLSClientCA.map { " (client certificates signed by \($0))" } ?? ""
                print("lamplighterd: lamps connect to \(ws)://\(lampAddress.ipAddress ?? "?"):\(lampAddress.port ?? 0)/lamp/v1\(clientCertificates)")
                print("lamplighterd: operator API on \(http)://\(apiHost):\(apiPort)/api/v1")
                let browserHost = ["0.0.0.0", "::"].contains(apiHost) ? "127.0.0.1" : apiHost
                print("lamplighterd: dashboard on \(http)://\(browserHost):\(apiPort)/ (sign in with a token)")
                if let certificate = settings.tlsCertificate {
                    print("lamplighterd: TLS certificate \(certificate) (SIGHUP reloads it; open links keep theirs)")
                }
                print("lamplighterd: ready")
                fflush(nil)
            },
            logger: logger)
        let current = Mutex(settings)
        let givenFlags = options.flags.compactMapValues { $0 }
        let configFlag = options.config.config
        let tlsReloads = Counter(label: "lamplighter_tls_reloads_total", dimensions: [("outcome", "reloaded")])
        let tlsReloadFailures = Counter(label: "lamplighter_tls_reloads_total", dimensions: [("outcome", "failed")])
        let reload = ReloadService(logger: logger) {
            let next: DaemonSettings
            do {
                (next, _) = try RunOptions.settings(flags: givenFlags, configFlag: configFlag)
            } catch {
                // A bad TLS file is a settings error too: the running context stays.
                if lampTLS != nil { tlsReloadFailures.increment() }
                throw error
            }
            var changes = current.withLock { $0.changes(to: next) }
            let tlsKeys: Set<SettingKey> = [.tlsCertificate, .tlsKey, .lampTLSClientCA]
            if (next.lampTLS == nil) != (lampTLS == nil) {
                // TLS on or off changes the ports' scheme: a restart; the running TLS stays as it is.
                changes = changes.map { tlsKeys.contains($0.key) ? (key: $0.key, old: $0.old, new: $0.new + " (TLS on or off needs a restart)") : $0 }
                print("lamplighterd: SIGHUP: turning TLS \(lampTLS == nil ? "on" : "off") needs a restart; the ports keep their scheme")
            } else if let lampTLS, let apiTLS, let lampFiles = next.lampTLS, let apiFiles = next.apiTLS {
                do {
                    try lampTLS.reload(from: lampFiles)
                    try apiTLS.reload(from: apiFiles)
                } catch {
                    tlsReloadFailures.increment()
                    print("lamplighterd: SIGHUP: \(error); new connections keep the previous certificate")
                    fflush(nil)
                    throw error
                }
                tlsReloads.increment()
                print("lamplighterd: SIGHUP: reloaded the TLS certificate \(lampFiles.certificate): new connections use it; open links and streams keep theirs")
                logger.notice("TLS certificate reloaded", metadata: ["tls.certificate": "\(lampFiles.certificate)"])
            }
            for change in changes where change.key.reloadable {
                switch change.key {
                case .logLevel: logLevel.level = next.logLevel
                case .maxPendingHandshakes: gateway.setMaximumPendingHandshakes(next.maxPendingHandshakes)
                case .streamBuffer: controller.hub.setBufferLimit(next.streamBuffer)
                case .programCheckInterval: controller.programWatch.setInterval(.seconds(next.programCheckInterval))
                default: break
                }
            }
            current.withLock { current in
                current.logLevel = next.logLevel
                current.maxPendingHandshakes = next.maxPendingHandshakes
                current.streamBuffer = next.streamBuffer
                current.programCheckInterval = next.programCheckInterval
                if (next.lampTLS == nil) == (lampTLS == nil) {
                    current.tlsCertificate = next.tlsCertificate
                    current.tlsKey = next.tlsKey
                    current.lampTLSClientCA = next.lampTLSClientCA
                }
            }
            return changes
        }
        let group = ServiceGroup(
            configuration: .init(
                services: controller.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
                    + [.init(service: application), .init(service: reload)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE || error.errnoCode == EADDRNOTAVAIL || error.errnoCode == EACCES {
            throw DaemonExit.fail(
                "cannot listen for the operator API on \(apiHost):\(apiPort): \(String(cString: strerror(error.errnoCode)))"
                    + (error.errnoCode == EADDRINUSE ? " (another lamplighterd? --api-port or LAMPLIGHTER_API_PORT picks another port)" : ""),
                ExitCode.failure)
        } catch let error as GatewayError {
            throw DaemonExit.fail(error.description, ExitCode.failure)
        }
        print("lamplighterd: stopped")
    }

    /// Takes the database's lock, waiting a few seconds for a provisioning command to finish;
    /// refuses when another daemon holds it.
    static func lock(_ path: String) async throws {
        for _ in 0..<20 {
            if try DatabaseLock.take(path, exclusive: true) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DaemonExit.fail("another process holds \(path): is a lamplighterd running on it already?", DaemonExit.busy)
    }

    /// Where lighting programs run: the time zone and the default place, and where each came from.
    static func programsLine(_ settings: DaemonSettings, zone: PosixTimeZone) -> String {
        var line = "lamplighterd: lighting programs run on local time \(zone.text)"
        line += settings.timezone.map { " (\($0))" } ?? " (the system's; --timezone sets the fleet's)"
        if let latitude = settings.latitude, let longitude = settings.longitude {
            line += "; lamps without a place of their own are at \(latitude), \(longitude)"
        } else {
            line += "; only lamps with a registered place can run one (--latitude/--longitude set a default)"
        }
        return line
    }
}

/// SIGHUP: reads the settings again and applies what can change without dropping a link.
struct ReloadService: Service {
    let logger: Logger
    /// Applies the new settings; returns what changed (also what it did not apply).
    let apply: @Sendable () throws -> [(key: SettingKey, old: String, new: String)]

    func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in hangups {
                reload()
            }
        }
    }

    func reload() {
        do {
            let changes = try apply()
            let applied = changes.filter(\.key.reloadable)
            let pending = changes.filter { !$0.key.reloadable }
            var line = "lamplighterd: SIGHUP: reloaded the settings"
            line += applied.isEmpty ? "; nothing to apply" : "; applied " + applied.map { "\($0.key.rawValue) \($0.new) (was \($0.old))" }.joined(separator: ", ")
            if !pending.isEmpty {
                line += "; needs a restart: " + pending.map { "\($0.key.rawValue) \($0.new) (running with \($0.old))" }.joined(separator: ", ")
            }
            print(line)
            fflush(nil)
            logger.notice(
                "settings reloaded",
                metadata: [
                    "settings.applied": .array(applied.map { .string($0.key.rawValue) }),
                    "settings.needRestart": .array(pending.map { .string($0.key.rawValue) }),
                ])
        } catch {
            // settings() printed why; the running settings stay.
            print("lamplighterd: SIGHUP: the settings were not reloaded; running with the previous ones")
            fflush(nil)
            logger.error("settings reload failed", metadata: ["error": "\(error)"])
        }
    }
}

/// Every setting of `run` as a flag (the environment and the config file have the same).
struct RunOptions: ParsableArguments {
    @OptionGroup var config: ConfigOption

    @Option(
        name: [.customLong("db"), .customLong("database")],
        help: "SQLite database file, created on first start (default lamplighter.db), or a postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE URL.")
    var database: String?

    @OptionGroup var key: KeyOptions

    @Option(help: "Address lamps connect to (default 0.0.0.0).")
    var lampHost: String?

    @Option(help: "Port lamps connect to; 0 picks a free one (default 7350).")
    var lampPort: Int?

    @Option(help: "Address of the operator API (default 127.0.0.1).")
    var apiHost: String?

    @Option(help: "Port of the operator API; 0 picks a free one (default 7380).")
    var apiPort: Int?

    @Option(help: "Seconds between lamps' status reports, 1 to 3600 (default 60).")
    var reportInterval: Int?

    @Option(help: "Seconds between pings to each lamp, 1 to 3600; a lamp silent for two is dropped (default 20).")
    var pingInterval: Int?

    @Option(help: "Seconds to wait for a lamp's acknowledgement before sending again, 1 to 3600 (default 10).")
    var requestTimeout: Int?

    @Option(help: "Connections on the lamp port at once; one more is closed when accepted, and its lamp moves on (default: the open-file limit less 64).")
    var maxLinks: Int?

    @Option(help: "Lamps allowed in their handshake at once; more are told to retry (1013) (default 2048; SIGHUP reloads).")
    var maxPendingHandshakes: Int?

    @Option(help: "Failed lamp handshakes from one address within a minute before its new connections are refused for a while; 0: no limit (default 20).")
    var handshakeFailures: Int?

    @Option(help: "Seconds an address is refused after too many failed handshakes; doubles at each new offence up to 600 (default 10).")
    var handshakeBackoff: Int?

    @Option(help: "Days the event history is kept; older events are deleted hourly; 0 keeps them for ever (default 90).")
    var eventRetention: Int?

    @Option(help: "Days the audit log is kept; older entries are deleted hourly; 0 keeps them for ever (default 365).")
    var auditRetention: Int?
    @Option(help: "Days hourly energy is kept; older hours are deleted hourly; 0 keeps them for ever (default 400).")
    var energyRetention: Int?
    @Option(help: "Refuse lamps whose protocol minor is below this, 0 to 2 (4007); 2 admits only lamps that authenticate every frame (default 0).")
    var lampMinimumMinor: Int?

    @Option(help: "The fleet's time zone for lighting programs: an IANA name or a POSIX rule (default: the system's).")
    var timezone: String?

    @Option(parsing: .unconditional, help: "Latitude for lamps registered without one (lighting programs need a place); south is negative.")
    var latitude: Double?

    @Option(parsing: .unconditional, help: "Longitude for lamps registered without one; west is negative.")
    var longitude: Double?

    @Option(help: "Seconds between comparisons of each lamp's report with its program (default 60; SIGHUP reloads).")
    var programCheckInterval: Int?

    @Option(help: "Fault detection: a lamp expected on that draws less (watts) has failed (default 1).")
    var faultMinWatts: Double?

    @Option(help: "Fault detection: percent a lit lamp's power may be off its wattage x level (linear in level) (default 25).")
    var faultPowerTolerance: Double?

    @Option(help: "Fault detection: more on/off switches than this in an hour is cycling (default 10).")
    var faultMaxSwitches: Int?

    @Option(help: "Fault detection: seconds offline or unreported while it should be lit before a lamp is dark at night (default 900).")
    var faultDarkAfter: Int?

    @Option(help: "Fault detection: seconds a fault must hold before its incident opens, and be gone before it clears (default 60).")
    var faultHold: Int?

    @Option(help: "Fault detection: the share of a cabinet's lamps (at least 3) going offline together that is one 'cabinet power lost' incident (default 0.8).")
    var cabinetDarkShare: Double?

    @Option(help: "Where the first admin token is written when the database has none (default lamplighter.admin-token).")
    var adminTokenFile: String?

    @Option(help: "Events one event-stream client may have waiting before it is disconnected as too slow (default 4096; SIGHUP reloads).")
    var streamBuffer: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info; SIGHUP reloads; env LOG_LEVEL too).")
    var logLevel: String?

    @Option(help: "Log format on standard error: text, or json (one object a line, with the metadata) (default text).")
    var logFormat: String?

    @Option(help: "Let web apps from this origin call the API: e.g. https://ops.example.org, or * for any (default: no CORS headers).")
    var corsOrigin: String?

    @Option(help: "A map tile server the dashboard draws under the lamps, a URL with {z}, {x} and {y} (default: none, lamps on a plain background).")
    var mapTiles: String?

    @Option(help: "TLS certificate chain (PEM) for both ports: lamps then connect to wss://, operators to https:// (with --tls-key; SIGHUP reloads the files).")
    var tlsCertificate: String?

    @Option(help: "The TLS certificate's private key (PEM, unencrypted).")
    var tlsKey: String?

    @Option(name: .customLong("lamp-tls-client-ca"), help: "Lamps must present a TLS client certificate signed by this CA (PEM) (needs --tls-certificate; default: none asked).")
    var lampTLSClientCA: String?

    /// The flags given, by setting.
    var flags: [SettingKey: String?] {
        [
            .db: database, .keyFile: key.keyFile, .fleetKey: key.fleetKey, .lampHost: lampHost, .lampPort: lampPort.map { "\($0)" },
            .apiHost: apiHost, .apiPort: apiPort.map { "\($0)" }, .reportInterval: reportInterval.map { "\($0)" },
            .pingInterval: pingInterval.map { "\($0)" }, .requestTimeout: requestTimeout.map { "\($0)" },
            .maxLinks: maxLinks.map { "\($0)" },
            .maxPendingHandshakes: maxPendingHandshakes.map { "\($0)" }, .lampMinimumMinor: lampMinimumMinor.map { "\($0)" },
            .timezone: timezone, .latitude: latitude.map { "\($0)" },
            .longitude: longitude.map { "\($0)" }, .programCheckInterval: programCheckInterval.map { "\($0)" },
            .adminTokenFile: adminTokenFile, .streamBuffer: streamBuffer.map { "\($0)" }, .logLevel: logLevel, .logFormat: logFormat,
            .corsOrigin: corsOrigin, .mapTiles: mapTiles, .handshakeFailures: handshakeFailures.map { "\($0)" },
            .handshakeBackoff: handshakeBackoff.map { "\($0)" }, .eventRetention: eventRetention.map { "\($0)" },
            .auditRetention: auditRetention.map { "\($0)" },
            .energyRetention: energyRetention.map { "\($0)" },
            .tlsCertificate: tlsCertificate, .tlsKey: tlsKey,
            .lampTLSClientCA: lampTLSClientCA, .faultMinWatts: faultMinWatts.map { "\($0)" },
            .faultPowerTolerance: faultPowerTolerance.map { "\($0)" }, .faultMaxSwitches: faultMaxSwitches.map { "\($0)" },
            .faultDarkAfter: faultDarkAfter.map { "\($0)" }, .faultHold: faultHold.map { "\($0)" }, .cabinetDarkShare: cabinetDarkShare.map { "\($0)" },
        ]
    }

    /// The settings now: flags, environment and the config file read again.
    func settings() throws -> (DaemonSettings, SettingsSources) {
        try Self.settings(flags: flags.compactMapValues { $0 }, configFlag: config.config)
    }

    /// The settings from these flags, the environment and the config file read again.
    static func settings(flags: [SettingKey: String], configFlag: String?) throws -> (DaemonSettings, SettingsSources) {
        let sources = try ConfigOption.sources(flags: flags, configFlag: configFlag)
        do {
            return (try DaemonSettings(sources), sources)
        } catch let error as SettingsError {
            throw DaemonExit.fail(error.description, DaemonExit.badSetting)
        }
    }

}
