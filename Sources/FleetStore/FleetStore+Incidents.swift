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
                let (lamp, cabinet) = incident.subjectColumns
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
        try IncidentRecord(
            storedID: row["id"], kind: row["kind"], lamp: row["lamp_id"], cabinet: row["cabinet"], openedAt: row["opened_at"],
            state: row["state"], acknowledgedBy: row["acknowledged_by"], acknowledgedAt: row["acknowledged_at"],
            resolvedBy: row["resolved_by"], resolvedAt: row["resolved_at"], detail: row["detail"])
    }
}
