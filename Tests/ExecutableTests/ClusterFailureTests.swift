import Foundation
import OperatorAPI
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The cluster's failures, end to end (issue 14, docs/cluster.md): real `lamplighterd`
/// processes on one real PostgreSQL database, one real `lampsim` with all their URLs.
@Suite("Cluster failures: kill -9 under load, PostgreSQL restarted", .serialized, .enabled(if: PostgresTestDatabase.serverURL != nil))
struct ClusterFailureTests {
    /// Lamps registered on the first controller before the others start (registrations reach
    /// other controllers at their start): odd-numbered ones in group "odd", the others "even".
    static func registerLamps(_ count: Int, on daemon: Daemon) async throws {
        let lamps = (1...count).map {
            LampRegistration(id: String(format: "lamp-%04d", $0), groups: [$0 % 2 == 0 ? "even" : "odd"], wattage: 40)
        }
        let (status, _): (Int, [LampView]?) = try await daemon.request("POST", "/lamps", body: lamps)
        guard status == 201 else { throw HarnessError("registering \(count) lamps failed with \(status)") }
    }

    /// `count` controllers on one new database, sharing the first one's key and admin token.
    static func cluster(_ controllers: Int, lamps: Int, database: PostgresTestDatabase) async throws -> [Daemon] {
        let first = try Daemon(lamps: 0)
        first.databaseURL = database.url
        try await first.start()
        try await registerLamps(lamps, on: first)
        var daemons = [first]
        for _ in 1..<controllers {
            daemons.append(try await ClusterEndToEndTests.second(of: first, database: database))
        }
        return daemons
    }

    /// The lamps of `group` linked to `daemon` that applied its desired state, `level`
    /// (percent), at the version it wants (a controller a lamp moves to may issue the same
    /// state again at a fresh version, SPEC.md §8.0); and how many of the group it holds.
    static func converged(_ daemon: Daemon, group: String, level: Double) async throws -> (converged: Int, linked: Int) {
        let linked = try await daemon.lamps("limit=1000&online=true&group=\(group)")
        let converged = linked.filter { $0.desired.level == level && $0.reported?.appliedVersion == $0.desired.version }
        return (converged.count, linked.count)
    }

    /// Every lamp linked to `daemons` applied its controller's desired state: `odd` percent
    /// for group odd, `even` for group even, at the version that controller wants; all
    /// `count` lamps are linked to one of them.
    static func expectConverged(_ daemons: [Daemon], count: Int, odd: Double, even: Double) async throws {
        var linked = 0
        for daemon in daemons {
            let odds = try await Self.converged(daemon, group: "odd", level: odd)
            let evens = try await Self.converged(daemon, group: "even", level: even)
            #expect(odds.converged == odds.linked && evens.converged == evens.linked, "\(daemon.apiPort): odd \(odds), even \(evens)")
            linked += odds.linked + evens.linked
        }
        #expect(linked == count)
    }

    @Test("kill -9 of one of three controllers under load: every command accepted (202) on any of them, the killed one's last included, is applied by its lamps")
    func killUnderLoad() async throws {
        let count = 120
        let database = try PostgresTestDatabase()
        let daemons = try await Self.cluster(3, lamps: count, database: database)
        let (a, b, c) = (daemons[0], daemons[1], daemons[2])
        defer { daemons.forEach { $0.stop() } }
        let urls = daemons.map(\.lampURL).joined(separator: ",")
        let sim = try Simulator(a, count: count, duration: 180, quiet: false, extra: ["--url", urls, "--threads", "2"])
        let explain = { sim.lastLines() }
        try await waitUntil("every lamp is linked to one of the three", explain: explain) {
            var total = 0
            for daemon in daemons { total += try await daemon.onlineCount() }
            return total == count
        }
        let onA = try await a.onlineCount()
        #expect(onA >= count / 6, "lamp i starts on controller i % 3: \(onA) on A")

        // Load: fleet-half commands, one after the other, alternately on B and C, through the
        // kill; each 202 is remembered. Then, once every lamp has moved, one more on B.
        struct Accepted: Sendable {
            let id: Int64
            let level: Double
            let on: String
        }
        // Stopped by a flag, not by cancelling the task: that would cancel a request in flight.
        let stop = StopFlag()
        let load = Task { () -> (accepted: [Accepted], refused: [String]) in
            var accepted: [Accepted] = []
            var refused: [String] = []
            var round = 0
            while !stop.isSet {
                let (daemon, name) = round % 2 == 0 ? (b, "B") : (c, "C")
                let level = Double(10 + round % 80)
                let request = CommandRequest(target: "group:odd", action: "level", level: level)
                let (status, body): (Int, CommandAccepted?) = try await daemon.request("POST", "/commands", body: request)
                if status == 202, let body {
                    accepted.append(Accepted(id: body.id, level: level, on: name))
                    stop.count()
                } else {
                    refused.append("\(name): \(status)")
                }
                round += 1
                try? await Task.sleep(for: .milliseconds(20))
            }
            return (accepted, refused)
        }
        try await waitUntil("B and C accepted 6 commands") { stop.counted >= 6 }
        // A's own command, answered 202, then A dies at once: its lamps (and those on B and C)
        // must apply it.
        let lastOnA = try await a.command(CommandRequest(target: "group:even", action: "level", level: 93))
        a.kill9()
        try await Task.sleep(for: .milliseconds(100))
        stop.set()
        let (accepted, refused) = try await load.value
        try await waitUntil("every lamp is linked to B or C", timeout: .seconds(45), explain: explain) {
            try await b.onlineCount() + c.onlineCount() == count
        }
        #expect(refused.isEmpty, "B and C refused commands while A was gone: \(refused)")
        let last = try #require(accepted.last)
        #expect(accepted.count >= 6 && Set(accepted.map(\.on)) == ["B", "C"], "\(accepted.count) commands accepted")

        // Every survivor: 100 % of the last load command and of A's last command, and every
        // lamp's reported state is that command's.
        for (daemon, name) in [(b, "B"), (c, "C")] {
            try await waitUntil("\(name)'s progress: the last odd command applied by every odd lamp", timeout: .seconds(20), explain: explain) {
                try await daemon.progress(last.id).applied == count / 2
            }
            try await waitUntil("\(name)'s progress: A's last command applied by every even lamp", timeout: .seconds(20), explain: explain) {
                try await daemon.progress(lastOnA.id).applied == count / 2
            }
        }
        try await Self.expectConverged([b, c], count: count, odd: last.level, even: 93)

        // The first command after the moves, to every lamp: the lamps B and C issued their
        // state again (SPEC.md §8.0) must not hold its version already. Failed before the
        // versions issued again came from the shared counter: B and C each took their own
        // sequence's next number, which the counter then gave this command, and the lamps
        // holding it took the command for one they had applied (progress stuck below 100 %).
        let final = try await b.command(CommandRequest(target: "all", action: "level", level: 77))
        for (daemon, name) in [(b, "B"), (c, "C")] {
            try await waitUntil("\(name)'s progress: the command after the moves applied by every lamp", timeout: .seconds(20), explain: explain) {
                try await daemon.progress(final.id).applied == count
            }
        }
        try await Self.expectConverged([b, c], count: count, odd: 77, even: 77)
        let report = try sim.finish()
        #expect(report.lampDetails.count == count)
        for lamp in report.lampDetails {
            #expect(lamp.connected && lamp.level == 770, "\(lamp.id): \(lamp.level)")
        }
        print("FIGURES cluster kill -9: \(onA) lamps moved from A; \(accepted.count) commands accepted on B and C meanwhile, none refused")
    }

    @Test("PostgreSQL stopped and started under two running controllers: commands get 503 meanwhile, lamps stay linked; after the start commands work on both and reach 100 % across them")
    func postgresRestarted() async throws {
        let server = try PrivatePostgres()
        defer { server.remove() }
        try server.start()
        var url = try #require(URLComponents(string: server.url))
        url.password = PostgresTestDatabase.password
        let databaseURL = try #require(url.string)
        let count = 40
        let a = try Daemon(lamps: count)
        a.databaseURL = databaseURL
        try await a.start()
        let b = try Daemon(lamps: 0)
        b.databaseURL = databaseURL
        try FileManager.default.copyItem(atPath: a.keyFile, toPath: b.keyFile)
        try await b.start()
        b.adminToken = a.adminToken
        defer {
            a.stop()
            b.stop()
        }
        let sim = try Simulator(a, count: count, duration: 180, quiet: false, extra: ["--url", a.lampURL + "," + b.lampURL])
        let explain = { sim.lastLines() }
        try await waitUntil("every lamp is linked, to A or B", explain: explain) {
            try await a.onlineCount() + b.onlineCount() == count
        }
        let (onA, onB) = (try await a.onlineCount(), try await b.onlineCount())
        #expect(onA > 0 && onB > 0, "on A \(onA), on B \(onB)")

        try server.stop()
        let request = CommandRequest(target: "all", action: "level", level: 20)
        for (daemon, name) in [(a, "A"), (b, "B")] {
            try await waitUntil("\(name) refuses commands with 503", timeout: .seconds(20)) {
                let (status, body): (Int, APIError?) = try await daemon.request("POST", "/commands", body: request)
                #expect(status == 503, "\(name) answered \(status) with the database stopped")
                return status == 503 && (body?.error.contains("the database cannot be reached") ?? false)
            }
        }
        // Lamps keep their links through the outage: the same controllers hold the same lamps.
        let (stillA, stillB) = (try await a.onlineCount(), try await b.onlineCount())
        #expect(stillA == onA && stillB == onB, "on A \(stillA) (was \(onA)), on B \(stillB) (was \(onB))")

        try server.start()
        for (daemon, other, name) in [(a, b, "A"), (b, a, "B")] {
            var accepted: CommandAccepted?
            let level = name == "A" ? 61.0 : 62.0
            try await waitUntil("\(name) accepts commands again", timeout: .seconds(30)) {
                let (status, body): (Int, CommandAccepted?) = try await daemon.request(
                    "POST", "/commands", body: CommandRequest(target: "all", action: "level", level: level))
                accepted = body
                return status == 202
            }
            let id = try #require(accepted?.id)
            try await waitUntil("\(name)'s command reaches 100 % on \(name)", timeout: .seconds(20), explain: explain) {
                try await daemon.progress(id).applied == count
            }
            try await waitUntil("\(name)'s command reaches 100 % on the other", timeout: .seconds(20), explain: explain) {
                try await other.progress(id).applied == count
            }
        }
        let report = try sim.finish()
        #expect(report.lampDetails.allSatisfy { $0.connected && $0.level == 620 })
        #expect(report.moves == 0, "no lamp moved: the controllers kept their links")
    }
}

/// A flag one task sets and another reads, and a count the other keeps.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    private var number = 0
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
    var counted: Int { lock.withLock { number } }
    func count() { lock.withLock { number += 1 } }
}

/// A PostgreSQL server of its own (scripts/postgres.sh with its own folder and a free port),
/// for a test that stops and starts it: the other tests' server is never touched.
final class PrivatePostgres {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/postgres.sh").path
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lamplighter-pg-\(UUID().uuidString)")
    let port: Int

    init() throws {
        port = try Self.freePort()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    var url: String { "postgres://lamplighter@127.0.0.1:\(port)/postgres" }

    func start() throws { try run("start") }
    func stop() throws { try run("stop") }

    func remove() {
        try? run("stop")
        try? FileManager.default.removeItem(at: folder)
    }

    private func run(_ verb: String) throws {
        let process = Process()
        // Foundation learns that a child ended when a descriptor the child inherited closes;
        // the server that `start` leaves running would inherit it too and hold it open, so
        // the script runs with every descriptor above 2 closed.
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c", #"for fd in $(ls /proc/$$/fd); do if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi; done; exec "$0" "$@""#, Self.script, verb,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["LAMPLIGHTER_POSTGRES_DIR"] = folder.path
        environment["LAMPLIGHTER_POSTGRES_PORT"] = "\(port)"
        process.environment = environment
        let errors = OutputCollector()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errors.pipe
        try process.run()
        errors.start()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw HarnessError("scripts/postgres.sh \(verb) failed (\(process.terminationStatus)): \(errors.waitForEnd())")
        }
    }

    /// A TCP port nobody listens on now: the kernel's pick for a socket bound to port 0.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw HarnessError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
