import Foundation
import LampCSV
import OperatorAPI
import Testing

/// Fault detection with real processes: lamplighterd, lampsim, lampctl.
@Suite("Faults and incidents end to end", .serialized)
struct FaultEndToEndTests {
    /// Registers `count` lamps of one cabinet through the API.
    static func register(_ daemon: Daemon, count: Int, cabinet: String) async throws {
        let lamps = LampCSV.numberedIDs(prefix: "lamp-", start: 1, count: count).map { LampRegistration(id: $0, wattage: 40, cabinet: cabinet) }
        let (status, views): (Int, [LampView]?) = try await daemon.request("POST", "/lamps", body: lamps)
        #expect(status == 201)
        #expect(views?.first?.cabinet == cabinet)
    }

    static func incidents(_ daemon: Daemon, _ query: String = "") async throws -> [IncidentView] {
        let (status, incidents): (Int, [IncidentView]?) = try await daemon.request("GET", "/incidents" + query)
        guard status == 200, let incidents else { throw HarnessError("GET /incidents\(query) answered \(status)") }
        return incidents
    }

    @Test("a cabinet trip of 50 lamps gives exactly one incident; lampctl acknowledges it; it resolves when they come back")
    func cabinetTrip() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        try await Self.register(daemon, count: 50, cabinet: "C-7")
        var simulator = try Simulator(daemon, count: 50, duration: 120)
        try await waitUntil("50 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 50 }
        #expect(try await Self.incidents(daemon).isEmpty)

        // The trip: every lamp of the cabinet drops at once.
        let tripped = ContinuousClock.now
        simulator.process.terminate()
        simulator.process.waitUntilExit()
        try await waitUntil("a cabinet incident opens", explain: { daemon.printed.errors }) {
            try await !Self.incidents(daemon, "?kind=cabinet-power-lost").isEmpty
        }
        let latency = ContinuousClock.now - tripped
        // Several passes of the fault watch later, still one incident and none of a lamp.
        try await Task.sleep(for: .seconds(11))
        let open = try await Self.incidents(daemon)
        #expect(open.count == 1, "\(open)")
        let incident = try #require(open.first)
        #expect(incident.kind == "cabinet-power-lost" && incident.cabinet == "C-7" && incident.lamp == nil && incident.state == "open")
        #expect(incident.detail.hasSuffix("of 50 lamps went offline within 120 s"), "\(incident.detail)")
        print("cabinet incident after \(latency): \(incident)")

        let ack = try ProductRunner.run("lampctl", ["incidents", "ack", "\(incident.id)"] + daemon.lampctlOptions)
        #expect(ack.status == 0, "\(ack.stderr)")
        #expect(ack.stdout.contains("state:   acknowledged"), "\(ack.stdout)")
        let list = try ProductRunner.run("lampctl", ["incidents", "--cabinet", "C-7"] + daemon.lampctlOptions)
        #expect(list.stdout.contains("cabinet-power-lost") && list.stdout.contains("acknowledged"), "\(list.stdout)")

        simulator = try Simulator(daemon, count: 50, duration: 120)
        try await waitUntil("the cabinet incident resolves", explain: { simulator.lastLines() }) {
            try await Self.incidents(daemon, "?state=resolved").count == 1
        }
        let resolved = try #require(try await Self.incidents(daemon).first)
        #expect(resolved.resolvedBy == "cleared by the lamp" && resolved.acknowledgedBy == "admin", "\(resolved)")
        #expect(try await Self.incidents(daemon).count == 1)
        // Resolving it again is refused, and says why.
        let (status, error): (Int, APIError?) = try await daemon.request("POST", "/incidents/\(incident.id)/resolve", body: nil as String?)
        #expect(status == 409 && error?.error.contains("resolved already") == true)
        let (missing, _): (Int, APIError?) = try await daemon.request("GET", "/incidents/999", body: nil as String?)
        #expect(missing == 404)
    }

    @Test("a bad incident filter is refused naming the field")
    func badFilter() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let (status, error): (Int, APIError?) = try await daemon.request("GET", "/incidents?state=closed", body: nil as String?)
        #expect(status == 400 && error?.field == "state", "\(String(describing: error))")
    }
}
