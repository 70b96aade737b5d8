import Foundation
import OperatorAPI
import Testing

/// Each lamp fault lampsim can inject becomes its incident, with real processes.
@Suite("Lamp faults end to end", .serialized)
struct LampFaultEndToEndTests {
    @Test("a failed lamp, a lamp stuck on and a lamp drawing 50 % too much each open their incident")
    func lampFaults() async throws {
        let daemon = try Daemon(lamps: 4)
        daemon.runArguments = ["--fault-hold", "2", "--report-interval", "1"]
        try await daemon.start()
        let simulator = try Simulator(daemon, count: 4, duration: 120, extra: ["--fail-lamps", "1", "--stuck-on", "1", "--power-drift", "50"])
        try await waitUntil("4 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 4 }
        // A webhook gets the incidents too (a real receiver that checks the signatures).
        let receiver = try await WebhookReceiver(secret: WebhookTests.secret)
        defer { Task { await receiver.close() } }
        _ = try WebhookTests.add(daemon, receiver.url, events: "incident.*")
        // The live stream carries the incidents: the fleet channel all of them, a lamp's channel only that lamp's.
        let fleetWatcher = try EventStreamTests.Watcher(["fleet", "--json", "--seconds", "90"] + daemon.lampctlOptions)
        let lampWatcher = try EventStreamTests.Watcher(["lamp:lamp-0002", "--json", "--seconds", "90"] + daemon.lampctlOptions)
        let textWatcher = try EventStreamTests.Watcher(["lamp:lamp-0001", "--seconds", "90"] + daemon.lampctlOptions)
        try await waitUntil("the watchers are subscribed") {
            [fleetWatcher, lampWatcher].allSatisfy { $0.events.contains { $0.type == "subscribed" } }
        }
        for (lamp, action) in [("lamp-0001", "on"), ("lamp-0002", "off"), ("lamp-0003", "on"), ("lamp-0004", "on")] {
            _ = try await daemon.command(CommandRequest(target: "lamp:\(lamp)", action: action))
        }
        let started = ContinuousClock.now
        var incidents: [IncidentView] = []
        try await waitUntil("three incidents open", timeout: .seconds(60), explain: { "\(incidents)\n" + simulator.lastLines() }) {
            incidents = try await FaultEndToEndTests.incidents(daemon)
            return incidents.count >= 3
        }
        print("three lamp incidents after \(ContinuousClock.now - started): \(incidents.map { "\($0.kind) \($0.lamp ?? "-"): \($0.detail)" })")
        let byLamp = Dictionary(incidents.map { ($0.lamp ?? "", $0.kind) }, uniquingKeysWith: { a, b in a + "," + b })
        #expect(byLamp == ["lamp-0001": "lamp-failure", "lamp-0002": "lit-by-day", "lamp-0003": "power-out-of-tolerance"], "\(incidents)")
        let resolve = try ProductRunner.run("lampctl", ["incidents", "resolve", "\(incidents[0].id)"] + daemon.lampctlOptions)
        #expect(resolve.status == 0 && resolve.stdout.contains("resolved by admin"), "\(resolve.stdout) \(resolve.stderr)")
        let json = try ProductRunner.run("lampctl", ["incidents", "list", "--state", "open", "--json"] + daemon.lampctlOptions)
        let open = try APICoding.decoder().decode([IncidentView].self, from: Data(json.stdout.utf8))
        #expect(open.count == 2, "\(json.stdout)")
        let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?action=incident.resolve", body: nil as String?)
        #expect(audit?.count == 1)

        let resolvedID = incidents[0].id
        try await waitUntil("the stream carried the three incidents and the resolution", explain: { "\(fleetWatcher.events)" }) {
            let events = fleetWatcher.events.filter { $0.type.hasPrefix("incident.") }
            return events.filter { $0.type == "incident.opened" }.count >= 3
                && events.contains { $0.type == "incident.resolved" && $0.incident?.id == resolvedID }
        }
        let streamed = fleetWatcher.events.filter { $0.type.hasPrefix("incident.") }
        let opened = streamed.filter { $0.type == "incident.opened" }
        #expect(Set(opened.compactMap(\.incident?.id)) == Set(incidents.map(\.id)), "\(streamed)")
        for event in opened {
            let incident = try #require(event.incident)
            #expect(event.lamp == incident.lamp && incident.state == "open" && !incident.detail.isEmpty, "\(event)")
        }
        let resolution = try #require(streamed.first { $0.type == "incident.resolved" })
        #expect(resolution.incident?.resolvedBy == "admin" && resolution.incident?.state == "resolved", "\(resolution)")
        // lamp:lamp-0002's channel: its own incident (lit by day) and no other lamp's.
        let lampIncidents = lampWatcher.events.filter { $0.type.hasPrefix("incident.") }
        #expect(!lampIncidents.isEmpty && lampIncidents.allSatisfy { $0.lamp == "lamp-0002" && $0.incident?.kind == "lit-by-day" }, "\(lampIncidents)")
        try await waitUntil("the webhook got the three incidents and the resolution", explain: { "\(receiver.received.map(\.type))" }) {
            let types = receiver.accepted.map(\.type)
            return types.filter { $0 == "incident.opened" }.count == 3 && types.contains("incident.resolved")
        }
        #expect(receiver.received.allSatisfy { $0.signatureValid && $0.body.contains("\"incident\":{") })
        daemon.stop()
        let text = textWatcher.finish().lines.filter { $0.contains("incident.") }
        #expect(text.contains { $0.contains("incident.opened  lamp-0001  incident ") && $0.contains("lamp-failure") }, "\(text)")
    }

    @Test("lampsim --cycling: exactly the cycling lamps open a cycling incident, with their switches counted")
    func cycling() async throws {
        let daemon = try Daemon(lamps: 4)
        // Raised above 2 switches an hour. The detectors look at the fleet every 5 s
        // (FaultWatch), so a lamp switches every 6 s for each switch to be seen; the other
        // detectors keep their one-minute hold, so its dark halves are not taken for a failure.
        daemon.runArguments = ["--fault-max-switches", "2", "--report-interval", "5"]
        try await daemon.start()
        let simulator = try Simulator(daemon, count: 4, duration: 120, extra: ["--cycling", "2", "--cycle-seconds", "6"])
        try await waitUntil("4 lamps are online", explain: { simulator.lastLines() }) { try await daemon.onlineCount() == 4 }
        _ = try await daemon.command(CommandRequest(target: "all", action: "on"))
        let started = ContinuousClock.now
        var incidents: [IncidentView] = []
        try await waitUntil("two cycling incidents open", timeout: .seconds(60), explain: { "\(incidents)\n" + simulator.lastLines() }) {
            incidents = try await FaultEndToEndTests.incidents(daemon)
            return incidents.filter { $0.kind == "cycling" }.count >= 2
        }
        print("cycling incidents after \(ContinuousClock.now - started): \(incidents.map { "\($0.kind) \($0.lamp ?? "-"): \($0.detail)" })")
        // The steady lamps stay quiet while the cycling ones go on switching.
        try await Task.sleep(for: .seconds(6))
        incidents = try await FaultEndToEndTests.incidents(daemon)
        let byLamp = Dictionary(incidents.map { ($0.lamp ?? "", $0.kind) }, uniquingKeysWith: { a, b in a + "," + b })
        #expect(byLamp == ["lamp-0001": "cycling", "lamp-0002": "cycling"], "\(incidents)")
        #expect(incidents.allSatisfy { $0.detail.hasSuffix("switches in the last hour") }, "\(incidents)")
    }
}
