import FleetCore
import FleetStore
import Foundation
import LampProtocol
import Testing

/// What only the SQLite store has: files, WAL, older databases. What every store does is in
/// StoreBehaviourTests, run on each backend.
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
