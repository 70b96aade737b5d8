import FleetCore
import Foundation
import GRDB
import LampProtocol
import Testing

@testable import FleetStore

@Suite("Energy packed per lamp and day")
struct EnergyDayTests {
    /// The example scripts/energy-storage.py packs with its own encoder (GOLDEN_DAY there).
    static var golden: EnergyDay {
        var day = EnergyDay()
        day.add(.init(used: 100_500, full: 100_000, lit: 3600), at: 0)
        day.add(.init(used: 60_500, full: 100_000, lit: 3600), at: 1)
        day.add(.init(used: 60_500, full: 100_000, lit: 3600), at: 2)
        day.add(.init(used: 500, full: 0, lit: 0), at: 8)
        day.add(.init(used: 0, full: 0, lit: 0), at: 23)
        return day
    }
    static let goldenHex = "e08001a31128a30d409984140e1fc14352fe8c34fe660fc9f380"

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("golden bytes: the Swift packer and the independent Python one in scripts/energy-storage.py agree, and it reads back")
    func golden() throws {
        #expect(Self.hex(Self.golden.encoded()) == Self.goldenHex)
        let read = try EnergyDay(encoded: Self.golden.encoded())
        #expect(read == Self.golden)
        // Hour 23 is present with zeros, unlike the absent hours between.
        #expect(read.hours[23] == .init(used: 0, full: 0, lit: 0) && read.hours[22] == nil)
        #expect(read.presentCount == 5 && EnergyDay.presentCount(encoded: Self.golden.encoded()) == 5)
    }

    @Test("extreme values round-trip: negative, Int64 limits, every hour present")
    func extremes() throws {
        var day = EnergyDay()
        let values: [Int64] = [0, 1, -1, .max, .min, 3600, -100_000, .max - 1, .min + 1]
        for hour in 0..<24 {
            day.add(.init(used: values[hour % values.count], full: values[(hour + 3) % values.count], lit: values[(hour + 5) % values.count]), at: hour)
        }
        let bytes = day.encoded()
        #expect(bytes.count <= EnergyDay.maximumEncodedBytes)
        #expect(try EnergyDay(encoded: bytes) == day)
        #expect(try EnergyDay(encoded: EnergyDay().encoded()).isEmpty)
        #expect(EnergyDay().encoded() == [0, 0, 0])
    }

    @Test("random days round-trip; random bytes either read as a day that packs back to the same bytes, or are refused")
    func randomised() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1000 {
            var day = EnergyDay()
            for hour in 0..<24 where Bool.random(using: &rng) {
                let scale = [Int64(1), 4000, 200_000, .max][Int.random(in: 0..<4, using: &rng)]
                day.add(
                    .init(
                        used: Int64.random(in: -scale...scale, using: &rng), full: Int64.random(in: 0...scale, using: &rng),
                        lit: Int64.random(in: 0...3600, using: &rng)), at: hour)
            }
            #expect((try? EnergyDay(encoded: day.encoded())) == day)
        }
        var accepted = 0
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if let day = try? EnergyDay(encoded: bytes) {
                accepted += 1
                #expect(day.encoded() == bytes)
            }
        }
        print("random byte strings read as days: \(accepted) of 20000")
    }

    @Test("damaged values are refused with a clear error, never read as figures or a crash")
    func hostile() {
        let good = Self.golden.encoded()
        // Cut short: every prefix fails.
        for length in 0..<good.count {
            #expect(throws: EnergyDay.DecodingError.self) { try EnergyDay(encoded: Array(good.prefix(length))) }
        }
        // A byte more, or a padding bit set.
        #expect { try EnergyDay(encoded: good + [0]) } throws: { "\($0)".contains("after its last value") }
        var padded = good
        padded[padded.count - 1] |= 1
        #expect { try EnergyDay(encoded: padded) } throws: { "\($0)".contains("bits set after its last value") }
        // Far too long.
        #expect { try EnergyDay(encoded: [UInt8](repeating: 0xff, count: 10_000)) } throws: { "\($0)".contains("more than") }
    }

    @Test("a stored day that is damaged makes the query fail with the lamp and day named, not answer wrong figures")
    func damagedRow() throws {
        let (store, path) = try FleetStoreTests.temporaryStore()
        try store.addLamps([FleetStoreTests.record("a")], atMilliseconds: 1)
        try store.addEnergy([EnergyStoreTests.hour("a", 1, used: 1, full: 1, lit: 1)])
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "UPDATE energy_day SET hours = x'ff'") }
        #expect { _ = try store.energy(target: .all, fromHour: 0, toHour: .max, step: .day) } throws: { "\($0)".contains("is damaged") }
        // A write to the damaged day fails too, and leaves it as it was.
        #expect(throws: (any Error).self) { try store.addEnergy([EnergyStoreTests.hour("a", 2, used: 1, full: 1, lit: 1)]) }
        #expect(try queue.read { db in try Data.fetchOne(db, sql: "SELECT hours FROM energy_day") } == Data([0xff]))
    }

    @Test("one row per lamp and day, whatever the hours and batches; a year of a fleet's hours is one row per lamp-day")
    func rowsPerLampDay() throws {
        let (store, path) = try FleetStoreTests.temporaryStore()
        try store.addLamps([FleetStoreTests.record("a"), FleetStoreTests.record("b")], atMilliseconds: 1)
        for batch in 0..<3 {
            try store.addEnergy((0..<48).flatMap { hour in
                ["a", "b"].map { EnergyStoreTests.hour($0, Int32(hour), used: Double(batch + 1), full: 2, lit: 60) }
            })
        }
        let queue = try DatabaseQueue(path: path)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM energy_day") } == 4)
        let days = try store.energy(target: .all, fromHour: 0, toHour: .max, step: .day)
        // 1 + 2 + 3 Wh an hour, 24 hours, 2 lamps; 3 × 60 s lit an hour.
        #expect(days.map(\.usedWh) == [288.0, 288.0])
        #expect(days.map(\.lamps) == [2, 2])
        #expect(days.map(\.litSeconds) == [8640.0, 8640.0])
        // Pruning inside a day keeps that day's later hours; pruning past it removes the row.
        #expect(try store.pruneEnergy(before: EnergyStoreTests.midnight + 30) == 2 * 30)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM energy_day") } == 2)
        #expect(try store.pruneEnergy(before: EnergyStoreTests.midnight + 48) == 2 * 18)
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM energy_day") } == 0)
    }

    @Test("migration v11: a v10 database's hourly rows become packed days, and every query answers what v10 answered")
    func migrateHourly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleetstore-\(UUID().uuidString).db").path
        let start = Int64(EnergyStoreTests.midnight) - 40 * 24
        var sql = """
            INSERT INTO lamp (id, created_at) VALUES ('a', 1), ('b', 1), ('c', 1);
            INSERT INTO group_def (name, created_at) VALUES ('north', 1);
            INSERT INTO lamp_group (name, lamp_id) VALUES ('north', 'a'), ('north', 'c');

            """
        // 60 days across a month end, uneven hours, a zero hour, values up to 10^7 mWh.
        var seed: UInt64 = 17
        func next(_ bound: Int64) -> Int64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64((seed >> 33) % UInt64(bound))
        }
        var rows: [String] = []
        for lamp in 1...3 {
            for hour in start..<(start + 60 * 24) where next(5) != 0 {
                rows.append("(\(lamp), \(hour), \(next(10_000_000)), \(next(10_000_000)), \(next(3601)))")
            }
        }
        // Hour start + 1: a zero hour of b, and hours of a and c (in every target's range).
        rows += ["(2, \(start + 1), 0, 0, 0)", "(1, \(start + 1), 7, 8, 9)", "(3, \(start + 1), 10, 11, 12)"]
        sql += "INSERT OR REPLACE INTO energy_hour (lamp, hour, used, full, lit) VALUES " + rows.joined(separator: ", ") + ";"
        try FleetStore.makeVersion10Database(path: path, sql: sql)
        let scopes: [(CommandTarget, String)] = [
            (.all, ""),
            (.group("north"), " AND lamp IN (SELECT lamp.rowid FROM lamp JOIN lamp_group ON lamp_group.lamp_id = lamp.id WHERE lamp_group.name = 'north')"),
            (.lamp(LampID("b")!), " AND lamp = (SELECT rowid FROM lamp WHERE id = 'b')"),
        ]
        let ranges: [(Int32, Int32)] = [(0, .max), (Int32(start) + 5, Int32(start) + 24 * 33 + 7), (Int32(start) + 1, Int32(start) + 2)]
        var expected: [[EnergyTotal]] = []
        for (_, scope) in scopes {
            for (from, to) in ranges {
                for step in EnergyStep.allCases {
                    expected.append(try FleetStore.hourlyEnergy(path: path, scope: scope, fromHour: from, toHour: to, step: step))
                }
            }
        }
        #expect(expected.allSatisfy { !$0.isEmpty })
        let store = try FleetStore(path: path)
        var answered: [[EnergyTotal]] = []
        for (target, _) in scopes {
            for (from, to) in ranges {
                for step in EnergyStep.allCases {
                    answered.append(try store.energy(target: target, fromHour: from, toHour: to, step: step))
                }
            }
        }
        #expect(answered == expected)
        let queue = try DatabaseQueue(path: path)
        let tables = try queue.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name LIKE 'energy%' ORDER BY name") }
        #expect(tables == ["energy_day", "energy_day_of_removed_lamp"])
        #expect(try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM energy_day") } == 3 * 60)
    }
}
