import FleetCore
import Foundation
import GRDB
import LampProtocol

/// Incidents (issue 17): the fault monitor's incidents as they open, are acknowledged and
/// resolve. Written in batches (each incident as it now is; the newest state wins), with an
/// operator's audit entry in the same transaction when there is one.
extension FleetStore {
    /// Stores incidents as they now are (insert or replace by id), with `audit` if given, in
    /// one transaction.
    public func saveIncidents(_ batch: [IncidentRecord], audit: AuditRecord? = nil) throws {
        guard !batch.isEmpty || audit != nil else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR REPLACE INTO incident (id, kind, lamp_id, cabinet, opened_at, state, acknowledged_by, acknowledged_at,
                        resolved_by, resolved_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for incident in batch {
                var lamp: String?
                var cabinet: String?
                switch incident.subject {
                case .lamp(let id): lamp = id.value
                case .cabinet(let name): cabinet = name
                }
                try statement.execute(arguments: [
                    incident.id, incident.kind.rawValue, lamp, cabinet, Int64(clamping: incident.openedAtMilliseconds), incident.state.rawValue,
                    incident.acknowledgedBy, incident.acknowledgedAtMilliseconds.map { Int64(clamping: $0) }, incident.resolvedBy,
                    incident.resolvedAtMilliseconds.map { Int64(clamping: $0) }, incident.detail,
                ])
            }
            if let audit { try FleetStore.insertAudit(db, audit) }
        }
    }

    /// Incidents newest first, filtered by state, kind, lamp and cabinet (nil: any).
    public func incidents(
        state: IncidentState? = nil, kind: FaultKind? = nil, lamp: LampID? = nil, cabinet: String? = nil, limit: Int = 100
    ) throws -> [IncidentRecord] {
        try pool.read { db in
            let (whereClause, arguments) = FleetStore.filter(
                [("state = ?", state?.rawValue), ("kind = ?", kind?.rawValue), ("lamp_id = ?", lamp?.value), ("cabinet = ?", cabinet)],
                limit: limit)
            return try Row.fetchAll(db, sql: "SELECT * FROM incident \(whereClause) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map(FleetStore.incident)
        }
    }

    /// One incident, or nil.
    public func incident(_ id: Int64) throws -> IncidentRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM incident WHERE id = ?", arguments: [id]).map(FleetStore.incident)
        }
    }

    /// The incidents not resolved (what the fault monitor starts with), and the highest id ever used.
    public func unresolvedIncidents() throws -> (incidents: [IncidentRecord], highestID: Int64) {
        try pool.read { db in
            let open = try Row.fetchAll(db, sql: "SELECT * FROM incident WHERE state != 'resolved' ORDER BY id").map(FleetStore.incident)
            let highest = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM incident") ?? 0
            return (open, highest)
        }
    }

    static func incident(_ row: Row) throws -> IncidentRecord {
        let id: Int64 = row["id"]
        let kindText: String = row["kind"]
        let stateText: String = row["state"]
        guard let kind = FaultKind(rawValue: kindText), let state = IncidentState(rawValue: stateText) else {
            throw FleetStoreError("stored incident \(id) has kind '\(kindText)', state '\(stateText)'")
        }
        let subject: IncidentSubject
        if let lampText: String = row["lamp_id"], let lamp = LampID(lampText) {
            subject = .lamp(lamp)
        } else if let cabinet: String = row["cabinet"] {
            subject = .cabinet(cabinet)
        } else {
            throw FleetStoreError("stored incident \(id) names neither a lamp nor a cabinet")
        }
        return IncidentRecord(
            id: id, kind: kind, subject: subject, openedAtMilliseconds: UInt64(clamping: row["opened_at"] as Int64), state: state,
            acknowledgedBy: row["acknowledged_by"], acknowledgedAtMilliseconds: (row["acknowledged_at"] as Int64?).map { UInt64(clamping: $0) },
            resolvedBy: row["resolved_by"], resolvedAtMilliseconds: (row["resolved_at"] as Int64?).map { UInt64(clamping: $0) },
            detail: row["detail"])
    }
}
