import Foundation
import OperatorAPI
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The daemon and the simulator as real processes on loopback, driven through the operator
/// API as a user would.
@Suite("End to end: lamplighterd and lampsim", .serialized)
struct EndToEndTests {
    @Test("500 lamps connect, a fleet command reaches all, every lamp reports it applied")
    func fleetCommand() async throws {
        let daemon = try Daemon(lamps: 500)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 500)
        try await waitUntil("500 lamps are online") { try await daemon.onlineCount() == 500 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 30, fadeSeconds: 1))
        #expect(accepted.lamps == 500)
        try await waitUntil("every lamp applied the command") { try await daemon.progress(accepted.id).applied == 500 }
        let lamp = try #require(try await daemon.lamp("lamp-0123"))
        #expect(lamp.desired.level == 30 && lamp.reported?.appliedVersion == lamp.desired.version && lamp.converged)
        let report = try sim.finish()
        #expect(report.handshakes >= 500 && report.authRefused == 0)
        #expect(report.lampDetails.allSatisfy { $0.appliedVersion == 1 })
    }

    @Test("a lamp with a wrong key and a replayed handshake are refused; the others are not")
    func wrongKeyAndReplay() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 10, extra: ["--wrong-key", "2", "--replay", "2"])
        try await waitUntil("8 lamps are online") { try await daemon.onlineCount() == 8 }
        try await waitUntil("the refusals are recorded", timeout: .seconds(10)) {
            let wrongKey = try await daemon.events(lamp: "lamp-0001").contains { $0.kind == "auth.failed" }
            let replayed = try await daemon.events(lamp: "lamp-0003").contains { $0.kind == "auth.failed" }
            return wrongKey && replayed
        }
        // The replaying lamps' own links are untouched by the refused replays: lamp-0003 still
        // answers on the link it had, after its replay was refused.
        let marker = try await daemon.command(CommandRequest(target: "lamp:lamp-0003", action: "identify", durationSeconds: 1))
        try await waitUntil("lamp-0003 acknowledged on its own link") { try await daemon.progress(marker.id).applied == 1 }
        #expect(try await daemon.lamp("lamp-0001")?.online == false)
        #expect(try await daemon.lamp("lamp-0003")?.online == true)
        #expect(try await daemon.onlineCount() == 8)
        let report = try sim.finish()
        #expect(report.authRefused >= 2)
        #expect(report.replayRefused == 2 && report.replayAccepted == 0)
        // One handshake per good lamp in the whole run: no link was lost and made again.
        #expect(report.handshakes == 8)
    }

    @Test("kill -9 of the daemon: lamps reconnect, desired state is intact, every lamp converges")
    func killAndRestart() async throws {
        let daemon = try Daemon(lamps: 200)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 200, duration: 90)
        try await waitUntil("200 lamps are online") { try await daemon.onlineCount() == 200 }
        let first = try await daemon.command(CommandRequest(target: "all", action: "level", level: 40))
        try await waitUntil("the first command is applied") { try await daemon.progress(first.id).applied == 200 }
        // Accepted means durable: kill the daemon the moment the second command is answered.
        let second = try await daemon.command(CommandRequest(target: "all", action: "override", level: 80, durationSeconds: 3600))
        daemon.kill9()
        try await daemon.start()
        let lamp = try #require(try await daemon.lamp("lamp-0042"))
        // Version 2, or a fresh one if the lamp already reconnected: after a restart a lamp's
        // claim to hold its desired version is proven by an ack again (SPEC.md §8.0).
        #expect(lamp.desired.mode == "override" && lamp.desired.level == 80 && lamp.desired.version >= 2)
        try await waitUntil("lamps reconnect", timeout: .seconds(40)) { try await daemon.onlineCount() == 200 }
        try await waitUntil("every lamp converges to the second command", timeout: .seconds(40)) {
            try await daemon.progress(second.id).applied == 200
        }
        let report = try sim.finish()
        #expect(report.reconnects >= 200)
        #expect(report.lampDetails.allSatisfy { $0.appliedVersion >= 2 })
    }

    @Test("a lamp offline during three commands converges to the last and never applies the older ones")
    func offlineConvergesToLatest() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        for level in [10.0, 20.0, 30.0] {
            _ = try await daemon.command(CommandRequest(target: "all", action: "level", level: level))
        }
        let sim = try Simulator(daemon, count: 10)
        try await waitUntil("every lamp converged") {
            try await daemon.progress(3).applied == 10
        }
        let report = try sim.finish()
        for lamp in report.lampDetails {
            #expect(lamp.appliedHistory == [3], "\(lamp.id) applied \(lamp.appliedHistory)")
        }
    }

    @Test("duplicate identity: the newer link gets the commands, the older one is closed")
    func duplicateIdentity() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        let older = try Simulator(daemon, count: 10)
        try await waitUntil("10 lamps are online") { try await daemon.onlineCount() == 10 }
        let newer = try Simulator(daemon, count: 10)
        try await waitUntil("the newer links replaced the older ten") { try await daemon.stats().linksReplaced >= 10 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "level", level: 55))
        try await waitUntil("every lamp applied") { try await daemon.progress(accepted.id).applied == 10 }
        #expect(try await daemon.onlineCount() == 10)
        let olderReport = try older.finish()
        let newerReport = try newer.finish()
        #expect(olderReport.replaced == 10)
        #expect(olderReport.lampDetails.allSatisfy { $0.appliedVersion == 0 })
        #expect(newerReport.lampDetails.allSatisfy { $0.appliedVersion == 1 })
    }

    @Test("garbage, oversize and half-open links are closed one by one; the daemon serves the rest")
    func misbehavingLinks() async throws {
        let daemon = try Daemon(lamps: 40)
        // A half-open link is dropped after two unanswered pings: one second apart, not two.
        daemon.pingInterval = 1
        try await daemon.start()
        let sim = try Simulator(daemon, count: 40, extra: ["--garbage", "3", "--oversize", "3", "--stall", "2"])
        try await waitUntil("40 lamps are online", timeout: .seconds(40)) { try await daemon.onlineCount() == 40 }
        let accepted = try await daemon.command(CommandRequest(target: "all", action: "on"))
        try await waitUntil("every lamp applied", timeout: .seconds(40)) { try await daemon.progress(accepted.id).applied == 40 }
        let report = try sim.finish()
        #expect(report.closedMalformed == 3)
        #expect(report.closedTooBig == 3)
        #expect(report.closedPingTimeout == 2)
    }

    @Test("SIGTERM with lamps connected: lamps get 1001, the daemon exits 0; a port or database in use exits non-zero and says so")
    func shutdownAndPortInUse() async throws {
        let daemon = try Daemon(lamps: 5)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 5, extra: ["--backoff-min", "60000"])
        try await waitUntil("5 lamps are online") { try await daemon.onlineCount() == 5 }

        let other = try Daemon(lamps: 0)
        let lampPortTaken = try ProductRunner.runWithTimeout(
            "lamplighterd", ["run", "--lamp-host", "127.0.0.1", "--lamp-port", "\(daemon.lampPort)", "--api-port", "0", "--admin-token-file", other.adminTokenFile]
                + other.storage,
            seconds: 20)
        #expect(lampPortTaken.status != 0)
        #expect(lampPortTaken.stderr.contains("cannot listen for lamps on 127.0.0.1:\(daemon.lampPort)"), "\(lampPortTaken.stderr)")
        let apiPortTaken = try ProductRunner.runWithTimeout(
            "lamplighterd",
            ["run", "--lamp-host", "127.0.0.1", "--lamp-port", "0", "--api-port", "\(daemon.apiPort)", "--admin-token-file", other.adminTokenFile]
                + other.storage,
            seconds: 20)
        #expect(apiPortTaken.status != 0)
        #expect(
            apiPortTaken.stderr.contains("cannot listen for the operator API on 127.0.0.1:\(daemon.apiPort): Address already in use"),
            "\(apiPortTaken.stderr)")
        let databaseTaken = try ProductRunner.runWithTimeout(
            "lamplighterd", ["run", "--lamp-port", "0", "--api-port", "0", "--admin-token-file", daemon.adminTokenFile] + daemon.storage,
            seconds: 20)
        #expect(databaseTaken.status == 75)
        #expect(databaseTaken.stderr.contains("is a lamplighterd running on it already?"), "\(databaseTaken.stderr)")

        let process = try #require(daemon.process)
        let began = Date()
        process.terminate()
        process.waitUntilExit()
        daemon.process = nil
        #expect(process.terminationStatus == 0)
        #expect(Date().timeIntervalSince(began) < 5)
        let report = try sim.finish()
        #expect(report.lampDetails.allSatisfy { !$0.connected })
    }

    @Test("the lamp port refuses requests that are not a lamplighter.v1 upgrade")
    func refusesPlainHTTP() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let (_, other) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(daemon.lampPort)/other")))
        #expect((other as? HTTPURLResponse)?.statusCode == 404)
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(daemon.lampPort)/lamp/v1")))
        request.httpMethod = "GET"
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 400)
    }

    @Test("--report-interval reaches every lamp as its config, also lamps registered before")
    func reportInterval() async throws {
        let daemon = try Daemon(lamps: 3)
        daemon.runArguments = ["--report-interval", "1"]
        try await daemon.start()
        let sim = try Simulator(daemon, count: 3)
        try await waitUntil("3 lamps are online") { try await daemon.onlineCount() == 3 }
        try await waitUntil("lamp-0002 has reported") { try await daemon.lamp("lamp-0002")?.reported != nil }
        let first = try #require(try await daemon.lamp("lamp-0002")?.reported?.reportedAt)
        try await waitUntil("the lamp reports every second", timeout: .seconds(5)) {
            guard let later = try await daemon.lamp("lamp-0002")?.reported?.reportedAt else { return false }
            return later.timeIntervalSince(first) >= 1.5
        }
        _ = try sim.finish()
    }
}
