import Foundation
import OperatorAPI
import Testing

/// A lighting program over a simulated night: 200 lamps in Amsterdam run midnight dimming
/// on their own clocks at 900 times real speed, with an override in the evening and the
/// daemon stopped for five simulated hours around midnight.
@Suite("Lighting programs over a night", .serialized)
struct ProgramNightTests {
    /// Amsterdam, night of Friday 20 November 2026. Sunset 16:41:17, sunrise (21 Nov)
    /// 08:11:52 local, from PyEphem (scripts/make-solar-reference.py), independent of the
    /// code under test. The program switches 10 minutes before and after.
    static let on = Self.local(16, 31, 17)
    static let dim = Self.local(23, 0, 0)
    static let off = Self.local(8, 21, 52, nextDay: true)

    /// Unix seconds of a CET time of the evening (or next morning).
    static func local(_ hour: Int, _ minute: Int, _ second: Int, nextDay: Bool = false) -> Int64 {
        let midnightUTC: Int64 = 1_795_132_800  // 2026-11-20T00:00:00Z
        return midnightUTC + (nextDay ? 86_400 : 0) + Int64(hour * 3600 + minute * 60 + second) - 3600
    }

    /// What midnight dimming asks for at `clock`, or nil within `slack` seconds of a switch.
    static func expected(at clock: Int64, slack: Int64 = 180) -> UInt16? {
        for point in [on, dim, off] where abs(clock - point) <= slack { return nil }
        if clock < on || clock >= off { return 0 }
        return clock < dim ? 1000 : 300
    }

    static let program = """
        # Midnight dimming
        sunset-10m    100%   fade 2s
        23:00         30%    fade 2s
        sunrise+10m   off
        """

    @Test("200 lamps follow midnight dimming through a time-scaled night, an override and a daemon outage")
    func night() async throws {
        let daemon = try Daemon(lamps: 200)
        daemon.runArguments = ["--timezone", "Europe/Amsterdam", "--latitude", "52.3676", "--longitude", "4.9041"]
        try daemon.start()
        let (saved, _): (Int, ProgramView?) = try await daemon.request("PUT", "/programs/midnight", body: ProgramSave(source: Self.program))
        #expect(saved == 201)
        let (assigned, assignment): (Int, ProgramAssigned?) = try await daemon.request(
            "POST", "/programs/midnight/assign", body: ProgramAssign(target: "all"))
        #expect(assigned == 202 && assignment?.lamps == 200)
        let (created, _): (Int, GroupView?) = try await daemon.request("POST", "/groups", body: GroupCreate(name: "pier"))
        #expect(created == 201)
        let pier = (1...10).map { String(format: "lamp-%04d", $0) }
        let (_, _): (Int, GroupView?) = try await daemon.request("POST", "/groups/pier/members", body: GroupMembersChange(add: pier))

        // 16:00 local; 900 simulated seconds per real second.
        let startClock: Int64 = Self.local(16, 0, 0)
        let began = Date()
        let sim = try Simulator(
            daemon, count: 200, duration: 90,
            extra: ["--time-scale", "900", "--start-time", "2026-11-20T15:00:00Z", "--backoff-min", "100", "--backoff-cap", "1000"])
        func simulatedNow() -> Int64 { startClock + Int64(Date().timeIntervalSince(began) * 900) }
        func sleep(untilLocal clock: Int64) async throws {
            let delay = Double(clock - simulatedNow()) / 900
            if delay > 0 { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
        }
        var mismatches: [String] = []
        func sample(_ what: String, expecting: (String, Int64) -> UInt16?) async throws -> Int {
            let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?limit=200")
            var checked = 0
            for lamp in page?.lamps ?? [] {
                guard let reported = lamp.reported, let clock = reported.lampClock.map({ Int64($0.timeIntervalSince1970) }),
                    let expected = expecting(lamp.id, clock)
                else { continue }
                checked += 1
                if Int((reported.level * 10).rounded()) != Int(expected) {
                    mismatches.append("\(what): \(lamp.id) at \(clock - startClock) s reported \(reported.level)% expected \(expected)")
                }
            }
            return checked
        }

        // Lit before 17:00.
        try await sleep(untilLocal: Self.local(16, 50, 0))
        try await daemon.waitUntil("every lamp is lit by its program", seconds: 10) {
            let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?limit=200&online=true")
            return page?.lamps.filter { $0.reported?.level == 100 }.count == 200
        }
        // An override at 17:00 for two hours, on the pier: 7,200 s of the lamps' clocks.
        let override = try await daemon.command(
            CommandRequest(target: "group:pier", action: "override", level: 80, durationSeconds: 7200))
        try await daemon.waitUntil("the pier applied the override") { try await daemon.progress(override.id).applied == 10 }
        try await sleep(untilLocal: Self.local(18, 0, 0))
        let duringOverride = try await sample("override") { id, clock in
            pier.contains(id) ? (clock > Self.local(17, 5, 0) ? 800 : nil) : Self.expected(at: clock)
        }
        #expect(duringOverride >= 190)
        // After 19:00 + fade the pier is back on the program.
        try await sleep(untilLocal: Self.local(19, 20, 0))
        try await daemon.waitUntil("the pier resumed its program", seconds: 5) {
            let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?group=pier&limit=10")
            return page?.lamps.allSatisfy { $0.reported?.level == 100 && $0.reported?.mode == "program" } == true
        }

        // The daemon goes away at 20:00 and comes back at 01:00; 23:00 happens meanwhile.
        try await sleep(untilLocal: Self.local(20, 0, 0))
        daemon.stop()
        try await sleep(untilLocal: Self.local(1, 0, 0, nextDay: true))
        try daemon.start()
        try await daemon.waitUntil("the lamps reconnect, dimmed to 30 % on their own", seconds: 15) {
            let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?limit=200&online=true")
            return page?.lamps.filter { $0.reported?.level == 30 }.count == 200
        }
        let afterOutage = try await sample("after the outage") { _, clock in Self.expected(at: clock) }
        #expect(afterOutage == 200)

        // Off after sunrise.
        try await sleep(untilLocal: Self.local(8, 30, 0, nextDay: true))
        try await daemon.waitUntil("every lamp is off after sunrise", seconds: 10) {
            let (_, page): (Int, LampPage?) = try await daemon.request("GET", "/lamps?limit=200")
            return page?.lamps.filter { $0.reported?.level == 0 }.count == 200
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")

        // The lamps' own record: every level they took, also while the daemon was away.
        let report = try sim.finish()
        #expect(report.lampDetails.count == 200)
        for lamp in report.lampDetails {
            #expect(lamp.programRevision == assignment?.revision)
            let wrong = lamp.programHistory.filter { entry in
                Self.expected(at: entry[0], slack: 120).map { $0 != UInt16(entry[1]) } ?? false
            }
            #expect(wrong.isEmpty, "\(lamp.id): \(wrong.prefix(3))")
            let dimmedAlone = lamp.programHistory.contains { abs($0[0] - Self.dim) <= 120 && $0[1] == 300 }
            #expect(dimmedAlone, "\(lamp.id) did not dim at 23:00 while the daemon was away")
        }
    }

    @Test("a lamp whose report disagrees with its program raises a program.mismatch event")
    func mismatchEvents() async throws {
        // A place where it is the middle of the night now (local solar midnight, on the
        // equator), and lamps whose clocks say noon: they follow the program, so they are off.
        let now = Date().timeIntervalSince1970
        let utcHours = now.truncatingRemainder(dividingBy: 86_400) / 3600
        var longitude = -15 * utcHours
        while longitude < -180 { longitude += 360 }
        let daemon = try Daemon(lamps: 5)
        daemon.runArguments = [
            "--timezone", "UTC0", "--latitude", "0", "--longitude", String(format: "%.4f", longitude), "--program-check-interval", "1",
        ]
        try daemon.start()
        let (_, _): (Int, ProgramView?) = try await daemon.request("PUT", "/programs/all-night", body: ProgramSave(source: "sunset on\nsunrise off"))
        let (_, _): (Int, ProgramAssigned?) = try await daemon.request("POST", "/programs/all-night/assign", body: ProgramAssign(target: "all"))
        let noon = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now + 12 * 3600))
        let sim = try Simulator(daemon, count: 5, extra: ["--start-time", noon])
        try await daemon.waitUntil("every lamp is reported off at night", seconds: 20) {
            let (_, events): (Int, [EventView]?) = try await daemon.request("GET", "/events?kind=program.mismatch&limit=50")
            return Set(events?.filter { $0.detail == "off at night" }.map(\.lamp) ?? []).count == 5
        }
        let lamp = try #require(try await daemon.lamp("lamp-0001"))
        #expect(lamp.expectedLevel == 100 && lamp.reported?.level == 0 && lamp.program == "all-night")
        _ = try sim.finish()
    }
}
