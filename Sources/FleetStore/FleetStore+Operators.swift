import FleetCore
import Foundation
import GRDB
import LampProtocol

extension FleetStore {
    // MARK: Tokens

    /// Stores a new token, with its audit entry, in one transaction; a taken name fails.
    public func createToken(_ token: TokenRecord, audit: AuditRecord) throws {
        try pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM api_token WHERE name = ?", arguments: [token.name]) == true {
                throw FleetError.conflict("a token named \(token.name) exists; revoke it first or pick another name", field: "name")
            }
            try db.execute(
                sql: "INSERT INTO api_token (name, role, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
                arguments: [token.name, token.role, Data(token.hash), Int64(token.createdAtMilliseconds), token.createdBy])
            try FleetStore.insertAudit(db, audit)
        }
    }

    /// The token with this SHA-256, or nil. A primary-key lookup: revocation takes effect on
    /// the next request.
    public func token(hash: [UInt8]) throws -> TokenRecord? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_token WHERE hash = ?", arguments: [Data(hash)]).map(FleetStore.token)
        }
    }

    /// Every token, by name.
    public func tokens() throws -> [TokenRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_token ORDER BY name").map(FleetStore.token)
        }
    }

    /// Deletes a token, with its audit entry; false (and no entry) if there is none so named.
    /// The last admin token cannot be revoked (a conflict): without it nobody could create or
    /// revoke tokens through the API again. The check and the delete share one transaction.
    public func revokeToken(named name: String, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            let role = try String.fetchOne(db, sql: "SELECT role FROM api_token WHERE name = ?", arguments: [name])
            if role == "admin", try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_token WHERE role = 'admin'") == 1 {
                throw FleetError.conflict(
                    "\(name) is the last admin token: create another admin token first, or nobody could manage tokens through the API",
                    field: "name")
            }
            try db.execute(sql: "DELETE FROM api_token WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    private static func token(_ row: Row) -> TokenRecord {
        TokenRecord(
            name: row["name"], role: row["role"], hash: [UInt8](row["hash"] as Data),
            createdAtMilliseconds: UInt64(clamping: row["created_at"] as Int64), createdBy: row["created_by"])
    }

    // MARK: Audit

    /// Appends one audit entry in its own transaction.
    public func appendAudit(_ audit: AuditRecord) throws {
        try pool.write { db in try FleetStore.insertAudit(db, audit) }
    }

    static func insertAudit(_ db: Database, _ audit: AuditRecord) throws {
        try db.cachedStatement(sql: "INSERT INTO audit (at, actor, role, action, target, detail, outcome) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .execute(arguments: [
                Int64(clamping: audit.atMilliseconds), audit.actor, audit.role, audit.action, audit.target, audit.detail,
                audit.outcome,
            ])
    }

    /// Audit entries newest first, optionally of one actor and only older than `beforeID`.
    public func audit(actor: String? = nil, action: String? = nil, beforeID: Int64? = nil, limit: Int = 100) throws -> [AuditRecord] {
        try pool.read { db in
            let (whereClause, arguments) = FleetStore.filter(
                [("actor = ?", actor), ("action = ?", action), ("id < ?", beforeID)], limit: limit)
            return try Row.fetchAll(db, sql: "SELECT * FROM audit \(whereClause) ORDER BY id DESC LIMIT ?", arguments: arguments)
                .map { row in
                    AuditRecord(
                        id: row["id"], atMilliseconds: UInt64(clamping: row["at"] as Int64), actor: row["actor"], role: row["role"],
                        action: row["action"], target: row["target"], detail: row["detail"], outcome: row["outcome"])
                }
        }
    }

    // MARK: Groups

    /// Every group with its size, by name.
    public func groups() throws -> [GroupRecord] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT g.name, g.description, g.created_at, COUNT(m.lamp_id) AS lamps
                    FROM group_def g LEFT JOIN lamp_group m ON m.name = g.name
                    GROUP BY g.name ORDER BY g.name
                    """
            ).map { row in
                GroupRecord(
                    name: row["name"], description: row["description"],
                    createdAtMilliseconds: UInt64(clamping: row["created_at"] as Int64), lampCount: row["lamps"])
            }
        }
    }

    /// Creates an empty group, with its audit entry; a taken name fails.
    public func createGroup(_ name: String, description: String?, audit: AuditRecord) throws {
        try pool.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM group_def WHERE name = ?", arguments: [name]) == true {
                throw FleetError.conflict("group \(name) exists", field: "name")
            }
            try db.execute(
                sql: "INSERT INTO group_def (name, description, created_at) VALUES (?, ?, ?)",
                arguments: [name, description, Int64(clamping: audit.atMilliseconds)])
            try FleetStore.insertAudit(db, audit)
        }
    }

    /// Deletes a group and its memberships (not its lamps), with its audit entry; false if
    /// there is no such group.
    public func deleteGroup(_ name: String, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM group_def WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM lamp_group WHERE name = ?", arguments: [name])
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    /// Adds and removes members in one transaction, with its audit entry. Every lamp must be
    /// registered and the group must exist, or nothing changes.
    public func changeMembers(of name: String, add: [LampID], remove: [LampID], audit: AuditRecord) throws {
        try pool.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM group_def WHERE name = ?", arguments: [name]) == true else {
                throw FleetError.notFound("no group \(name)", field: "name")
            }
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM lamp WHERE id = ?")
            for id in add + remove where try Bool.fetchOne(exists, arguments: [id.value]) != true {
                throw FleetError.notFound("no lamp \(id) is registered", field: "add")
            }
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO lamp_group (name, lamp_id) VALUES (?, ?)")
            for id in add {
                try insert.execute(arguments: [name, id.value])
            }
            let delete = try db.cachedStatement(sql: "DELETE FROM lamp_group WHERE name = ? AND lamp_id = ?")
            for id in remove {
                try delete.execute(arguments: [name, id.value])
            }
            try FleetStore.insertAudit(db, audit)
        }
    }
}

extension FleetStore {
    // MARK: Programs

    /// Every program, by name.
    public func programs() throws -> [ProgramRecord] {
        try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT p.*, (SELECT COUNT(*) FROM desired_state d WHERE d.program_name = p.name) AS lamps
                    FROM program p ORDER BY p.name
                    """
            ).map { row in
                ProgramRecord(
                    name: row["name"], revision: UInt32(clamping: row["revision"] as Int64), source: row["source"],
                    updatedAtMilliseconds: UInt64(clamping: row["updated_at"] as Int64), updatedBy: row["updated_by"],
                    lampCount: row["lamps"])
            }
        }
    }

    /// Creates or replaces a program. Lamps it is assigned to get `revision`, in the same
    /// transaction, with the audit entry.
    public func saveProgram(_ name: String, source: String, revision: UInt32, audit: AuditRecord) throws {
        try pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO program (name, revision, source, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, source = excluded.source,
                        updated_at = excluded.updated_at, updated_by = excluded.updated_by
                    """,
                arguments: [name, Int64(revision), source, Int64(clamping: audit.atMilliseconds), audit.actor])
            try db.execute(
                sql: "UPDATE desired_state SET program_revision = ? WHERE program_name = ?", arguments: [Int64(revision), name])
            try FleetStore.insertAudit(db, audit)
        }
    }

    /// Deletes an unassigned program; false if there is none so named. Throws if lamps use it.
    public func deleteProgram(_ name: String, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            let users = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM desired_state WHERE program_name = ?", arguments: [name]) ?? 0
            guard users == 0 else { throw FleetError.conflict("program \(name) is assigned to \(users) lamps; assign them another first", field: "name") }
            try db.execute(sql: "DELETE FROM program WHERE name = ?", arguments: [name])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    /// Assigns a program (nil: none) to a target's lamps as `revision`, with the audit entry.
    public func assignProgram(_ name: String?, target: CommandTarget, revision: UInt32, audit: AuditRecord) throws {
        try pool.write { db in
            var sql = "UPDATE desired_state SET program_name = ?, program_revision = ? WHERE program_revision < ?"
            var arguments: StatementArguments = [name, Int64(revision), Int64(revision)]
            let (clause, targetArguments) = FleetStore.condition(for: target)
            sql += clause
            arguments += targetArguments
            try db.execute(sql: sql, arguments: arguments)
            if let name {
                try db.execute(sql: "UPDATE program SET revision = ? WHERE name = ?", arguments: [Int64(revision), name])
            }
            try FleetStore.insertAudit(db, audit)
        }
    }

    /// Changes a lamp's registration (name, place, wattage) with its audit entry; with
    /// `programRevision`, the lamp gets its program again at that revision (it moved).
    /// False if no such lamp is registered.
    public func updateLamp(_ record: LampRecord, programRevision: UInt32?, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE lamp SET name = ?, latitude = ?, longitude = ?, wattage = ?, cabinet = ? WHERE id = ?",
                arguments: [record.name, record.latitude, record.longitude, record.wattage, record.cabinet, record.id.value])
            guard db.changesCount > 0 else { return false }
            if let programRevision {
                try db.execute(
                    sql: "UPDATE desired_state SET program_revision = ? WHERE lamp_id = ? AND program_revision < ?",
                    arguments: [Int64(programRevision), record.id.value, Int64(programRevision)])
            }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    /// Revokes a lamp (`revoked`) or restores it, with its audit entry. False if it is not
    /// registered.
    public func setRevoked(_ id: LampID, _ revoked: Bool, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE lamp SET revoked_at = ? WHERE id = ?",
                arguments: [revoked ? Int64(clamping: audit.atMilliseconds) : nil, id.value])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }

    /// Starts a key rotation (SPEC.md §8.12) for each lamp in `ids` that has none pending:
    /// its pending generation becomes its current one + 1. A lamp that already has one keeps
    /// it (it may have stored that key already: a second generation would lock it out). One
    /// audit entry for the whole request. Returns each known lamp's pending generation.
    public func requestRekey(_ ids: [LampID], audit: AuditRecord) throws -> [LampID: UInt32] {
        try pool.write { db in
            let start = try db.cachedStatement(
                sql: "UPDATE lamp SET key_pending = key_generation + 1 WHERE id = ? AND key_pending IS NULL AND key_generation < 4294967295")
            let read = try db.cachedStatement(sql: "SELECT key_pending FROM lamp WHERE id = ?")
            var pending: [LampID: UInt32] = [:]
            for id in ids {
                try start.execute(arguments: [id.value])
                if let generation = try Int64.fetchOne(read, arguments: [id.value]) {
                    pending[id] = UInt32(clamping: generation)
                }
            }
            try FleetStore.insertAudit(db, audit)
            return pending
        }
    }

    /// Ends a lamp's key rotation: its pending `generation` becomes current (the lamp acked
    /// it or said hello with it), with its audit entry. False if that generation is not the
    /// lamp's pending one (finished already, or the lamp is gone).
    public func completeRekey(_ id: LampID, generation: UInt32, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE lamp SET key_generation = key_pending, key_pending = NULL, key_master = key_pending_master,
                                    key_pending_master = NULL
                    WHERE id = ? AND key_pending = ?
                    """,
                arguments: [id.value, Int64(generation)])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            // A key issued under a master key rotated out meanwhile: the next one, under the current master.
            try db.execute(
                sql: """
                    UPDATE lamp SET key_pending = key_generation + 1
                    WHERE id = ? AND key_master IS NOT NULL AND key_generation < 4294967295
                    """, arguments: [id.value])
            return true
        }
    }

    /// Records a fleet master-key rotation (SPEC.md §4.1): every lamp on the current master
    /// (`key_master` NULL) is pinned to `oldMaster`, every pending key issued under it too, and
    /// every lamp without a rotation pending gets one (current + 1) under the new master
    /// (NULL from now on), with the audit entry. Returns each lamp's pending generation.
    public func rotateMaster(from oldMaster: String, audit: AuditRecord) throws -> [LampID: UInt32] {
        try pool.write { db in
            try db.execute(sql: "UPDATE lamp SET key_master = ? WHERE key_master IS NULL", arguments: [oldMaster])
            try db.execute(
                sql: "UPDATE lamp SET key_pending_master = ? WHERE key_pending IS NOT NULL AND key_pending_master IS NULL",
                arguments: [oldMaster])
            try db.execute(
                sql: "UPDATE lamp SET key_pending = key_generation + 1 WHERE key_pending IS NULL AND key_generation < 4294967295")
            try FleetStore.insertAudit(db, audit)
            var pending: [LampID: UInt32] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, key_pending FROM lamp WHERE key_pending IS NOT NULL") {
                if let id = LampID(row["id"] as String) { pending[id] = UInt32(clamping: row["key_pending"] as Int64) }
            }
            return pending
        }
    }

    /// How many lamps still derive their current or pending key from each of `masters`; when
    /// none does, records the audit entry (the caller then drops those keys).
    public func retireMasters(_ masters: [String], audit: AuditRecord) throws -> Int {
        try pool.write { db in
            var users = 0
            for master in masters {
                users += try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM lamp WHERE key_master = ? OR key_pending_master = ?", arguments: [master, master]) ?? 0
            }
            if users == 0 { try FleetStore.insertAudit(db, audit) }
            return users
        }
    }

    /// Removes a lamp: its registration, desired and reported state and group memberships
    /// (its events stay in the history), with its audit entry. False if it is not registered.
    public func removeLamp(_ id: LampID, audit: AuditRecord) throws -> Bool {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM lamp WHERE id = ?", arguments: [id.value])
            guard db.changesCount > 0 else { return false }
            try FleetStore.insertAudit(db, audit)
            return true
        }
    }
}
