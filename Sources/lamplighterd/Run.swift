import ArgumentParser
import Controller
import FleetCore
import FleetStore
import Foundation
import Hummingbird
import LampAuth
import LightingPrograms
import HummingbirdWebSocket
import Logging
import Metrics
import Prometheus
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `lamplighterd run`: the controller.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the controller (the default).",
        discussion: """
            Lamps connect to ws://LAMP-HOST:LAMP-PORT/lamp/v1; operators use \
            http://API-HOST:API-PORT/api/v1 with a bearer token (see 'lamplighterd token'); on \
            first start, with no token yet, it writes an admin token to --admin-token-file. The \
            API speaks plain HTTP and listens on 127.0.0.1 by default: put a TLS proxy in front \
            before exposing it. SIGTERM or SIGINT stops it gracefully: lamps get close code \
            1001, pending state is written.
            """)

    @OptionGroup var storage: StorageOptions

    @Option(help: "Address lamps connect to (env LAMPLIGHTER_LAMP_HOST).")
    var lampHost: String = Environment.get("LAMPLIGHTER_LAMP_HOST") ?? "0.0.0.0"

    @Option(help: "Port lamps connect to; 0 picks a free one (env LAMPLIGHTER_LAMP_PORT).")
    var lampPort: Int = Environment.integer("LAMPLIGHTER_LAMP_PORT") ?? 7350

    @Option(help: "Address of the operator API (env LAMPLIGHTER_API_HOST).")
    var apiHost: String = Environment.get("LAMPLIGHTER_API_HOST") ?? "127.0.0.1"

    @Option(help: "Port of the operator API; 0 picks a free one (env LAMPLIGHTER_API_PORT).")
    var apiPort: Int = Environment.integer("LAMPLIGHTER_API_PORT") ?? 7380

    @Option(help: "Seconds between lamps' status reports, 1 to 3600.")
    var reportInterval: Int = 60

    @Option(help: "Seconds between pings to each lamp, 1 to 3600; a lamp silent for two is dropped.")
    var pingInterval: Int = 20

    @Option(help: "Seconds to wait for a lamp's acknowledgement before sending again.")
    var requestTimeout: Int = 10

    @Option(help: "Lamps allowed in their handshake at once; more are told to retry (1013).")
    var maxPendingHandshakes: Int = 2048

    @Option(help: "The fleet's time zone for lighting programs: an IANA name or a POSIX rule (env LAMPLIGHTER_TIMEZONE; default: the system's).")
    var timezone: String? = Environment.get("LAMPLIGHTER_TIMEZONE")

    @Option(parsing: .unconditional, help: "Latitude for lamps registered without one (lighting programs need a place); south is negative.")
    var latitude: Double?

    @Option(parsing: .unconditional, help: "Longitude for lamps registered without one; west is negative.")
    var longitude: Double?

    @Option(help: "Seconds between comparisons of each lamp's report with its program (mismatch events).")
    var programCheckInterval: Int = 60

    @Option(help: "Where the first admin token is written when the database has none (env LAMPLIGHTER_ADMIN_TOKEN_FILE).")
    var adminTokenFile: String = Environment.get("LAMPLIGHTER_ADMIN_TOKEN_FILE") ?? "lamplighter.admin-token"

    @Option(help: "Events one event-stream client may have waiting before it is disconnected as too slow.")
    var streamBuffer: Int = 4096

    @Option(help: "Let web apps from this origin call the API: e.g. https://ops.example.org, or * for any (env LAMPLIGHTER_CORS_ORIGIN; default: no CORS headers).")
    var corsOrigin: String? = Environment.get("LAMPLIGHTER_CORS_ORIGIN")

    @Option(help: "A map tile server the dashboard draws under the lamps, a URL with {z}, {x} and {y} (env LAMPLIGHTER_MAP_TILES; default: none, lamps on a plain background).")
    var mapTiles: String? = Environment.get("LAMPLIGHTER_MAP_TILES")

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env LOG_LEVEL).")
    var logLevel: String = Environment.get("LOG_LEVEL") ?? "info"

    func validate() throws {
        for (name, port) in [("--lamp-port", lampPort), ("--api-port", apiPort)] where !(0...65535).contains(port) {
            throw ValidationError("\(name) must be from 0 to 65535")
        }
        for (name, value) in [("--report-interval", reportInterval), ("--ping-interval", pingInterval)]
        where !(1...3600).contains(value) {
            throw ValidationError("\(name) must be from 1 to 3600 seconds")
        }
        guard (1...3600).contains(requestTimeout) else { throw ValidationError("--request-timeout must be from 1 to 3600 seconds") }
        if let latitude, !(-90...90).contains(latitude) { throw ValidationError("--latitude must be from -90 to 90") }
        if let longitude, !(-180...180).contains(longitude) { throw ValidationError("--longitude must be from -180 to 180") }
        if (latitude == nil) != (longitude == nil) { throw ValidationError("give --latitude and --longitude together") }
        if let timezone {
            do {
                _ = try PosixTimeZone.resolve(timezone, readFile: Self.readFile)
            } catch {
                throw ValidationError("--timezone: \(error.message)")
            }
        }
        guard (1...3600).contains(programCheckInterval) else { throw ValidationError("--program-check-interval must be from 1 to 3600 seconds") }
        guard (16...1_000_000).contains(streamBuffer) else { throw ValidationError("--stream-buffer must be from 16 to 1000000 events") }
        guard maxPendingHandshakes >= 1 else { throw ValidationError("--max-pending-handshakes must be at least 1") }
        if let corsOrigin, let problem = OperatorHTTPSettings.corsOriginProblem(corsOrigin) {
            throw ValidationError("--cors-origin \(problem)")
        }
        if let mapTiles, let problem = OperatorHTTPSettings.mapTilesProblem(mapTiles) {
            throw ValidationError("--map-tiles \(problem)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level \(logLevel) is not a log level") }
    }

    /// A file's bytes, for the time-zone lookups.
    static func readFile(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lamplighterd")

        let key = try KeyLoading.load(storage, createIfMissing: true)
        let store: FleetStore
        do {
            store = try FleetStore(path: storage.database)
        } catch {
            throw ValidationError("cannot open the database \(storage.database): \(error)")
        }
        let firstToken = try await FirstToken.ensure(store: store, file: adminTokenFile, logger: logger)
        // The report interval is part of each lamp's desired config: a changed flag reaches
        // every lamp as a new config version (the welcome's value only covers a lamp with none).
        let reconfigured = try store.setReportInterval(UInt16(reportInterval), atMilliseconds: WallClock.nowMilliseconds())
        let fleet = FleetState(stored: try store.loadAll(), highestVersion: try store.highestControlVersion())
        // validate() checked the zone.
        let zone =
            (try? timezone.map { text throws(PosixTimeZone.ParseError) in try PosixTimeZone.resolve(text, readFile: Self.readFile) })
            ?? PosixTimeZone.system(readFile: Self.readFile)
        let programs = try store.programs()
        fleet.withModel { $0.loadPrograms(programs, defaults: ProgramDefaults(timeZone: zone, latitude: latitude, longitude: longitude)) }

        var gatewayConfiguration = GatewayConfiguration(host: lampHost, port: lampPort)
        gatewayConfiguration.reportIntervalSeconds = UInt16(reportInterval)
        gatewayConfiguration.pingIntervalSeconds = UInt16(pingInterval)
        gatewayConfiguration.requestTimeoutMilliseconds = UInt64(requestTimeout) * 1000
        gatewayConfiguration.maximumPendingHandshakes = maxPendingHandshakes

        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let controller = FleetController(
            store: store, fleet: fleet, fleetKey: key.key, gateway: gatewayConfiguration,
            programCheckInterval: .seconds(programCheckInterval), streamBuffer: streamBuffer, logger: logger)
        let gateway = controller.gateway
        let metrics = controller.metrics

        print("lamplighterd: database \(URL(fileURLWithPath: storage.database).path) (\(fleet.count) lamps registered)")
        if key.generated {
            print("lamplighterd: generated a new fleet key in \(key.source) (keep it secret; lampsim and provisioning need it)")
        } else {
            print("lamplighterd: fleet key from \(key.source)")
        }
        if reconfigured > 0 {
            print("lamplighterd: report interval \(reportInterval) s: \(reconfigured) lamps get a new config version")
        }
        print("lamplighterd: lighting programs run on local time \(zone.text)" + (timezone.map { " (\($0))" } ?? ""))
        if let firstToken {
            print("lamplighterd: wrote the first admin token to \(firstToken) (for lampctl: export LAMPLIGHTER_TOKEN=$(cat \(firstToken)))")
        }
        let apiHost = self.apiHost
        let router = OperatorHTTPServer.router(
            service: controller.service,
            metrics: {
                metrics.refresh(fleet: fleet, gateway: gateway)
                return registry.emitToString()
            }, settings: OperatorHTTPSettings(corsOrigin: corsOrigin, mapTiles: mapTiles))
        let application = Application(
            router: router,
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname(apiHost, port: apiPort), serverName: "lamplighterd"),
            onServerRunning: { channel in
                guard let lampAddress = try? await gateway.listeningAddress() else { return }
                let apiPort = channel.localAddress?.port ?? 0
                print("lamplighterd: lamps connect to ws://\(lampAddress.ipAddress ?? "?"):\(lampAddress.port ?? 0)/lamp/v1")
                print("lamplighterd: operator API on http://\(apiHost):\(apiPort)/api/v1")
                let browserHost = ["0.0.0.0", "::"].contains(apiHost) ? "127.0.0.1" : apiHost
                print("lamplighterd: dashboard on http://\(browserHost):\(apiPort)/ (sign in with a token)")
                print("lamplighterd: ready")
                fflush(nil)
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: controller.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
                    + [.init(service: application)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        print("lamplighterd: stopped")
    }
}
