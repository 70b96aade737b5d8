import FleetCore
import LampProtocol
import NIOCore
import PostgresNIO

/// Tokens, audit, groups, programs and the changes to one lamp's registration: the
/// semantics of FleetStore+Operators (each change with its audit entry, in one transaction).
extension PostgresStore {
    // MARK: Tokens

    public func createToken(_ token: TokenRecord, audit: AuditRecord) async throws {
        try await transaction { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO api_token (name, role, hash, created_at, created_by)
                VALUES (\(token.name), \(token.role), \(ByteBuffer(bytes: token.hash)), \(Int64(clamping: token.createdAtMilliseconds)), \(token.createdBy))
                ON CONFLICT (name) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            guard !inserted.isEmpty else {
                throw FleetError.conflict("a token named \(token.name) exists; revoke it first or pick another name", field: "name")
            }
            try await insertAudit(connection, audit)
        }
    }

    public func token(hash: [UInt8]) async throws -> TokenRecord? {
        try await rows("SELECT name, role, hash, created_at, created_by FROM api_token WHERE hash = \(ByteBuffer(bytes: hash))")
            .first.map(Self.token)
    }

    public func tokens() async throws -> [TokenRecord] {
        try await rows("SELECT name, role, hash, created_at, created_by FROM api_token ORDER BY name").map(Self.token)
    }

    public func revokeToken(named name: String, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            // The admin tokens are locked so two revocations cannot each leave the other's last.
            var admins = 0
            var role: String?
            for try await (tokenName, tokenRole) in try await connection.query(
                "SELECT name, role FROM api_token WHERE role = 'admin' OR name = \(name) FOR UPDATE", logger: logger
            ).decode((String, String).self) {
                if tokenRole == "admin" { admins += 1 }
                if tokenName == name { role = tokenRole }
            }
            guard let role else { return false }
            if role == "admin", admins == 1 {
                throw FleetError.conflict(
                    "\(name) is the last admin token: create another admin token first, or nobody could manage tokens through the API",
                    field: "name")
            }
            try await connection.query("DELETE FROM api_token WHERE name = \(name)", logger: logger)
            try await insertAudit(connection, audit)
            return true
        }
    }

    private static func token(_ row: PostgresRow) throws -> TokenRecord {
        let (name, role, hash, created, by) = try row.decode((String, String, ByteBuffer, Int64, String).self)
        return TokenRecord(
            name: name, role: role, hash: Array(hash.readableBytesView), createdAtMilliseconds: UInt64(clamping: created), createdBy: by)
    }

    // MARK: Audit

    public func appendAudit(_ audit: AuditRecord) async throws {
        try await transaction { connection in try await self.insertAudit(connection, audit) }
    }

    func insertAudit(_ connection: PostgresConnection, _ audit: AuditRecord) async throws {
        try await connection.query(
            """
            INSERT INTO audit (at, actor, role, action, target, detail, outcome)
            VALUES (\(Int64(clamping: audit.atMilliseconds)), \(audit.actor), \(audit.role), \(audit.action), \(audit.target), \(audit.detail), \(audit.outcome))
            """, logger: logger)
    }

    public func audit(actor: String?, action: String?, beforeID: Int64?, limit: Int) async throws -> [AuditRecord] {
        var sql = SQLBuilder("SELECT id, at, actor, role, action, target, detail, outcome FROM audit")
        sql.filter([("actor", actor), ("action", action)], beforeID: beforeID)
        sql.append(" ORDER BY id DESC LIMIT ")
        sql.append(sql.bind(Int64(limit)))
        return try await rows(sql.query).map { row in
            let (id, at, actor, role, action, target, detail, outcome) = try row.decode(
                (Int64, Int64, String, String, String, String, String, String).self)
            return AuditRecord(
                id: id, atMilliseconds: UInt64(clamping: at), actor: actor, role: role, action: action, target: target, detail: detail,
                outcome: outcome)
        }
    }

    // MARK: Groups

    public func groups() async throws -> [GroupRecord] {
        try await rows(
            """
            SELECT g.name, g.description, g.created_at, COUNT(m.lamp_id) AS lamps
            FROM group_def g LEFT JOIN lamp_group m ON m.name = g.name
            GROUP BY g.name ORDER BY g.name
            """
        ).map { row in
            let (name, description, created, lamps) = try row.decode((String, String?, Int64, Int).self)
            return GroupRecord(name: name, description: description, createdAtMilliseconds: UInt64(clamping: created), lampCount: lamps)
        }
    }

    public func createGroup(_ name: String, description: String?, audit: AuditRecord) async throws {
        try await transaction { connection in
            let inserted = try await connection.query(
                """
                INSERT INTO group_def (name, description, created_at) VALUES (\(name), \(description), \(Int64(clamping: audit.atMilliseconds)))
                ON CONFLICT (name) DO NOTHING RETURNING 1
                """, logger: logger
            ).collect()
            guard !inserted.isEmpty else { throw FleetError.conflict("group \(name) exists", field: "name") }
            try await insertAudit(connection, audit)
        }
    }

    public func deleteGroup(_ name: String, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            let deleted = try await connection.query("DELETE FROM group_def WHERE name = \(name) RETURNING 1", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await connection.query("DELETE FROM lamp_group WHERE name = \(name)", logger: logger)
            try await insertAudit(connection, audit)
            return true
        }
    }

    public func changeMembers(of name: String, add: [LampID], remove: [LampID], audit: AuditRecord) async throws {
        let added = add.map(\.value)
        let removed = remove.map(\.value)
        try await transaction { connection in
            guard !(try await connection.query("SELECT 1 FROM group_def WHERE name = \(name) FOR UPDATE", logger: logger).collect()).isEmpty else {
                throw FleetError.notFound("no group \(name)", field: "name")
            }
            let missing = try await connection.query(
                """
                SELECT u.id FROM unnest(\(added + removed)::text[]) WITH ORDINALITY AS u(id, n)
                WHERE NOT EXISTS (SELECT 1 FROM lamp WHERE lamp.id = u.id) ORDER BY u.n LIMIT 1
                """, logger: logger
            ).collect()
            if let row = missing.first {
                throw FleetError.notFound("no lamp \(try row.decode(String.self)) is registered", field: "add")
            }
            try await connection.query(
                "INSERT INTO lamp_group (name, lamp_id) SELECT \(name), id FROM unnest(\(added)::text[]) AS id ON CONFLICT DO NOTHING",
                logger: logger)
            try await connection.query("DELETE FROM lamp_group WHERE name = \(name) AND lamp_id = ANY(\(removed)::text[])", logger: logger)
            try await insertAudit(connection, audit)
        }
    }

    // MARK: Programs

    public func programs() async throws -> [ProgramRecord] {
        try await rows(
            """
            SELECT p.name, p.revision, p.source, p.updated_at, p.updated_by,
                   (SELECT COUNT(*) FROM desired_state d WHERE d.program_name = p.name) AS lamps
            FROM program p ORDER BY p.name
            """
        ).map { row in
            let (name, revision, source, updated, by, lamps) = try row.decode((String, Int64, String, Int64, String, Int).self)
            return ProgramRecord(
                name: name, revision: UInt32(clamping: revision), source: source, updatedAtMilliseconds: UInt64(clamping: updated),
                updatedBy: by, lampCount: lamps)
        }
    }

    public func saveProgram(_ name: String, source: String, revision: UInt32, audit: AuditRecord) async throws {
        try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO program (name, revision, source, updated_at, updated_by)
                VALUES (\(name), \(Int64(revision)), \(source), \(Int64(clamping: audit.atMilliseconds)), \(audit.actor))
                ON CONFLICT (name) DO UPDATE SET revision = excluded.revision, source = excluded.source,
                    updated_at = excluded.updated_at, updated_by = excluded.updated_by
                """, logger: logger)
            try await connection.query(
                "UPDATE desired_state SET program_revision = \(Int64(revision)) WHERE program_name = \(name)", logger: logger)
            try await insertAudit(connection, audit)
        }
    }

    public func deleteProgram(_ name: String, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            // Locked, so an assignment cannot slip in between the count and the delete.
            try await connection.query("SELECT 1 FROM program WHERE name = \(name) FOR UPDATE", logger: logger)
            let users = try Self.count(
                try await connection.query("SELECT COUNT(*) FROM desired_state WHERE program_name = \(name)", logger: logger).collect())
            guard users == 0 else {
                throw FleetError.conflict("program \(name) is assigned to \(users) lamps; assign them another first", field: "name")
            }
            let deleted = try await connection.query("DELETE FROM program WHERE name = \(name) RETURNING 1", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await insertAudit(connection, audit)
            return true
        }
    }

    public func assignProgram(_ name: String?, target: CommandTarget, revision: UInt32, audit: AuditRecord) async throws {
        try await transaction { connection in
            var sql = SQLBuilder("UPDATE desired_state SET program_name = $1, program_revision = $2 WHERE program_revision < $2")
            sql.bind(name)
            sql.bind(Int64(revision))
            sql.restrict(to: target)
            try await connection.query(sql.query, logger: logger)
            if let name {
                try await connection.query("UPDATE program SET revision = \(Int64(revision)) WHERE name = \(name)", logger: logger)
            }
            try await insertAudit(connection, audit)
        }
    }

    // MARK: One lamp's registration and keys

    public func updateLamp(_ record: LampRecord, programRevision: UInt32?, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            let updated = try await connection.query(
                """
                UPDATE lamp SET name = \(record.name), latitude = \(record.latitude), longitude = \(record.longitude),
                    wattage = \(record.wattage), cabinet = \(record.cabinet)
                WHERE id = \(record.id.value) RETURNING 1
                """, logger: logger
            ).collect()
            guard !updated.isEmpty else { return false }
            if let programRevision {
                let revision = Int64(programRevision)
                try await connection.query(
                    "UPDATE desired_state SET program_revision = \(revision) WHERE lamp_id = \(record.id.value) AND program_revision < \(revision)",
                    logger: logger)
            }
            try await insertAudit(connection, audit)
            return true
        }
    }

    public func setRevoked(_ id: LampID, _ revoked: Bool, audit: AuditRecord) async throws -> Bool {
        let at: Int64? = revoked ? Int64(clamping: audit.atMilliseconds) : nil
        return try await transaction { connection in
            let updated = try await connection.query(
                "UPDATE lamp SET revoked_at = \(at)::int8 WHERE id = \(id.value) RETURNING 1", logger: logger
            ).collect()
            guard !updated.isEmpty else { return false }
            try await insertAudit(connection, audit)
            return true
        }
    }

    public func requestRekey(_ ids: [LampID], audit: AuditRecord) async throws -> [LampID: UInt32] {
        let values = ids.map(\.value)
        return try await transaction { connection in
            try await connection.query(
                """
                UPDATE lamp SET key_pending = key_generation + 1
                WHERE id = ANY(\(values)::text[]) AND key_pending IS NULL AND key_generation < 4294967295
                """, logger: logger)
            var pending: [LampID: UInt32] = [:]
            for try await (id, generation) in try await connection.query(
                "SELECT id, key_pending FROM lamp WHERE id = ANY(\(values)::text[]) AND key_pending IS NOT NULL", logger: logger
            ).decode((String, Int64).self) {
                if let id = LampID(id) { pending[id] = UInt32(clamping: generation) }
            }
            try await insertAudit(connection, audit)
            return pending
        }
    }

    public func completeRekey(_ id: LampID, generation: UInt32, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            let updated = try await connection.query(
                """
                UPDATE lamp SET key_generation = key_pending, key_pending = NULL, key_master = key_pending_master, key_pending_master = NULL
                WHERE id = \(id.value) AND key_pending = \(Int64(generation)) RETURNING 1
                """, logger: logger
            ).collect()
            guard !updated.isEmpty else { return false }
            try await insertAudit(connection, audit)
            // A key issued under a master key rotated out meanwhile: the next one, under the current master.
            try await connection.query(
                """
                UPDATE lamp SET key_pending = key_generation + 1
                WHERE id = \(id.value) AND key_master IS NOT NULL AND key_generation < 4294967295
                """, logger: logger)
            return true
        }
    }

    public func rotateMaster(from oldMaster: String, audit: AuditRecord) async throws -> [LampID: UInt32] {
        try await transaction { connection in
            try await connection.query("UPDATE lamp SET key_master = \(oldMaster) WHERE key_master IS NULL", logger: logger)
            try await connection.query(
                "UPDATE lamp SET key_pending_master = \(oldMaster) WHERE key_pending IS NOT NULL AND key_pending_master IS NULL", logger: logger)
            try await connection.query(
                "UPDATE lamp SET key_pending = key_generation + 1 WHERE key_pending IS NULL AND key_generation < 4294967295", logger: logger)
            try await insertAudit(connection, audit)
            var pending: [LampID: UInt32] = [:]
            for try await (id, generation) in try await connection.query(
                "SELECT id, key_pending FROM lamp WHERE key_pending IS NOT NULL", logger: logger
            ).decode((String, Int64).self) {
                if let id = LampID(id) { pending[id] = UInt32(clamping: generation) }
            }
            return pending
        }
    }

    public func retireMasters(_ masters: [String], audit: AuditRecord) async throws -> Int {
        try await transaction { connection in
            // Each master counted on its own, as the SQLite store does (a lamp on two counts twice).
            let users = try Self.count(
                try await connection.query(
                    """
                    SELECT COUNT(*) FROM unnest(\(masters)::text[]) AS m JOIN lamp ON lamp.key_master = m OR lamp.key_pending_master = m
                    """, logger: logger
                ).collect())
            if users == 0 { try await insertAudit(connection, audit) }
            return users
        }
    }

    public func removeLamp(_ id: LampID, audit: AuditRecord) async throws -> Bool {
        try await transaction { connection in
            let deleted = try await connection.query("DELETE FROM lamp WHERE id = \(id.value) RETURNING 1", logger: logger).collect()
            guard !deleted.isEmpty else { return false }
            try await insertAudit(connection, audit)
            return true
        }
    }

    // MARK: Incidents

    public func saveIncidents(_ batch: [IncidentRecord], audit: AuditRecord?) async throws {
        guard !batch.isEmpty || audit != nil else { return }
        try await transaction { connection in
            for incident in batch {
                let (lamp, cabinet) = incident.subjectColumns
                try await connection.query(
                    """
                    INSERT INTO incident (id, kind, lamp_id, cabinet, opened_at, state, acknowledged_by, acknowledged_at,
                        resolved_by, resolved_at, detail)
                    VALUES (\(incident.id), \(incident.kind.rawValue), \(lamp), \(cabinet), \(Int64(clamping: incident.openedAtMilliseconds)),
                        \(incident.state.rawValue), \(incident.acknowledgedBy), \(incident.acknowledgedAtMilliseconds.map { Int64(clamping: $0) })::int8,
                        \(incident.resolvedBy), \(incident.resolvedAtMilliseconds.map { Int64(clamping: $0) })::int8, \(incident.detail))
                    ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, lamp_id = excluded.lamp_id, cabinet = excluded.cabinet,
                        opened_at = excluded.opened_at, state = excluded.state, acknowledged_by = excluded.acknowledged_by,
                        acknowledged_at = excluded.acknowledged_at, resolved_by = excluded.resolved_by,
                        resolved_at = excluded.resolved_at, detail = excluded.detail
                    """, logger: logger)
            }
            if let audit { try await insertAudit(connection, audit) }
        }
    }

    public func incidents(state: IncidentState?, kind: FaultKind?, lamp: LampID?, cabinet: String?, limit: Int) async throws -> [IncidentRecord] {
        var sql = SQLBuilder("SELECT \(Self.incidentColumns) FROM incident")
        sql.filter([("state", state?.rawValue), ("kind", kind?.rawValue), ("lamp_id", lamp?.value), ("cabinet", cabinet)], beforeID: nil)
        sql.append(" ORDER BY id DESC LIMIT ")
        sql.append(sql.bind(Int64(limit)))
        return try await rows(sql.query).map(Self.incident)
    }

    public func incident(_ id: Int64) async throws -> IncidentRecord? {
        var sql = SQLBuilder("SELECT \(Self.incidentColumns) FROM incident WHERE id = ")
        sql.append(sql.bind(id))
        return try await rows(sql.query).first.map(Self.incident)
    }

    public func unresolvedIncidents() async throws -> (incidents: [IncidentRecord], highestID: Int64) {
        try await transaction { connection in
            var open: [IncidentRecord] = []
            for try await row in try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.incidentColumns) FROM incident WHERE state <> 'resolved' ORDER BY id"), logger: logger)
            {
                open.append(try Self.incident(row))
            }
            let highest = try await connection.query("SELECT COALESCE(MAX(id), 0)::int8 FROM incident", logger: logger).collect()
            return (open, try highest.first?.decode(Int64.self) ?? 0)
        }
    }

    static let incidentColumns =
        "id, kind, lamp_id, cabinet, opened_at, state, acknowledged_by, acknowledged_at, resolved_by, resolved_at, detail"

    static func incident(_ row: PostgresRow) throws -> IncidentRecord {
        let (id, kind, lamp, cabinet, opened, state, acknowledgedBy, acknowledgedAt, resolvedBy, resolvedAt, detail) = try row.decode(
            (Int64, String, String?, String?, Int64, String, String?, Int64?, String?, Int64?, String).self)
        return try IncidentRecord(
            storedID: id, kind: kind, lamp: lamp, cabinet: cabinet, openedAt: opened, state: state, acknowledgedBy: acknowledgedBy,
            acknowledgedAt: acknowledgedAt, resolvedBy: resolvedBy, resolvedAt: resolvedAt, detail: detail)
    }
}
