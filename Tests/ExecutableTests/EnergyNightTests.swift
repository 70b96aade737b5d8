import Foundation
import OperatorAPI
import Testing

/// Energy over a simulated night: 20 lamps (40 W) in Amsterdam run midnight dimming at 300
/// times real speed, with the daemon stopped from the evening until after the 23:00 dimming;
/// the daemon's energy total for the night must match the simulator's own counters within 1 %.
@Suite("Energy over a night", .serialized)
struct EnergyNightTests {
    @Test("the daemon's energy for a time-scaled night, across a daemon outage, matches the simulator's own total within 1 %")
    func night() async throws {
        let started = Date()
        let daemon = try Daemon(lamps: 20)
        daemon.runArguments = [
            "--timezone", "Europe/Amsterdam", "--latitude", "52.3676", "--longitude", "4.9041", "--report-interval", "5",
        ]
        try await daemon.start()
        let (saved, _): (Int, ProgramView?) = try await daemon.request("PUT", "/programs/midnight", body: ProgramSave(source: ProgramNightTests.program))
        #expect(saved == 201)
        let (assigned, assignment): (Int, ProgramAssigned?) = try await daemon.request(
            "POST", "/programs/midnight/assign", body: ProgramAssign(target: "all"))
        #expect(assigned == 202 && assignment?.lamps == 20)
        let sim = try Simulator(
            daemon, count: 20, duration: 120, quiet: false,
            extra: ["--time-scale", "300", "--start-time", "2026-11-20T14:00:00Z", "--backoff-min", "100", "--backoff-cap", "500"])
        try await waitUntil("every lamp is online and holds its program") {
            let lamps = try await daemon.lamps("limit=20&online=true")
            return lamps.count == 20 && lamps.allSatisfy { $0.programRevision == assignment?.revision && $0.reported?.mode == "program" }
        }
        sim.skipIdleTime()
        try await waitUntil("every lamp is lit by its program", timeout: .seconds(10)) {
            try await daemon.lamps("limit=20&online=true").filter { $0.reported?.level == 100 }.count == 20
        }
        // Lit for a while at full power (a real second is five minutes of the lamps' clocks).
        try await Task.sleep(for: .seconds(3))
        // The daemon goes away; the lamps dim on their own; their counters' gain while it was
        // away comes with their first report after it is back.
        daemon.stop()
        sim.skipIdleTime()
        try await waitUntil("the lamps' clocks are past 23:15", timeout: .seconds(15)) {
            (sim.lampClock.map { Int64($0.timeIntervalSince1970) } ?? 0) >= ProgramNightTests.local(23, 15, 0)
        }
        try await daemon.start()
        try await waitUntil("the lamps reconnect, dimmed to 30 %", timeout: .seconds(15)) {
            try await daemon.lamps("limit=20&online=true").filter { $0.reported?.level == 30 }.count == 20
        }
        try await Task.sleep(for: .seconds(2))
        sim.skipIdleTime()
        try await waitUntil("every lamp is off after sunrise", timeout: .seconds(10)) {
            try await daemon.lamps("limit=20").filter { $0.reported?.level == 0 }.count == 20
        }
        let report = try sim.finish()
        #expect(report.lampDetails.count == 20)
        // What the lamps' counters gained from the first report the daemon could count from.
        let simulated = report.lampDetails.reduce(0.0) { total, lamp in
            total + Double(lamp.energyWattHours - (lamp.firstReportedEnergyWattHours ?? lamp.energyWattHours))
        }
        #expect(simulated > 20 * 100, "the night should use well over 100 Wh a lamp, not \(simulated) Wh in all")

        // The daemon writes energy every 5 s: read until two readings 6 s apart agree.
        let range = "from=\(ISO8601DateFormatter().string(from: started.addingTimeInterval(-7200)))"
            + "&to=\(ISO8601DateFormatter().string(from: Date().addingTimeInterval(7200)))"
        var previous: EnergyReport?
        var energy: EnergyReport?
        for _ in 0..<5 {
            let (status, answer): (Int, EnergyReport?) = try await daemon.request("GET", "/energy?target=all&step=day&\(range)")
            #expect(status == 200)
            if let answer, let previous, answer.total.usedWh == previous.total.usedWh { energy = answer; break }
            previous = answer
            try await Task.sleep(for: .seconds(6))
        }
        let total = try #require(energy, "the daemon's energy total did not settle").total
        let error = abs(total.usedWh - simulated) / simulated
        print("energy night: daemon \(total.usedWh) Wh, simulator \(simulated) Wh, difference \(String(format: "%.3f", error * 100)) %, "
            + "full power \(total.fullPowerWh) Wh, saved \(total.savedWh) Wh, lit \(total.litHours) h")
        #expect(error < 0.01, "daemon \(total.usedWh) Wh, simulator \(simulated) Wh")
        // Dimmed to 30 % for most of the night: well below full power, and lit all evening.
        #expect(total.savedWh > 0 && total.fullPowerWh > total.usedWh)
        #expect(total.lamps == 20)

        // One lamp alone, and hour rows adding up to the same.
        let (_, one): (Int, EnergyReport?) = try await daemon.request("GET", "/energy?target=lamp-0007&step=hour&\(range)")
        let lamp = try #require(report.lampDetails.first { $0.id == "lamp-0007" })
        let lampSimulated = Double(lamp.energyWattHours - (lamp.firstReportedEnergyWattHours ?? 0))
        let lampTotal = try #require(one).rows.reduce(0) { $0 + $1.usedWh }
        #expect(abs(lampTotal - lampSimulated) <= max(1, lampSimulated * 0.01), "lamp-0007: daemon \(lampTotal) Wh, simulator \(lampSimulated) Wh")
    }
}
