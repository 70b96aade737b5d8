import FleetCore
import FleetStore
import Foundation
import LampProtocol
import Testing

@Suite("FleetStore on SQLite")
struct FleetStoreTests {
    static func temporaryStore() throws -> (FleetStore, String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleetstore-\(UUID().uuidString).db").path
        return (try FleetStore(path: path), path)
    }

    static func record(_ id: String, groups: [String] = []) -> LampRecord {
        LampRecord(id: LampID(id)!, name: "Lamp \(id)", latitude: 52.37, longitude: 4.89, wattage: 40, groups: groups)
    }

    @Test("an empty file or one that is not SQLite is refused with a clear error, never started as an empty fleet")
    func damagedDatabase() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-\(UUID().uuidString).db").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect { _ = try FleetStore(path: empty) } throws: { "\($0)".contains("is an empty file, not a Lamplighter database") }
        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID().uuidString).db").path
        #expect(FileManager.default.createFile(atPath: garbage, contents: Data(repeating: 0x41, count: 8192)))
        #expect { _ = try FleetStore(path: garbage) } throws: { "\($0)".contains("not a database") }
    }

    @Test("registered lamps come back with the initial desired state; a duplicate id fails the whole batch")
    func register() throws {
        let (store, _) = try Self.temporaryStore()
        try store.addLamps([Self.record("a", groups: ["north", "north", "all-night"]), Self.record("b")], atMilliseconds: 1)
        let lamps = try store.loadAll()
        #expect(lamps.map(\.record.id.value) == ["a", "b"])
        #expect(lamps[0].record.groups == ["all-night", "north"])
        #expect(lamps[0].desired == .initial)
        #expect(lamps[0].reported == nil)
        #expect(throws: FleetError.self) {
            try store.addLamps([Self.record("c"), Self.record("a")], atMilliseconds: 2)
        }
        #expect(try store.loadAll().count == 2)
    }

    @Test("a recorded command survives reopening the file; it reaches exactly its target; newer versions win")
    func commandDurable() async throws {
        let (store, path) = try Self.temporaryStore()
        try store.addLamps([Self.record("a", groups: ["north"]), Self.record("b"), Self.record("c", groups: ["north"])], atMilliseconds: 1)
        let override = DesiredControl(version: 7, intent: .override(Level(permille: 250)!, untilMilliseconds: 99_000), fade: FadeTime(deciseconds: 30))
        let id = try await store.recordCommand(target: .group("north"), control: override, action: .override(Level(permille: 250)!, seconds: 94, fade: FadeTime(deciseconds: 30)), atMilliseconds: 5)
        let older = DesiredControl(version: 6, intent: .switched(on: true), fade: .immediate)
        _ = try await store.recordCommand(target: .all, control: older, action: .switched(on: true, fade: .immediate), atMilliseconds: 6)
        let single = DesiredControl(version: 8, intent: .program, fade: .immediate)
        _ = try await store.recordCommand(target: .lamp(LampID("c")!), control: single, action: .resume(fade: .immediate), atMilliseconds: 7)

        let reopened = try FleetStore(path: path)
        #expect(try reopened.lamp(LampID("a")!)?.desired.control == override)
        #expect(try reopened.lamp(LampID("b")!)?.desired.control == older)
        #expect(try reopened.lamp(LampID("c")!)?.desired.control == single)
        let command = try #require(try reopened.command(id))
        #expect(command.target == .group("north") && command.version == 7 && command.action == .override(Level(permille: 250)!, seconds: 94, fade: FadeTime(deciseconds: 30)))
        #expect(try reopened.command(id + 10) == nil)
        #expect(try reopened.highestControlVersion() == 8)
    }

    @Test("reported state and events are written in batches and read back")
    func reportedAndEvents() throws {
        let (store, _) = try Self.temporaryStore()
        try store.addLamps([Self.record("a")], atMilliseconds: 1)
        let status = StatusReport(
            appliedVersion: 3, level: Level(permille: 300)!, mode: .manual, isLit: true, isFading: false, powerDeciwatts: 120,
            energyWattHours: 5, burnSeconds: 60, faults: [.lampFailure], temperatureCelsius: 20, ambientLux: nil,
            programRevision: 0, clock: 0)
        try store.saveReported([
            ReportedRecord(
                lampID: LampID("a")!, appliedVersion: 3, configVersion: 1, firmware: "1.0", status: status,
                reportedAtMilliseconds: 10, lastSeenMilliseconds: 11),
            // A lamp that is not registered (removed meanwhile) is skipped, not an error.
            ReportedRecord(
                lampID: LampID("ghost")!, appliedVersion: 1, configVersion: 1, firmware: nil, status: nil,
                reportedAtMilliseconds: 10, lastSeenMilliseconds: 10),
        ])
        let reported = try #require(try store.lamp(LampID("a")!)?.reported)
        #expect(reported.status == status && reported.appliedVersion == 3 && reported.lastSeenMilliseconds == 11)

        try store.appendEvents([
            EventRecord(lampID: LampID("a")!, kind: "online", detail: "", atMilliseconds: 1),
            EventRecord(lampID: LampID("a")!, kind: "fault.raised", detail: "lampFailure", atMilliseconds: 2),
        ])
        let events = try store.events(lampID: LampID("a")!)
        #expect(events.map(\.kind) == ["fault.raised", "online"])
    }

    @Test("the database is in WAL mode while open, and reopening it migrates nothing twice")
    func walMode() throws {
        let (store, path) = try Self.temporaryStore()
        try store.addLamps([Self.record("a")], atMilliseconds: 1)
        withExtendedLifetime(store) {
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        }
        let again = try FleetStore(path: path)
        #expect(try again.loadAll().count == 1)
    }

    @Test("a lamp's event is stored once per (lamp, sequence, lamp time): in one batch, across batches, after reopening")
    func eventStoredOnce() throws {
        let (store, path) = try Self.temporaryStore()
        try store.addLamps([Self.record("a"), Self.record("b")], atMilliseconds: 1)
        func event(_ lamp: String, sequence: UInt32, time: UInt32 = 1_700_000_000, at: UInt64 = 5) -> EventRecord {
            EventRecord(
                lampID: LampID(lamp)!, kind: "fault.raised", detail: "lampFailure", atMilliseconds: at,
                lampEvent: LampEventIdentity(sequence: sequence, lampTime: time))
        }
        #expect(try store.appendEvents([event("a", sequence: 7), event("a", sequence: 7, at: 6)]) == [true, false])
        #expect(try store.appendEvents([event("a", sequence: 7, at: 3005), event("b", sequence: 7)]) == [false, true])
        // Controller-made events have no identity and are never taken for duplicates.
        let online = EventRecord(lampID: LampID("a")!, kind: "online", detail: "", atMilliseconds: 9)
        #expect(try store.appendEvents([online, online]) == [true, true])
        let reopened = try FleetStore(path: path)
        #expect(try reopened.appendEvents([event("a", sequence: 7, at: 99)]) == [false])
        // The same sequence with another lamp time is another event: a counter that wrapped
        // or started again.
        #expect(try reopened.appendEvents([event("a", sequence: 7, time: 1_800_000_000)]) == [true])
        let stored = try reopened.events(lampID: LampID("a")!, kind: "fault.raised")
        #expect(stored.count == 2)
        #expect(stored.last?.lampEvent == LampEventIdentity(sequence: 7, lampTime: 1_700_000_000) && stored.last?.atMilliseconds == 5)
    }

    @Test("a database from before the key, with the same lamp event stored twice, migrates and keeps both old rows")
    func eventKeyMigration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleetstore-\(UUID().uuidString).db").path
        let insert = "INSERT INTO event (lamp_id, kind, detail, at) VALUES ('a', 'fault.raised', 'lampFailure', 5);"
        try FleetStore.makeVersion3Database(path: path, sql: insert + insert)
        let store = try FleetStore(path: path)
        #expect(try store.events(lampID: LampID("a")!).count == 2)
        let event = EventRecord(
            lampID: LampID("a")!, kind: "fault.raised", detail: "lampFailure", atMilliseconds: 6,
            lampEvent: LampEventIdentity(sequence: 1, lampTime: 0))
        #expect(try store.appendEvents([event, event]) == [true, false])
    }
}

extension FleetStoreTests {
    @Test("an idempotency key is durable with its command, in one transaction; a second use records nothing; it goes after 24 h")
    func idempotencyKeyDurable() async throws {
        let (store, path) = try Self.temporaryStore()
        try store.addLamps([Self.record("a")], atMilliseconds: 1)
        let control = DesiredControl(version: 1, intent: .switched(on: true), fade: .immediate)
        let claim = IdempotencyClaim(caller: "ops", key: "k1", request: #"{"action":"on"}"#, lamps: 1)
        let first = try await store.recordCommand(
            target: .all, control: control, action: .switched(on: true, fade: .immediate), audit: nil, idempotency: claim, atMilliseconds: 10)
        #expect(first == .recorded(1))
        let reopened = try FleetStore(path: path)
        let earlier = IdempotentCommand(commandID: 1, target: "all", lamps: 1, request: #"{"action":"on"}"#)
        #expect(try reopened.idempotentCommand(caller: "ops", key: "k1", atMilliseconds: 20) == earlier)
        #expect(try reopened.idempotentCommand(caller: "other", key: "k1", atMilliseconds: 20) == nil)
        let newer = DesiredControl(version: 2, intent: .switched(on: false), fade: .immediate)
        let second = try await reopened.recordCommand(
            target: .all, control: newer, action: .switched(on: false, fade: .immediate), audit: nil, idempotency: claim, atMilliseconds: 30)
        #expect(second == .replayed(earlier))
        #expect(try reopened.command(2) == nil)
        #expect(try reopened.lamp(LampID("a")!)?.desired.control == control)
        // A day later the key is gone: the same key records a new command.
        let dayLater = 10 + IdempotencyClaim.retentionMilliseconds + 1
        #expect(try reopened.idempotentCommand(caller: "ops", key: "k1", atMilliseconds: dayLater) == nil)
        let third = try await reopened.recordCommand(
            target: .all, control: newer, action: .switched(on: false, fade: .immediate), audit: nil, idempotency: claim,
            atMilliseconds: dayLater)
        #expect(third == .recorded(2))
    }
}
