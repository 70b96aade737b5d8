import FleetCore
import Foundation
import LampProtocol
import NIOCore
import PostgresNIO
import PostgresStore
import Testing

/// What only the PostgreSQL store has: URLs, servers that cannot be reached, daemons that
/// migrate one database at once. Enabled only with a server (LAMPLIGHTER_TEST_POSTGRES_URL;
/// scripts/test.sh always starts one), and then shown as skipped, not left out silently.
@Suite("PostgresStore", .enabled(if: Backend.postgresURL != nil))
struct PostgresStoreTests {
    @Test("URLs: postgres:// and postgresql://, defaults, and errors that never repeat the password")
    func urls() throws {
        let full = try PostgresLocation("postgresql://ops:s3cret-pw@db.example:6543/fleet")
        #expect(full.host == "db.example" && full.port == 6543 && full.user == "ops" && full.database == "fleet" && full.hasPassword)
        #expect(full.description == "postgres://ops@db.example:6543/fleet")
        var dumped = ""
        dump(full, to: &dumped)
        #expect(!String(reflecting: full).contains("s3cret-pw") && !dumped.contains("s3cret-pw"))
        let short = try PostgresLocation("postgres://ops@localhost")
        #expect(short.port == 5432 && short.database == "ops" && !short.hasPassword)
        #expect(PostgresLocation.isURL("POSTGRES://a@b/c") && !PostgresLocation.isURL("/var/lib/lamplighter/fleet.db"))
        for bad in [
            "postgres://:s3cret-pw@host/db", "postgres://ops:s3cret-pw@/db", "postgres://ops:s3cret-pw@host:0/db",
            "postgres://ops:s3cret-pw@host/db?sslmode=verify-ca", "postgres://ops:s3cret-pw@host/db?application_name=x",
            "postgres://ops:s3cret-pw@host/db/more",
        ] {
            #expect { _ = try PostgresLocation(bad) } throws: { error in
                let text = "\(error)"
                return text.contains("the database URL") && !text.contains("s3cret-pw")
            }
        }
    }

    @Test("an unreachable server is a clear error naming host and port, within the connect timeout, never the password")
    func unreachable() async throws {
        // Port 9 on this machine: nothing listens (the discard port is not served here).
        let started = ContinuousClock.now
        await #expect { _ = try await PostgresStore(url: "postgres://ops:s3cret-pw@127.0.0.1:9/fleet", logger: TestDatabase.logger) } throws: { error in
            let text = "\(error)"
            return text.contains("cannot open the PostgreSQL database postgres://ops@127.0.0.1:9/fleet") && !text.contains("s3cret-pw")
        }
        #expect(ContinuousClock.now - started < .seconds(PostgresStore.connectTimeoutSeconds + 5))
        // A server that answers, with a database that does not exist: the server's words.
        let server = try PostgresLocation(try #require(Backend.postgresURL))
        let missing = server.with(database: "no_such_database_here").secretURL
        await #expect { _ = try await PostgresStore(url: missing, logger: TestDatabase.logger) } throws: { error in
            "\(error)".contains("no_such_database_here") && "\(error)".contains("\(server.host):\(server.port)")
        }
    }

    @Test("sslmode=require never falls back to plain text: a server without TLS is refused, naming it")
    func requiredTLSIsNeverDropped() async throws {
        // The private test server has no TLS (scripts/postgres.sh keeps ssl off).
        let server = try PostgresLocation(try #require(Backend.postgresURL))
        let required = server.secretURL + (server.secretURL.contains("?") ? "&" : "?") + "sslmode=require"
        await #expect { _ = try await PostgresStore(url: required, logger: TestDatabase.logger) } throws: { error in
            let text = "\(error)"
            return text.contains("cannot open the PostgreSQL database") && text.contains("sslmode=require") && text.lowercased().contains("tls")
        }
    }

    @Test("several stores opening one new database at once migrate it once (the advisory lock) and share one fleet epoch")
    func concurrentMigration() async throws {
        try await TestDatabase.with(.postgres) { database in
            let epochs = try await withThrowingTaskGroup(of: FleetEpoch.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await database.open().fleetEpoch() }
                }
                var epochs: [FleetEpoch] = []
                for try await epoch in group { epochs.append(epoch) }
                return epochs
            }
            #expect(epochs.count == 4 && Set(epochs).count == 1)
            let store = try await database.open()
            try await store.addLamps([StoreBehaviourTests.record("a")], config: .initial, atMilliseconds: 1)
            #expect(try await database.open().loadAll().count == 1)
        }
    }

    @Test("a commit's durability: a command written by one store is read by another at once; a refused batch leaves nothing")
    func atomicity() async throws {
        try await TestDatabase.with(.postgres) { database in
            let first = try await database.open()
            let second = try await database.open()
            try await first.addLamps([StoreBehaviourTests.record("a")], config: .initial, atMilliseconds: 1)
            let control = DesiredControl(version: 5, intent: .switched(on: false), fade: .immediate)
            _ = try await first.recordCommand(target: .all, control: control, action: .switched(on: false, fade: .immediate), audit: nil, atMilliseconds: 2)
            #expect(try await second.lamp(LampID("a")!)?.desired.control == control)
            // A batch with one taken id adds none of its lamps, groups or desired state.
            await #expect(throws: FleetError.self) {
                try await second.addLamps([StoreBehaviourTests.record("b", groups: ["new"]), StoreBehaviourTests.record("a")], config: .initial, atMilliseconds: 3)
            }
            #expect(try await first.loadAll().map(\.record.id.value) == ["a"])
            #expect(try await first.groups().isEmpty)
        }
    }

    @Test("two controllers adding energy to the same lamp-days at once, none there before: every addition counts (none lost to a second insert of a new day)")
    func concurrentEnergy() async throws {
        try await TestDatabase.with(.postgres) { database in
            let first = try await database.open()
            let second = try await database.open()
            try await first.addLamps([StoreBehaviourTests.record("a"), StoreBehaviourTests.record("b")], config: .initial, atMilliseconds: 1)
            // 2 stores x 15 batches, each adding 1 Wh to hours 1 and 30 of both lamps (two days).
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in [first, second] {
                    for _ in 0..<15 {
                        group.addTask {
                            try await store.addEnergy([
                                EnergyStoreTests.hour("b", 30, used: 1, full: 1, lit: 1), EnergyStoreTests.hour("a", 1, used: 1, full: 1, lit: 1),
                                EnergyStoreTests.hour("b", 1, used: 1, full: 1, lit: 1), EnergyStoreTests.hour("a", 30, used: 1, full: 1, lit: 1),
                            ])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let midnight = EnergyStoreTests.midnight
            let hours = try await first.energy(target: .all, fromHour: midnight, toHour: midnight + 48, step: .hour)
            #expect(hours.map(\.usedWh) == [60, 60], "\(hours)")
            #expect(hours.map(\.lamps) == [2, 2])
        }
    }

    @Test("a damaged energy day makes the query fail naming the lamp and day; a write to it fails and leaves it as it was")
    func damagedEnergyDay() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = try await database.open()
            try await store.addLamps([StoreBehaviourTests.record("a")], config: .initial, atMilliseconds: 1)
            try await store.addEnergy([EnergyStoreTests.hour("a", 1, used: 1, full: 1, lit: 1)])
            let location = try PostgresLocation(database.location)
            try await TestDatabase.admin(location) { connection in
                try await connection.query("UPDATE energy_day SET hours = '\\xff'::bytea", logger: TestDatabase.logger)
            }
            await #expect { _ = try await store.energy(target: .all, fromHour: 0, toHour: .max, step: .day) } throws: {
                "\($0)".contains("is damaged") && "\($0)".contains("day \(EnergyColumns.day(ofHour: EnergyStoreTests.midnight))")
            }
            await #expect { try await store.addEnergy([EnergyStoreTests.hour("a", 2, used: 1, full: 1, lit: 1)]) } throws: { "\($0)".contains("is damaged") }
            var stored: [UInt8] = []
            try await TestDatabase.admin(location) { connection in
                for try await hours in try await connection.query("SELECT hours FROM energy_day", logger: TestDatabase.logger).decode(ByteBuffer.self) {
                    stored = Array(hours.readableBytesView)
                }
            }
            #expect(stored == [0xff])
        }
    }
}

/// Figures, printed (not asserted): a 20,000-row reported-state batch and a fleet command's
/// durable write on each backend.
@Suite("Store figures")
struct StoreFigureTests {
    static let lampCount = 20_000

    @Test("a 20,000-row reported-state batch is written in one call; a fleet command is durable; both timed", arguments: Backend.tested)
    func largeBatch(_ backend: Backend) async throws {
        try await TestDatabase.with(backend) { database in
            let store = try await database.open()
            let records = (0..<Self.lampCount).map { LampRecord(id: LampID(String(format: "L%06d", $0))!, groups: ["g\($0 % 10)"]) }
            let clock = ContinuousClock()
            let registered = try await clock.measure { try await store.addLamps(records, config: .initial, atMilliseconds: 1) }
            let status = StatusReport(
                appliedVersion: 1, level: Level(permille: 500)!, mode: .manual, isLit: true, isFading: false, powerDeciwatts: 300,
                energyWattHours: 5, burnSeconds: 60, faults: [], temperatureCelsius: 20, ambientLux: nil, programRevision: 0, clock: 0)
            let batch = records.map {
                ReportedRecord(
                    lampID: $0.id, appliedVersion: 1, configVersion: 1, firmware: "2.1", status: status, reportedAtMilliseconds: 10,
                    lastSeenMilliseconds: 10)
            }
            _ = try await store.saveReported(batch)  // the first write inserts; the timed one updates, as at run time
            var timings: [Duration] = []
            for round in 0..<3 {
                let again = batch.map { record in
                    var record = record
                    record.lastSeenMilliseconds = UInt64(20 + round)
                    return record
                }
                timings.append(try await clock.measure { try await store.saveReported(again) })
            }
            let control = DesiredControl(version: 9, intent: .level(Level(permille: 300)!), fade: .immediate)
            var commands: [Duration] = []
            for version in 9..<14 {
                let control = DesiredControl(version: UInt32(version), intent: control.intent, fade: .immediate)
                commands.append(
                    try await clock.measure {
                        _ = try await store.recordCommand(
                            target: .all, control: control, action: .level(Level(permille: 300)!, fade: .immediate), audit: nil, atMilliseconds: 30)
                    })
            }
            let lamps = try await store.loadAll()
            #expect(lamps.count == Self.lampCount)
            #expect(lamps.allSatisfy { $0.reported?.lastSeenMilliseconds == 22 && $0.reported?.status == status && $0.desired.control.version == 13 })
            func ms(_ duration: Duration) -> String { String(format: "%.1f ms", Double(duration.components.attoseconds) / 1e15 + Double(duration.components.seconds) * 1000) }
            print(
                "FIGURES \(backend.testDescription): register \(Self.lampCount) lamps \(ms(registered)); reported-state batch of \(Self.lampCount) \(timings.map(ms).joined(separator: ", ")); fleet command to \(Self.lampCount) lamps, durable: \(commands.map(ms).joined(separator: ", "))"
            )
        }
    }
}
