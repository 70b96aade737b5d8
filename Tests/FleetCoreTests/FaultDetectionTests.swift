import FleetCore
import LampProtocol
import Testing

/// The fault detectors, the cabinet rule and the incident book on a manual clock: each fault
/// is raised after its hold and cleared when it stops, and a lamp near a limit does not flap.
@Suite("Fault detection")
struct FaultDetectionTests {
    static let start: UInt64 = 1_800_000_000_000
    static let night = FaultExpectation(level: 1000, sunUp: false)
    static let day = FaultExpectation(level: 0, sunUp: true)
    static let thresholds = FaultThresholds()

    /// Feeds a detector one report every `every` seconds for `seconds`; returns every change.
    static func run(
        _ detector: inout LampFaultDetector, from start: UInt64, seconds: UInt64, every: UInt64 = 10, lit: Bool, watts: Double,
        wattage: Double? = 40, expected: FaultExpectation
    ) -> [FaultChange] {
        var changes: [FaultChange] = []
        var t = start
        while t < start + seconds * 1000 {
            changes += detector.report(lit: lit, watts: watts, wattage: wattage, expected: expected, thresholds: thresholds, atMilliseconds: t)
            t += every * 1000
        }
        return changes
    }

    @Test("a lamp expected on at 0 W fails after the hold, and clears when its power returns")
    func lampFailure() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        #expect(Self.run(&detector, from: Self.start, seconds: 50, lit: true, watts: 0, expected: Self.night).isEmpty)
        let raised = Self.run(&detector, from: Self.start + 50_000, seconds: 20, lit: true, watts: 0.2, expected: Self.night)
        #expect(raised.map(\.kind) == [.lampFailure])
        #expect(raised.first?.raised == true)
        #expect(raised.first?.detail == "expected on at 100.0 %, reporting 0.2 W")
        let cleared = Self.run(&detector, from: Self.start + 70_000, seconds: 70, lit: true, watts: 40, expected: Self.night)
        #expect(cleared == [FaultChange(kind: .lampFailure, raised: false)])
    }

    @Test("a lamp lit while it should be off is raised once, not while a switch settles")
    func litByDay() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        var settling = Self.day
        settling.settled = false
        #expect(Self.run(&detector, from: Self.start, seconds: 300, lit: true, watts: 40, expected: settling).isEmpty)
        let raised = Self.run(&detector, from: Self.start + 300_000, seconds: 300, lit: true, watts: 40, expected: Self.day)
        #expect(raised == [FaultChange(kind: .litByDay, raised: true, detail: "lit by day while it should be off, 40.0 W")])
        let cleared = Self.run(&detector, from: Self.start + 600_000, seconds: 300, lit: false, watts: 0, expected: Self.day)
        #expect(cleared == [FaultChange(kind: .litByDay, raised: false)])
    }

    @Test("power off wattage x level by more than the tolerance is raised; within 4/5 of it, cleared; between, kept")
    func powerOutOfTolerance() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        let half = FaultExpectation(level: 500, sunUp: false)
        // 40 W at 50 %: 20 W expected; 24 W is 20 % off: fine.
        #expect(Self.run(&detector, from: Self.start, seconds: 120, lit: true, watts: 24, expected: half).isEmpty)
        let raised = Self.run(&detector, from: Self.start + 120_000, seconds: 120, lit: true, watts: 26, expected: half)
        #expect(raised == [FaultChange(kind: .powerOutOfTolerance, raised: true, detail: "26.0 W where 20.0 W is expected (30 % off)")])
        // 24.5 W (22.5 % off) is inside the tolerance but outside 4/5 of it: no flapping.
        #expect(Self.run(&detector, from: Self.start + 240_000, seconds: 600, lit: true, watts: 24.5, expected: half).isEmpty)
        let cleared = Self.run(&detector, from: Self.start + 840_000, seconds: 120, lit: true, watts: 21, expected: half)
        #expect(cleared == [FaultChange(kind: .powerOutOfTolerance, raised: false)])
    }

    @Test("power is not judged during a fade, nor for a lamp without a wattage")
    func powerNotJudged() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        var fading = Self.night
        fading.settled = false
        #expect(Self.run(&detector, from: Self.start, seconds: 600, lit: true, watts: 10, expected: fading).isEmpty)
        #expect(Self.run(&detector, from: Self.start + 600_000, seconds: 600, lit: true, watts: 10, wattage: nil, expected: Self.night).isEmpty)
    }

    @Test("more than the allowed switches an hour is cycling; it clears at half the limit, an hour on")
    func cycling() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        var changes: [FaultChange] = []
        // 12 reports alternating lit and dark a minute apart: 11 switches.
        for i in 0..<12 {
            let lit = i % 2 == 0
            changes += detector.report(
                lit: lit, watts: lit ? 40 : 0, wattage: 40, expected: FaultExpectation(level: lit ? 1000 : 0, sunUp: false, settled: false),
                thresholds: Self.thresholds, atMilliseconds: Self.start + UInt64(i) * 60_000)
        }
        #expect(changes == [FaultChange(kind: .cycling, raised: true, detail: "11 switches in the last hour")])
        // Still within the hour: stays raised.
        #expect(detector.tick(expected: Self.day, thresholds: Self.thresholds, atMilliseconds: Self.start + 30 * 60_000).isEmpty)
        let cleared = detector.tick(expected: Self.day, thresholds: Self.thresholds, atMilliseconds: Self.start + 72 * 60_000)
        #expect(cleared == [FaultChange(kind: .cycling, raised: false)])
    }

    @Test("offline longer than dark-after while it should be lit is dark at night; not by day")
    func darkAtNight() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        detector.link(up: true, atMilliseconds: Self.start)
        _ = detector.report(lit: true, watts: 40, wattage: 40, expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start)
        detector.link(up: false, atMilliseconds: Self.start + 1000)
        #expect(detector.tick(expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start + 900_000).isEmpty)
        #expect(detector.tick(expected: Self.day, thresholds: Self.thresholds, atMilliseconds: Self.start + 1_000_000).isEmpty)
        let raised = detector.tick(expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start + 1_000_000)
        #expect(raised == [FaultChange(kind: .darkAtNight, raised: true, detail: "offline for 999 s while it should be lit")])
        detector.link(up: true, atMilliseconds: Self.start + 1_100_000)
        let cleared = detector.report(lit: true, watts: 40, wattage: 40, expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start + 1_100_000)
        #expect(cleared == [FaultChange(kind: .darkAtNight, raised: false)])
    }

    @Test("a lamp connected but silent is dark at night too")
    func unreported() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        detector.link(up: true, atMilliseconds: Self.start)
        _ = detector.report(lit: true, watts: 40, wattage: 40, expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start)
        let raised = detector.tick(expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start + 901_000)
        #expect(raised.map(\.kind) == [.darkAtNight])
        #expect(raised.first?.detail.hasPrefix("unreported") == true)
    }

    @Test("a condition that comes and goes within the hold never opens an incident")
    func doesNotFlap() {
        var detector = LampFaultDetector(atMilliseconds: Self.start)
        var changes: [FaultChange] = []
        for i in 0..<100 {
            // 0 W for 30 s, 40 W for 30 s, over and over: never 60 s on end.
            let watts: Double = (i / 3) % 2 == 0 ? 0 : 40
            changes += detector.report(lit: true, watts: watts, wattage: 40, expected: Self.night, thresholds: Self.thresholds, atMilliseconds: Self.start + UInt64(i) * 10_000)
        }
        #expect(changes.isEmpty)
    }

    static func lamp(_ n: Int) -> LampID { LampID("cab-\(n)")! }

    @Test("50 lamps of a cabinet going offline together open one cabinet incident and no lamp incidents; back, it resolves")
    func cabinetTrip() {
        let lamps = (0..<50).map { (id: Self.lamp($0), cabinet: Optional("C-7")) }
        var monitor = FaultMonitor(thresholds: Self.thresholds, lamps: lamps, atMilliseconds: Self.start)
        for lamp in lamps {
            _ = monitor.link(lamp.id, up: true, atMilliseconds: Self.start)
            _ = monitor.report(lamp.id, lit: true, watts: 40, wattage: 40, expected: Self.night, atMilliseconds: Self.start)
        }
        var opened: [IncidentRecord] = []
        for (n, lamp) in lamps.enumerated() {
            opened += monitor.link(lamp.id, up: false, atMilliseconds: Self.start + 10_000 + UInt64(n) * 100)
        }
        // Dark at night would be due for every lamp; folded into the cabinet's incident.
        for lamp in lamps { opened += monitor.tick(lamp.id, expected: Self.night, atMilliseconds: Self.start + 2_000_000) }
        #expect(opened.count == 1)
        #expect(opened.first?.subject == .cabinet("C-7"))
        #expect(opened.first?.kind == .cabinetPowerLost)
        #expect(opened.first?.detail == "40 of 50 lamps went offline within 120 s")
        var resolved: [IncidentRecord] = []
        for lamp in lamps {
            resolved += monitor.link(lamp.id, up: true, atMilliseconds: Self.start + 2_100_000)
            resolved += monitor.report(lamp.id, lit: true, watts: 40, wattage: 40, expected: Self.night, atMilliseconds: Self.start + 2_100_000)
        }
        #expect(resolved.map(\.state) == [.resolved])
        #expect(resolved.first?.resolvedBy == IncidentRecord.clearedByLamp)
        #expect(monitor.book.open.isEmpty)
    }

    @Test("lamps of a cabinet going offline one by one, far apart, are lamps' incidents, not the cabinet's")
    func cabinetSlowLoss() {
        let lamps = (0..<5).map { (id: Self.lamp($0), cabinet: Optional("C-8")) }
        var monitor = FaultMonitor(thresholds: Self.thresholds, lamps: lamps, atMilliseconds: Self.start)
        var opened: [IncidentRecord] = []
        for (n, lamp) in lamps.enumerated() {
            _ = monitor.link(lamp.id, up: true, atMilliseconds: Self.start)
            opened += monitor.link(lamp.id, up: false, atMilliseconds: Self.start + UInt64(n) * 600_000)
        }
        for lamp in lamps { opened += monitor.tick(lamp.id, expected: Self.night, atMilliseconds: Self.start + 4_000_000) }
        #expect(opened.map(\.kind) == Array(repeating: .darkAtNight, count: 5))
    }

    @Test("a cabinet of two lamps is never judged as a whole; a lamp near the share coming and going does not flap")
    func cabinetLimits() {
        let pair = [(id: Self.lamp(0), cabinet: Optional("small")), (id: Self.lamp(1), cabinet: Optional("small"))]
        var monitor = FaultMonitor(thresholds: Self.thresholds, lamps: pair, atMilliseconds: Self.start)
        #expect(monitor.link(Self.lamp(0), up: false, atMilliseconds: Self.start).isEmpty)
        #expect(monitor.link(Self.lamp(1), up: false, atMilliseconds: Self.start).isEmpty)

        let ten = (0..<10).map { (id: Self.lamp($0), cabinet: Optional("C-9")) }
        monitor = FaultMonitor(thresholds: Self.thresholds, lamps: ten, atMilliseconds: Self.start)
        var changes: [IncidentRecord] = []
        for lamp in ten.prefix(8) { changes += monitor.link(lamp.id, up: false, atMilliseconds: Self.start) }
        #expect(changes.count == 1)
        // One lamp back and gone again, over and over: 7 or 8 of 10 down, above half the share.
        for i in 0..<20 {
            changes += monitor.link(Self.lamp(0), up: i % 2 == 1, atMilliseconds: Self.start + UInt64(i) * 1000)
        }
        #expect(changes.count == 1)
    }

    @Test("a pass over the fleet model: lamps of a cabinet that linked and dropped, even between two passes, are one incident of the whole cabinet")
    func passOverModel() {
        let stored = (1...10).map { n in
            StoredLamp(record: LampRecord(id: Self.lamp(n), wattage: 40, cabinet: "C-1"), desired: .initial, reported: nil)
        }
        var model = FleetModel(stored: stored)
        var monitor = FaultMonitor(thresholds: Self.thresholds, lamps: [], atMilliseconds: Self.start)
        #expect(monitor.pass(model, atMilliseconds: Self.start + 1000).isEmpty)
        // Six link and are seen by a pass; four link after it; all drop before the next.
        for n in 1...6 { _ = model.linkUp(Fixtures.hello(id: Self.lamp(n)), atMilliseconds: Self.start + 2000) }
        #expect(monitor.pass(model, atMilliseconds: Self.start + 3000).isEmpty)
        for n in 7...10 { _ = model.linkUp(Fixtures.hello(id: Self.lamp(n)), atMilliseconds: Self.start + 4000) }
        for slot in 0..<10 { model.linkDown(slot, atMilliseconds: Self.start + 5000) }
        let opened = monitor.pass(model, atMilliseconds: Self.start + 6000)
        #expect(opened.map(\.subject) == [.cabinet("C-1")])
        #expect(opened.first?.detail.hasSuffix("of 10 lamps went offline within 120 s") == true, "\(opened)")
    }

    @Test("one unresolved incident per lamp and kind; acknowledge and resolve record who and when")
    func incidentBook() {
        var book = IncidentBook(highestID: 41)
        let subject = IncidentSubject.lamp(Self.lamp(1))
        let raised = FaultChange(kind: .lampFailure, raised: true, detail: "0 W")
        let opened = book.apply(raised, to: subject, atMilliseconds: 1)
        #expect(opened?.id == 42)
        #expect(book.apply(raised, to: subject, atMilliseconds: 2) == nil)
        let acked = book.acknowledge(42, by: "night-shift", atMilliseconds: 3)
        #expect(acked?.state == .acknowledged)
        #expect(acked?.acknowledgedBy == "night-shift")
        #expect(acked?.acknowledgedAtMilliseconds == 3)
        let resolved = book.resolve(42, by: "night-shift", atMilliseconds: 4)
        #expect(resolved?.state == .resolved)
        #expect(resolved?.resolvedAtMilliseconds == 4)
        #expect(book.resolve(42, by: "night-shift", atMilliseconds: 5) == nil)
        #expect(book.acknowledge(7, by: "x", atMilliseconds: 5) == nil)
        #expect(book.apply(raised, to: subject, atMilliseconds: 6)?.id == 43)
    }

    @Test("an operator's change that could not be stored is undone: the incident is unresolved as before, and no newer one is overwritten")
    func restoreUnstored() throws {
        var book = IncidentBook()
        let subject = IncidentSubject.lamp(Self.lamp(1))
        let raised = FaultChange(kind: .lampFailure, raised: true, detail: "0 W")
        let first = book.apply(raised, to: subject, atMilliseconds: 1)
        let opened = try #require(first)
        let before = try #require(book.incident(id: opened.id))
        #expect(book.resolve(opened.id, by: "day-shift", atMilliseconds: 2)?.state == .resolved)
        #expect(book.incident(id: opened.id) == nil)
        book.restore(before)
        #expect(book.incident(id: opened.id) == before)
        #expect(book.incident(.lampFailure, of: subject)?.state == .open)
        // Resolved and storing failed, but the fault was raised again meanwhile: the newer
        // incident stays.
        _ = book.resolve(opened.id, by: "day-shift", atMilliseconds: 3)
        let again = book.apply(raised, to: subject, atMilliseconds: 4)
        let newer = try #require(again)
        book.restore(before)
        #expect(book.incident(.lampFailure, of: subject)?.id == newer.id)
        #expect(book.incident(id: opened.id) == nil)
    }
}
