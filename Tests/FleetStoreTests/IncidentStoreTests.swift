import FleetCore
import FleetStore
import Foundation
import LampProtocol
import Testing

/// Cabinets and incidents in the SQLite store (migration "v10: incidents and cabinets").
@Suite("FleetStore: cabinets and incidents")
struct IncidentStoreTests {
    @Test("a lamp's cabinet is stored at registration, changed by an update and read back")
    func cabinet() throws {
        let (store, path) = try FleetStoreTests.temporaryStore()
        var record = FleetStoreTests.record("a")
        record.cabinet = "C-7"
        try store.addLamps([record, FleetStoreTests.record("b")], atMilliseconds: 1)
        #expect(try store.loadAll().map(\.record.cabinet) == ["C-7", nil])
        record.cabinet = "C-8"
        let audit = AuditRecord(atMilliseconds: 2, actor: "t", role: "admin", action: "lamps.update", target: "lamp:a", detail: "cabinet C-8", outcome: "ok")
        #expect(try store.updateLamp(record, programRevision: nil, audit: audit))
        #expect(try FleetStore(path: path).lamp(record.id)?.record.cabinet == "C-8")
    }

    @Test("incidents are stored as they change, filtered, and the unresolved ones come back after reopening")
    func incidents() throws {
        let (store, path) = try FleetStoreTests.temporaryStore()
        var book = IncidentBook()
        let lamp = LampID("a")!
        let failure = book.apply(FaultChange(kind: .lampFailure, raised: true, detail: "0 W"), to: .lamp(lamp), atMilliseconds: 10)!
        let cabinet = book.apply(FaultChange(kind: .cabinetPowerLost, raised: true, detail: "8 of 10"), to: .cabinet("C-7"), atMilliseconds: 11)!
        try store.saveIncidents([failure, cabinet])
        let acked = book.acknowledge(failure.id, by: "night-shift", atMilliseconds: 12)!
        let audit = AuditRecord(atMilliseconds: 12, actor: "night-shift", role: "operator", action: "incident.acknowledge", target: "incident:1", detail: "", outcome: "ok")
        try store.saveIncidents([acked], audit: audit)
        let cleared = book.apply(FaultChange(kind: .cabinetPowerLost, raised: false), to: .cabinet("C-7"), atMilliseconds: 13)!
        try store.saveIncidents([cleared])

        #expect(try store.incidents().map(\.id) == [2, 1])
        #expect(try store.incidents(state: .resolved) == [cleared])
        #expect(try store.incidents(kind: .lampFailure, lamp: lamp) == [acked])
        #expect(try store.incidents(cabinet: "C-7").first?.resolvedBy == IncidentRecord.clearedByLamp)
        #expect(try store.incident(1) == acked)
        #expect(try store.incident(3) == nil)
        #expect(try store.audit(action: "incident.acknowledge").count == 1)
        let reopened = try FleetStore(path: path).unresolvedIncidents()
        #expect(reopened.incidents == [acked])
        #expect(reopened.highestID == 2)
    }
}
