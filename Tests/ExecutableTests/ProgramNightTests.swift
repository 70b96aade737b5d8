import Foundation
import OperatorAPI
import Testing

/// A lighting program over a simulated night: 200 lamps in Amsterdam run midnight dimming
/// on their own clocks at 300 times real speed, with an override in the evening and the
/// daemon stopped from the evening until after the 23:00 dimming. The idle hours between
/// switch points are skipped (lampsim's SIGUSR2: the lamps' clocks jump to half a real second
/// before the next switch point or override end), so the night takes seconds, and every wait
/// is for what the lamps report. (A faster clock would hardly shorten the test, as the fades
/// and the skips take real time, but would leave a busy machine less room: a real second is
/// five minutes of the lamps' clocks.)
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
        // Reports every 5 real seconds besides those the lamps send on a change or a skip, so
        // a wait for reports never hangs on one report of one lamp (CI once timed out after the
        // second skip): the next comes within 5 real seconds, not the default minute.
        daemon.runArguments = [
            "--timezone", "Europe/Amsterdam", "--latitude", "52.3676", "--longitude", "4.9041", "--report-interval", "5",
        ]
        try await daemon.start()
        let (saved, _): (Int, ProgramView?) = try await daemon.request("PUT", "/programs/midnight", body: ProgramSave(source: Self.program))
        #expect(saved == 201)
        let (assigned, assignment): (Int, ProgramAssigned?) = try await daemon.request(
            "POST", "/programs/midnight/assign", body: ProgramAssign(target: "all"))
        #expect(assigned == 202 && assignment?.lamps == 200)
        let (created, _): (Int, GroupView?) = try await daemon.request("POST", "/groups", body: GroupCreate(name: "pier"))
        #expect(created == 201)
        let pier = (1...10).map { String(format: "lamp-%04d", $0) }
        let (_, _): (Int, GroupView?) = try await daemon.request("POST", "/groups/pier/members", body: GroupMembersChange(add: pier))

        // 15:00 local; 300 simulated seconds per real second, and the idle stretches skipped.
        let startClock: Int64 = Self.local(15, 0, 0)
        let scale = 300.0
        let sim = try Simulator(
            daemon, count: 200, duration: 120, quiet: false,
            extra: ["--time-scale", "\(Int(scale))", "--start-time", "2026-11-20T14:00:00Z", "--backoff-min", "100", "--backoff-cap", "500"])
        /// A lamp's clock at its last report, Unix seconds.
        func lampClock(_ lamp: LampView) -> Int64? {
            lamp.reported?.lampClock.map { Int64($0.timeIntervalSince1970) }
        }
        var mismatches: [String] = []
        /// Compares each lamp's last report with what `expecting` says for its clock then;
        /// returns how many it checked.
        func check(_ lamps: [LampView], _ what: String, expecting: (String, Int64) -> UInt16?) -> Int {
            var checked = 0
            for lamp in lamps {
                guard let reported = lamp.reported, let clock = lampClock(lamp), let expected = expecting(lamp.id, clock) else { continue }
                checked += 1
                if Int((reported.level * 10).rounded()) != Int(expected) {
                    mismatches.append("\(what): \(lamp.id) at \(clock - startClock) s reported \(reported.level)% expected \(expected)")
                }
            }
            return checked
        }

        // Every lamp holds the program before the switch-on (16:31:17).
        try await waitUntil("every lamp is online and holds its program") {
            let lamps = try await daemon.lamps("limit=200&online=true")
            return lamps.count == 200 && lamps.allSatisfy { $0.programRevision == assignment?.revision && $0.reported?.mode == "program" }
        }
        #expect(try await daemon.lamps("limit=200").allSatisfy { (lampClock($0) ?? .max) < Self.on })
        // Skip to just before the switch-on: every lamp lights by its program.
        sim.skipIdleTime()
        try await waitUntil("every lamp is lit by its program", timeout: .seconds(10)) {
            try await daemon.lamps("limit=200&online=true").filter { $0.reported?.level == 100 }.count == 200
        }
        // An override on the pier for two hours: 7,200 s of the lamps' clocks.
        let override = try await daemon.command(
            CommandRequest(target: "group:pier", action: "override", level: 80, durationSeconds: 7200))
        try await waitUntil("the pier applied the override") { try await daemon.progress(override.id).applied == 10 }
        // Skip to just before it ends: every lamp reports at once, from its clock deep in the
        // override.
        sim.skipIdleTime()
        var duringOverride: [LampView] = []
        try await waitUntil("every lamp reported from its clock past 18:00", explain: { Self.explain(duringOverride, daemon, sim) }) {
            duringOverride = try await daemon.lamps("limit=200")
            return duringOverride.count == 200 && duringOverride.allSatisfy { (lampClock($0) ?? 0) >= Self.local(18, 0, 0) }
        }
        let checkedDuringOverride = check(duringOverride, "override") { id, clock in
            pier.contains(id) ? (clock > Self.local(17, 5, 0) ? 800 : nil) : Self.expected(at: clock)
        }
        #expect(checkedDuringOverride == 200)
        // Once the override ends, the pier is back on the program, after its fade.
        try await waitUntil("the pier resumed its program", timeout: .seconds(10)) {
            let lamps = try await daemon.lamps("group=pier&limit=10")
            return lamps.count == 10 && lamps.allSatisfy { $0.reported?.level == 100 && $0.reported?.mode == "program" }
        }
        // The override ended on the lamps' fast clocks, but the controller's desired state says
        // override for two real hours, and a restarted controller sends a lamp its desired state
        // again (an unproven hello, SPEC.md §8.0): the operator resumes the pier, as they would.
        let resume = try await daemon.command(CommandRequest(target: "group:pier", action: "resume"))
        try await waitUntil("the pier applied the resume") { try await daemon.progress(resume.id).applied == 10 }

        // The daemon goes away; the lamps skip to just before 23:00 and dim on their own. It
        // comes back once their clocks (the simulator's summary line) are past 23:00 and the
        // 2 s fade (10 minutes of their clocks), with some room.
        let lastReports = try await daemon.lamps("limit=200")
        daemon.stop()
        // The lamps' clocks then, at most: each one's last report plus the real time since, at
        // their speed; well before 23:00.
        let stopped = Date()
        let clockAtStop = lastReports.compactMap { lamp in
            lamp.reported.flatMap { reported in lampClock(lamp).map { $0 + Int64(stopped.timeIntervalSince(reported.reportedAt) * scale) } }
        }.max()
        #expect(try #require(clockAtStop) < Self.dim - 120)
        sim.skipIdleTime()
        try await waitUntil("the lamps' clocks are past 23:15", timeout: .seconds(15)) {
            (sim.lampClock.map { Int64($0.timeIntervalSince1970) } ?? 0) >= Self.local(23, 15, 0)
        }
        try await daemon.start()
        var afterOutage: [LampView] = []
        try await waitUntil("the lamps reconnect, dimmed to 30 % on their own", timeout: .seconds(15)) {
            afterOutage = try await daemon.lamps("limit=200&online=true")
            return afterOutage.filter { $0.reported?.level == 30 }.count == 200
        }
        #expect(check(afterOutage, "after the outage") { _, clock in Self.expected(at: clock) } == 200)

        // Skip to just before sunrise + 10 minutes: off.
        sim.skipIdleTime()
        try await waitUntil("every lamp is off after sunrise", timeout: .seconds(10)) {
            try await daemon.lamps("limit=200").filter { $0.reported?.level == 0 }.count == 200
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

    /// For a failed wait: the lamps whose clock is behind, and what both processes said last.
    static func explain(_ lamps: [LampView], _ daemon: Daemon, _ sim: Simulator) -> String {
        let behind = lamps.filter { ($0.reported?.lampClock ?? .distantPast).timeIntervalSince1970 < Double(Self.local(18, 0, 0)) }
        let listed = behind.prefix(5).map { lamp in
            "\(lamp.id) online \(lamp.online), clock \(lamp.reported?.lampClock.map { "\($0)" } ?? "none"), reported at \(lamp.reported.map { "\($0.reportedAt)" } ?? "never")"
        }
        let daemonLines = daemon.printed.errors.split(separator: "\n").suffix(15).joined(separator: "\n")
        return "\(behind.count) lamps behind: \(listed)\n\(sim.lastLines())\nlamplighterd printed:\n\(daemonLines)"
    }

    @Test("a lamp whose report disagrees with its program raises a program.mismatch event")
    func mismatchEvents() async throws {
        // A place where it is the middle of the night now (local solar midnight, on the
        // equator), and lamps whose clocks say noon, running at the normal rate: they follow
        // the program, so they are off, and on the controller's time that is wrong. (Their
        // rate is measured between two reports, so they report every second.)
        let now = Date().timeIntervalSince1970
        let utcHours = now.truncatingRemainder(dividingBy: 86_400) / 3600
        var longitude = -15 * utcHours
        while longitude < -180 { longitude += 360 }
        let daemon = try Daemon(lamps: 5)
        daemon.runArguments = [
            "--timezone", "UTC0", "--latitude", "0", "--longitude=" + String(format: "%.4f", longitude), "--program-check-interval", "1",
            "--report-interval", "1",
        ]
        try await daemon.start()
        let (_, _): (Int, ProgramView?) = try await daemon.request("PUT", "/programs/all-night", body: ProgramSave(source: "sunset on\nsunrise off"))
        let (_, _): (Int, ProgramAssigned?) = try await daemon.request("POST", "/programs/all-night/assign", body: ProgramAssign(target: "all"))
        let noon = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: now + 12 * 3600))
        let sim = try Simulator(daemon, count: 5, extra: ["--start-time", noon])
        try await waitUntil("every lamp is reported off at night", timeout: .seconds(20)) {
            let (_, events): (Int, [EventView]?) = try await daemon.request("GET", "/events?kind=program.mismatch&limit=50")
            return Set(events?.filter { $0.detail == "off at night" }.map(\.lamp) ?? []).count == 5
        }
        let lamp = try #require(try await daemon.lamp("lamp-0001"))
        #expect(lamp.expectedLevel == 100 && lamp.reported?.level == 0 && lamp.program == "all-night")
        _ = try sim.finish()
    }
}
