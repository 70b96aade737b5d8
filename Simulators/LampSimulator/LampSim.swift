import ArgumentParser
import FleetCore
import Foundation
import LampAuth
import LampProtocol
import NIOCore
import OperatorAPI
import NIOPosix
import NIOSSL
import UnixSignals

/// The simulator's entry point.
@main
struct LampSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampsim",
        abstract: "Simulate a fleet of street lamps speaking the Lamplighter protocol.",
        discussion: """
            Each lamp is a WebSocket client with its own id and key (derived from the fleet key, \
            as a manufacturer would), a physical model (level with fade, power, energy, burn \
            hours, failures) and reconnect backoff with jitter. All lamps share a few event-loop \
            threads. On SIGUSR1 every connected lamp sends --burst status reports at once. \
            On SIGUSR2, with --time-scale or --start-time, the lamps' clocks skip idle time: \
            they jump to half a real second before the next program switch point or override \
            end of any lamp, so none is missed, and every connected lamp reports at once. \
            A lamp closed with 4000 (replaced: another process simulates the same id) \
            stops rather than fight for its identity. With several controllers (--url repeated or \
            comma-separated) lamp i starts on controller i mod n and, after a failure, moves to the \
            next one after its backoff. Prints a summary line every second and a final report; --report writes it as \
            JSON (with a simulated clock the summary line ends with the lamps' clock). Stops after \
            --duration seconds, or on SIGINT/SIGTERM.
            """,
        version: LamplighterVersion.current)

    @Option(
        name: .customLong("url"),
        help: ArgumentHelp(
            "A controller's lamp URL, ws:// or wss://; repeat it or give a comma-separated list for several (at most 64) (env LAMPLIGHTER_LAMP_URL).",
            discussion: "Lamps spread over the controllers and move to the next one when theirs fails; a host name resolving to several addresses counts as several."))
    var urlOptions: [String] = []
    /// --url (all of them), else LAMPLIGHTER_LAMP_URL, else the local default.
    var urlValues: [String] {
        if !urlOptions.isEmpty { return urlOptions }
        return [ProcessInfo.processInfo.environment["LAMPLIGHTER_LAMP_URL"] ?? "ws://127.0.0.1:7350/lamp/v1"]
    }

    @Option(help: "Seconds a connect, upgrade and handshake may take before the lamp gives up and tries the next controller (0.5 to 300).")
    var handshakeTimeout: Double = 10

    @Flag(help: "Connect with TLS (wss://) even when --url says ws://.")
    var tls = false

    @Option(
        name: .customLong("ca-file"),
        help: "Trust the controller's certificate when this CA (PEM) signed it, instead of the system's CAs (env LAMPSIM_CA_FILE).")
    var caFileFlag: String?
    /// --ca-file, else LAMPSIM_CA_FILE when set and not empty.
    var caFile: String? { caFileFlag ?? ProcessInfo.processInfo.environment["LAMPSIM_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 } }

    @Option(help: "A TLS client certificate (PEM) every lamp presents (a controller with lamp-tls-client-ca asks for one).")
    var clientCertificate: String?

    @Option(help: "The client certificate's private key (PEM).")
    var clientKey: String?

    @Option(help: "How many lamps, 1 to 20000 per process (the open-file limit).")
    var count: Int = 100

    @Option(help: "Lamp id prefix; ids are PREFIX0001, PREFIX0002, ... as 'lampctl lamps generate' makes them.")
    var prefix: String = "lamp-"

    @Option(help: "Number of the first lamp.")
    var start: Int = 1

    @Option(help: "Width of the number in ids (default: as 'lamps generate' with the same count and start).")
    var digits: Int?

    @Option(help: "File with the fleet master key in hex (env LAMPLIGHTER_KEY_FILE).")
    var keyFile: String = ProcessInfo.processInfo.environment["LAMPLIGHTER_KEY_FILE"] ?? "lamplighter.key"

    @Option(name: .customLong("fleet-key"), help: "The fleet master key in hex, instead of --key-file (env LAMPLIGHTER_FLEET_KEY).")
    var fleetKeyFlag: String?
    /// --fleet-key, else LAMPLIGHTER_FLEET_KEY.
    var fleetKey: String? { fleetKeyFlag ?? ProcessInfo.processInfo.environment["LAMPLIGHTER_FLEET_KEY"] }

    @Option(help: "Comma-separated source addresses to spread lamps over, e.g. 127.0.0.2,127.0.0.3 (each has ~28k ports).")
    var sourceAddresses: String?

    @Option(help: "Event-loop threads (default: one per core).")
    var threads: Int = System.coreCount

    @Option(help: "Lamps connecting at once, at most.")
    var maxConnecting: Int = 512

    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).")
    var duration: Double?

    @Option(help: "Reconnect backoff: smallest wait, ms.")
    var backoffMin: UInt64 = 1000
    @Option(help: "Reconnect backoff: random part, ms.")
    var backoffJitter: UInt64 = 5000
    @Option(help: "Reconnect backoff: largest wait, ms.")
    var backoffCap: UInt64 = 300_000

    @Option(help: "Rated power of each lamp at full light, watts.")
    var wattage: Double = 40

    @Option(help: "Lamp failures (raised or cleared) per lamp per hour.")
    var failureRate: Double = 0
    @Option(help: "Link drops per lamp per hour.")
    var dropRate: Double = 0

    @Option(help: "Fault injection: this many lamps sign with a wrong key.")
    var wrongKey: Int = 0
    @Option(help: "Fault injection: this many lamps replay their captured hello on a second link.")
    var replay: Int = 0
    @Option(help: "Fault injection: this many lamps send an undecodable message once.")
    var garbage: Int = 0
    @Option(help: "Fault injection: this many lamps send a message over the size limit once.")
    var oversize: Int = 0
    @Option(help: "Fault injection: this many lamps go half-open (stop answering) once connected.")
    var stall: Int = 0
    @Option(help: "Fault injection: this many lamps draw 0 W while lit (lamp failure), the first ones.")
    var failLamps: Int = 0
    @Option(help: "Fault injection: this many lamps, after those, stay lit at full whatever they are told (lit by day).")
    var stuckOn: Int = 0
    @Option(help: "Fault injection: --drift-lamps lamps, after those, draw this percent more (negative: less) than wattage x level.")
    var powerDrift: Double = 0
    @Option(help: "How many lamps --power-drift applies to.")
    var driftLamps: Int = 1
    @Option(help: "Fault injection: this many lamps, after those, go dark and lit again every --cycle-seconds while they should be lit (cycling).")
    var cycling: Int = 0
    @Option(help: "How long a cycling lamp stays lit, then dark, in seconds of its clock (1 to 3600).")
    var cycleSeconds: Int = 30

    @Option(help: "The lamps' protocol minor version, 0 to 2 (0: a 1.0 lamp without programs, 1: a 1.1 lamp without the fleet epoch).")
    var minor: UInt8 = LampProtocolVersion.minor
    @Flag(help: "The lamps cannot dim: they show any level above 0 at full and refuse other levels (nack unsupported).")
    var notDimmable = false
    @Flag(help: "The lamps do not run lighting programs (no programs capability; they refuse program frames).")
    var noPrograms = false
    @Option(help: "Fault injection: every lamp answers every N-th request with nack(busy) (0: never).")
    var busyEvery: Int = 0
    @Option(help: "The lamps start holding this control, config and program version, as if they came from another database.")
    var startVersion: UInt32 = 0

    @Option(help: "Status reports each connected lamp sends at once on SIGUSR1 (ingest benchmarks).")
    var burst: Int = 20

    @Option(help: "Run the lamps' clocks this many times as fast (1 to 100000), e.g. 600: a night in under two minutes.")
    var timeScale: Double = 1

    @Option(help: "Start the lamps' clocks at this UTC instant, e.g. 2026-11-20T14:00:00Z (default: now).")
    var startTime: String?

    @Option(help: "Write the final report as JSON to this file.")
    var report: String?

    @Flag(help: "No summary line every second.")
    var quiet = false

    func validate() throws {
        guard (1...20_000).contains(count) else {
            throw ValidationError("--count must be from 1 to 20000 (one process holds at most ~19,900 links; run several)")
        }
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be from 1 to 64") }
        guard maxConnecting >= 1 else { throw ValidationError("--max-connecting must be at least 1") }
        guard (1...1000).contains(burst) else { throw ValidationError("--burst must be from 1 to 1000") }
        guard minor <= LampProtocolVersion.minor else { throw ValidationError("--minor must be from 0 to \(LampProtocolVersion.minor)") }
        guard busyEvery >= 0 else { throw ValidationError("--busy-every must not be negative") }
        guard timeScale >= 1 && timeScale <= 100_000 else { throw ValidationError("--time-scale must be from 1 to 100000") }
        _ = try parseStartTime()
        guard failureRate >= 0, dropRate >= 0 else { throw ValidationError("rates must not be negative") }
        guard wrongKey + replay + garbage + oversize + stall <= count else {
            throw ValidationError("more misbehaving lamps than lamps")
        }
        guard failLamps >= 0, stuckOn >= 0, driftLamps >= 0, cycling >= 0,
            failLamps + stuckOn + (powerDrift != 0 ? driftLamps : 0) + cycling <= count
        else {
            throw ValidationError("--fail-lamps, --stuck-on, --drift-lamps and --cycling must not be negative, nor more than --count together")
        }
        guard (1...3600).contains(cycleSeconds) else { throw ValidationError("--cycle-seconds must be from 1 to 3600") }
        guard powerDrift > -100 && powerDrift <= 1000 else { throw ValidationError("--power-drift must be above -100 and at most 1000 percent") }
        guard handshakeTimeout >= 0.5 && handshakeTimeout <= 300 else { throw ValidationError("--handshake-timeout must be from 0.5 to 300 seconds") }
        _ = try parseURLs()
        _ = try parseSources()
        _ = try makeTLS()
    }

    /// The lamps' clock: simulated when --time-scale or --start-time asks for it.
    func parseStartTime() throws -> UInt64? {
        guard let startTime else { return nil }
        guard let date = try? Date(startTime, strategy: .iso8601) else {
            throw ValidationError("--start-time must be an ISO 8601 UTC instant, e.g. 2026-11-20T14:00:00Z")
        }
        return UInt64(max(0, date.timeIntervalSince1970 * 1000))
    }

    /// The controller URLs (--url repeated and comma-separated), checked: the error names the
    /// bad one.
    func parseURLs() throws -> [ControllerURL] {
        do {
            return try ControllerList.parse(urlValues, forceTLS: tls)
        } catch {
            throw ValidationError("--url: \(error.description)")
        }
    }

    /// The TLS client context every lamp shares, when a URL is wss:// or --tls is given.
    func makeTLS() throws -> NIOSSLContext? {
        guard try parseURLs().contains(where: \.secure) else {
            if caFile != nil || clientCertificate != nil || clientKey != nil {
                throw ValidationError("--ca-file, --client-certificate and --client-key need TLS: a wss:// URL or --tls")
            }
            return nil
        }
        guard (clientCertificate == nil) == (clientKey == nil) else {
            throw ValidationError("--client-certificate and --client-key go together")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            configuration.trustRoots = .certificates(try Self.pemCertificates(caFile, option: "--ca-file"))
        }
        if let clientCertificate, let clientKey {
            configuration.certificateChain = try Self.pemCertificates(clientCertificate, option: "--client-certificate").map { .certificate($0) }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: clientKey, format: .pem))
            } catch {
                throw ValidationError("--client-key \(clientKey): not a readable PEM private key")
            }
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ValidationError("--client-key \(clientKey ?? "-") does not belong to --client-certificate \(clientCertificate ?? "-") (\(error))")
        }
    }

    /// The certificates of a PEM file, at least one; the error names the option and file.
    static func pemCertificates(_ path: String, option: String) throws -> [NIOSSLCertificate] {
        guard FileManager.default.isReadableFile(atPath: path) else { throw ValidationError("\(option) \(path): no such readable file") }
        guard let certificates = try? NIOSSLCertificate.fromPEMFile(path), !certificates.isEmpty else {
            throw ValidationError("\(option) \(path): holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        return certificates
    }

    func parseSources() throws -> [SocketAddress] {
        guard let sourceAddresses else { return [] }
        return try sourceAddresses.split(separator: ",").map { text in
            do {
                return try SocketAddress(ipAddress: String(text).trimmingCharacters(in: .whitespaces), port: 0)
            } catch {
                throw ValidationError("--source-addresses: '\(text)' is not an IP address")
            }
        }
    }

    func loadKey() throws -> FleetKey {
        do {
            return try FleetKey.load(
                hex: fleetKey, flagName: "--fleet-key / LAMPLIGHTER_FLEET_KEY", file: keyFile, createIfMissing: false
            ).key
        } catch {
            throw ValidationError("\(error.description) (give --key-file or --fleet-key)")
        }
    }

    func run() async throws {
        let key = try loadKey()
        let directory = ControllerDirectory(
            urls: try parseURLs(), sourceAddresses: try parseSources(), tls: try makeTLS(),
            handshakeTimeout: .milliseconds(Int64(handshakeTimeout * 1000)))
        for url in directory.refresh() {
            print("lampsim: \(url.text): \(url.host) does not resolve now; trying again every second")
        }
        let stats = SimStats()
        // Stats list the controllers in --url order (new addresses of a name come after).
        stats.register(directory.targets.map(\.label))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let loops = Array(group.makeIterator())
        let ticksPerHour = 3_600_000.0 / Double(SimFleet.tickMilliseconds)
        let width = digits ?? max(4, String(start + count).count)

        // Misbehaving lamps are the first ones, in this order.
        var roles: [Misbehaviour] = []
        for (role, n) in [(Misbehaviour.wrongKey, wrongKey), (.replay, replay), (.garbage, garbage), (.oversize, oversize), (.stall, stall)] {
            roles += Array(repeating: role, count: n)
        }
        // Lamps with an electrical fault are the first ones too, in this order.
        let electrical =
            Array(repeating: ElectricalFault.failed, count: failLamps) + Array(repeating: .stuckOn, count: stuckOn)
            + Array(repeating: .drift(1 + powerDrift / 100), count: powerDrift != 0 ? driftLamps : 0)
            + Array(repeating: .cycling(UInt64(cycleSeconds) * 1000), count: cycling)
        var fleets: [(any EventLoop, NIOLoopBound<SimFleet>)] = []
        let now = WallClock.nowMilliseconds()
        let startAt = try parseStartTime()
        let clock =
            startAt != nil || timeScale != 1
            ? SimClock(scale: timeScale, originMilliseconds: now, startMilliseconds: startAt ?? now, isSimulated: true) : SimClock.real()
        let profile = SimLampProfile(
            minorVersion: minor, dimmable: !notDimmable, programs: !noPrograms && minor >= 1, busyEvery: busyEvery, startVersion: startVersion)
        for (loopIndex, loop) in loops.enumerated() {
            let fleet = try await loop.submit { [count, start, prefix, wattage, backoffMin, backoffJitter, backoffCap, maxConnecting, failureRate, dropRate, roles, electrical, clock, profile] in
                let fleet = SimFleet(
                    loop: loop, maximumConnecting: max(1, maxConnecting / loops.count),
                    failureChancePerTick: failureRate / ticksPerHour, dropChancePerTick: dropRate / ticksPerHour)
                for index in stride(from: loopIndex, to: count, by: loops.count) {
                    let number = String(start + index)
                    // Prefix and digits were validated to make a valid id, or this lamp is skipped.
                    guard let id = LampID(prefix + String(repeating: "0", count: max(0, width - number.count)) + number) else { continue }
                    let lamp = SimLamp(
                        index: index, id: id, key: key.lampKey(for: id), wattage: wattage,
                        misbehaviour: index < roles.count ? roles[index] : .none,
                        backoff: Backoff(minimumMilliseconds: backoffMin, jitterMilliseconds: backoffJitter, capMilliseconds: backoffCap),
                        clock: clock, profile: profile, now: now)
                    if index < electrical.count { lamp.electrical = electrical[index] }
                    fleet.add(SimSlot(lamp: lamp, stats: stats, directory: directory, loop: loop, startAt: now))
                }
                fleet.start()
                return NIOLoopBound(fleet, eventLoop: loop)
            }.get()
            fleets.append((loop, fleet))
        }
        guard LampID(prefix + String(repeating: "0", count: width)) != nil else {
            throw ValidationError("--prefix '\(prefix)' does not make valid lamp ids (1 to 32 of A-Z a-z 0-9 . _ -)")
        }
        print("lampsim: \(count) lamps \(prefix)\(String(repeating: "0", count: max(0, width - String(start).count)))\(start)... -> \(directory.urls.map(\.text).joined(separator: ", ")) on \(threads) threads")

        let began = Date()
        let allFleets = fleets
        let (quiet, burst, count, duration) = (self.quiet, self.burst, self.count, self.duration)
        // Structured: the summary, the burst trigger, the stop signal and the duration are
        // child tasks; the first of the last two to finish stops them all.
        await withTaskGroup(of: Bool.self) { tasks in
            tasks.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if Task.isCancelled || quiet { continue }
                    let snapshot = await Self.collect(allFleets, includeLamps: false)
                    print(Self.summaryLine(snapshot, stats: stats, count: count, elapsed: Date().timeIntervalSince(began)))
                    fflush(nil)
                }
                return false
            }
            if directory.hasNames {
                // Host names again every second, off the event loops (getaddrinfo blocks).
                tasks.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: ControllerDirectory.refreshInterval)
                        if Task.isCancelled { break }
                        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                            DispatchQueue.global().async {
                                directory.refresh()
                                stats.register(directory.targets.map(\.label))
                                done.resume()
                            }
                        }
                    }
                    return false
                }
            }
            tasks.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigusr1) {
                    for (loop, fleet) in allFleets {
                        loop.execute { fleet.value.burst(burst) }
                    }
                }
                return false
            }
            tasks.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigusr2) {
                    await Self.skipIdleTime(allFleets, clock: clock)
                }
                return false
            }
            tasks.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { break }
                return true
            }
            if let duration {
                tasks.addTask {
                    try? await Task.sleep(for: .milliseconds(Int(duration * 1000)))
                    return true
                }
            }
            while let stop = await tasks.next(), !stop {}
            tasks.cancelAll()
        }
        let final = await Self.collect(fleets, includeLamps: report != nil)
        // Per controller as the lamps were before closing their links.
        let controllers = stats.controllerCounts()
        var closing: [EventLoopFuture<Void>] = []
        for (loop, fleet) in fleets {
            closing += (try? await loop.submit { fleet.value.closeAll() }.get()) ?? []
        }
        // Every close frame is out and every link closed before the report, or a second has
        // passed (a second completion of the promise is a no-op).
        if let loop = fleets.first?.0 {
            let closed = loop.makePromise(of: Void.self)
            EventLoopFuture.andAllComplete(closing, on: loop).cascade(to: closed)
            let bound = loop.scheduleTask(in: .seconds(1)) { closed.succeed() }
            try? await closed.futureResult.get()
            bound.cancel()
        }
        print("lampsim: final " + Self.summaryLine(final, stats: stats, count: count, elapsed: Date().timeIntervalSince(began), controllers: controllers))
        if let report {
            try Self.writeReport(final, stats: stats, count: count, controllers: controllers, to: report)
        }
        try? await group.shutdownGracefully()
    }

    static func collect(_ fleets: [(any EventLoop, NIOLoopBound<SimFleet>)], includeLamps: Bool) async -> SimFleet.Snapshot {
        var total = SimFleet.Snapshot()
        for (loop, fleet) in fleets {
            guard let part = try? await loop.submit({ fleet.value.snapshot(includeLamps: includeLamps) }).get() else { continue }
            total.connected += part.connected
            total.everConnected += part.everConnected
            total.appliedByVersion.merge(part.appliedByVersion, uniquingKeysWith: +)
            total.lamps += part.lamps
            if let clock = part.lampClock { total.lampClock = max(total.lampClock ?? 0, clock) }
        }
        total.lamps.sort { $0.id < $1.id }
        return total
    }

    /// SIGUSR2: the lamps' clocks jump ahead to half a real second before the next thing any
    /// lamp does on its own (a program switch point, an override's end), skipping the idle
    /// time in between; with no simulated clock, or nothing far enough ahead, nothing happens.
    static func skipIdleTime(_ fleets: [(any EventLoop, NIOLoopBound<SimFleet>)], clock: SimClock) async {
        guard clock.isSimulated else {
            print("lampsim: SIGUSR2 ignored: the lamps keep real time (give --time-scale or --start-time)")
            fflush(nil)
            return
        }
        var soonest = UInt64.max
        for (loop, fleet) in fleets {
            if let next = try? await loop.submit({ fleet.value.millisecondsToNextEvent() }).get() {
                soonest = min(soonest, next)
            }
        }
        let lead = UInt64(clock.scale * 500)
        guard soonest != .max, soonest > lead else {
            print("lampsim: no idle time to skip")
            fflush(nil)
            return
        }
        var reached: UInt64?
        let skip = soonest - lead
        for (loop, fleet) in fleets {
            if let clock = try? await loop.submit({ fleet.value.skipClock(by: skip) }).get() {
                reached = clock
            }
        }
        print("lampsim: skipped \(skip / 1000) s of the lamps' clocks, to \(reached.map(Self.instant) ?? "?")")
        fflush(nil)
    }

    /// A lamp clock (Unix ms) as an ISO 8601 UTC instant, e.g. 2026-11-20T22:52:30Z.
    static func instant(_ milliseconds: UInt64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds / 1000)).ISO8601Format()
    }

    static func summaryLine(
        _ snapshot: SimFleet.Snapshot, stats: SimStats, count: Int, elapsed: Double,
        controllers: [(label: String, counts: SimStats.ControllerCounts)]? = nil
    ) -> String {
        let newest = snapshot.appliedByVersion.keys.max() ?? 0
        let atNewest = snapshot.appliedByVersion[newest] ?? 0
        var line = String(format: "%6.1fs connected %d/%d", elapsed, snapshot.connected, count)
        line += " applied v\(newest): \(atNewest) commands \(stats.get(.commandsApplied)) faults \(stats.get(.faultsRaised))"
        line += " reconnects \(stats.get(.reconnects))"
        let controllers = controllers ?? stats.controllerCounts()
        if controllers.count > 1 || stats.get(.moves) > 0 {
            // Failover: lamps linked to each controller now, and how many moves there were.
            line += " moves \(stats.get(.moves)) on " + controllers.map { "\($0.label)=\($0.counts.linked)" }.joined(separator: " ")
        }
        let refused = stats.get(.authRefused)
        if refused > 0 { line += " auth-refused \(refused)" }
        if let clock = snapshot.lampClock { line += " clock \(instant(clock))" }
        return line
    }

    /// One controller in the final report.
    struct ControllerReport: Codable {
        let controller: String
        let linked: Int
        let movedIn: Int
        let movedAway: Int
        let connectFailures: Int
        let handshakeTimeouts: Int
    }

    static func writeReport(
        _ snapshot: SimFleet.Snapshot, stats: SimStats, count: Int, controllers: [(label: String, counts: SimStats.ControllerCounts)], to path: String
    ) throws {
        struct Report: Codable {
            let lamps: Int
            let connected: Int
            let everConnected: Int
            let handshakes: Int
            let authRefused: Int
            let replayRefused: Int
            let replayAccepted: Int
            let replaced: Int
            let closedMalformed: Int
            let closedTooBig: Int
            let closedPingTimeout: Int
            let closedBusy: Int
            let closedFrameAuthentication: Int
            let frameAuthenticationFailed: Int
            let connectFailures: Int
            let reconnects: Int
            let commandsApplied: Int
            let faultsRaised: Int
            let handshakeTimeouts: Int
            let moves: Int
            /// Per controller: lamps linked now, moved in and away, failed connects.
            let controllers: [ControllerReport]
            let appliedByVersion: [String: Int]
            let lampDetails: [LampReport]
        }
        let report = Report(
            lamps: count, connected: snapshot.connected, everConnected: snapshot.everConnected,
            handshakes: stats.get(.handshakes), authRefused: stats.get(.authRefused), replayRefused: stats.get(.replayRefused),
            replayAccepted: stats.get(.replayAccepted), replaced: stats.get(.replaced),
            closedMalformed: stats.get(.closedMalformed), closedTooBig: stats.get(.closedTooBig),
            closedPingTimeout: stats.get(.closedPingTimeout), closedBusy: stats.get(.closedBusy),
            closedFrameAuthentication: stats.get(.closedFrameAuthentication),
            frameAuthenticationFailed: stats.get(.frameAuthenticationFailed),
            connectFailures: stats.get(.connectFailures), reconnects: stats.get(.reconnects),
            commandsApplied: stats.get(.commandsApplied), faultsRaised: stats.get(.faultsRaised),
            handshakeTimeouts: stats.get(.handshakeTimeouts), moves: stats.get(.moves),
            controllers: controllers.map {
                ControllerReport(
                    controller: $0.label, linked: $0.counts.linked, movedIn: $0.counts.movedIn, movedAway: $0.counts.movedAway,
                    connectFailures: $0.counts.connectFailures, handshakeTimeouts: $0.counts.handshakeTimeouts)
            },
            appliedByVersion: Dictionary(uniqueKeysWithValues: snapshot.appliedByVersion.map { ("\($0.key)", $0.value) }),
            lampDetails: snapshot.lamps)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: path))
    }
}
