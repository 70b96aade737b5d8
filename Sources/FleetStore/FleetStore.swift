import FleetCore
import Foundation
import GRDB
import LampProtocol

/// Durable fleet state in one SQLite file (WAL mode), through GRDB.
///
/// Desired state and commands are written in one transaction before the operator gets an
/// answer, with `synchronous=FULL` so an accepted command survives `kill -9` and power loss.
/// Reported state and events arrive at a high rate; callers batch them (see the controller's
/// `ReportedStateWriter`) and write each batch in one transaction.
public final class FleetStore: FleetStoring {
    let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    public init(path: String) throws {
        // SQLite takes an empty file for a new database, so a truncated copy or a failed
        // restore would start silently as an empty fleet: refuse it instead.
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw FleetStoreError(
                "\(path) is an empty file, not a Lamplighter database (a failed copy or restore?): restore a backup, or remove it to start a new fleet")
        }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            try EnergyDaySQL.register(on: db)
        }
        configuration.busyMode = .timeout(5)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.path = path
        try FleetStore.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: lamps, desired and reported state, events, commands") { db in
            try db.execute(
                sql: """
                    CREATE TABLE lamp (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT,
                        latitude REAL,
                        longitude REAL,
                        wattage REAL,
                        created_at INTEGER NOT NULL
                    );
                    CREATE TABLE lamp_group (
                        name TEXT NOT NULL,
                        lamp_id TEXT NOT NULL REFERENCES lamp(id) ON DELETE CASCADE,
                        PRIMARY KEY (name, lamp_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX lamp_group_by_lamp ON lamp_group(lamp_id);
                    CREATE TABLE desired_state (
                        lamp_id TEXT PRIMARY KEY NOT NULL REFERENCES lamp(id) ON DELETE CASCADE,
                        control_version INTEGER NOT NULL,
                        intent TEXT NOT NULL,
                        level INTEGER,
                        override_until INTEGER,
                        fade INTEGER NOT NULL,
                        config_version INTEGER NOT NULL,
                        report_interval INTEGER NOT NULL,
                        fail_safe_level INTEGER NOT NULL,
                        power_on_level INTEGER NOT NULL,
                        min_level INTEGER NOT NULL,
                        max_level INTEGER NOT NULL,
                        updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE reported_state (
                        lamp_id TEXT PRIMARY KEY NOT NULL REFERENCES lamp(id) ON DELETE CASCADE,
                        applied_version INTEGER NOT NULL,
                        config_version INTEGER NOT NULL,
                        firmware TEXT,
                        status BLOB,
                        reported_at INTEGER NOT NULL,
                        last_seen INTEGER NOT NULL
                    );
                    CREATE TABLE event (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        lamp_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX event_by_lamp ON event(lamp_id, at);
                    CREATE INDEX event_by_time ON event(at);
                    CREATE TABLE command (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        target TEXT NOT NULL,
                        action TEXT NOT NULL,
                        version INTEGER NOT NULL,
                        created_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("v2: groups as objects, API tokens, audit log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE group_def (
                        name TEXT PRIMARY KEY NOT NULL,
                        description TEXT,
                        created_at INTEGER NOT NULL
                    );
                    INSERT INTO group_def (name, created_at)
                        SELECT DISTINCT name, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM lamp_group;
                    CREATE TABLE api_token (
                        name TEXT PRIMARY KEY NOT NULL,
                        role TEXT NOT NULL,
                        hash BLOB NOT NULL UNIQUE,
                        created_at INTEGER NOT NULL,
                        created_by TEXT NOT NULL
                    );
                    CREATE TABLE audit (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        role TEXT NOT NULL,
                        action TEXT NOT NULL,
                        target TEXT NOT NULL,
                        detail TEXT NOT NULL,
                        outcome TEXT NOT NULL
                    );
                    CREATE INDEX audit_by_actor ON audit(actor, id);
                    """)
        }
        migrator.registerMigration("v3: lighting programs") { db in
            try db.execute(
                sql: """
                    CREATE TABLE program (
                        name TEXT PRIMARY KEY NOT NULL,
                        revision INTEGER NOT NULL,
                        source TEXT NOT NULL,
                        updated_at INTEGER NOT NULL,
                        updated_by TEXT NOT NULL
                    );
                    ALTER TABLE desired_state ADD COLUMN program_name TEXT REFERENCES program(name);
                    ALTER TABLE desired_state ADD COLUMN program_revision INTEGER NOT NULL DEFAULT 0;
                    CREATE INDEX desired_by_program ON desired_state(program_name);
                    """)
        }
        migrator.registerMigration("v4: metadata with the fleet epoch") { db in
            // SPEC.md §5.4: 8 random bytes made with the database (an existing database gets
            // them now). A copy of the file (a backup) keeps them; a new database differs.
            var generator = SystemRandomNumberGenerator()
            try db.execute(
                sql: """
                    CREATE TABLE metadata (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) WITHOUT ROWID;
                    INSERT INTO metadata (key, value) VALUES ('fleet_epoch', ?);
                    """, arguments: [FleetEpoch.random(using: &generator).description])
        }
        migrator.registerMigration("v5: a lamp's event is stored once") { db in
            // Rows written before this migration have no identity (NULL): they stay as they
            // are (nothing in them tells which were the same event) and take no part in the
            // key, so duplicates among them cannot fail the migration.
            try db.execute(
                sql: """
                    ALTER TABLE event ADD COLUMN sequence INTEGER;
                    ALTER TABLE event ADD COLUMN lamp_time INTEGER;
                    CREATE UNIQUE INDEX event_once ON event(lamp_id, sequence, lamp_time) WHERE sequence IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v6: idempotency keys of commands") { db in
            try db.execute(
                sql: """
                    CREATE TABLE idempotency_key (
                        caller TEXT NOT NULL,
                        key TEXT NOT NULL,
                        request TEXT NOT NULL,
                        command_id INTEGER NOT NULL REFERENCES command(id),
                        lamps INTEGER NOT NULL,
                        created_at INTEGER NOT NULL,
                        PRIMARY KEY (caller, key)
                    ) WITHOUT ROWID;
                    CREATE INDEX idempotency_key_by_time ON idempotency_key(created_at);
                    """)
        }
        migrator.registerMigration("v7: revoked lamps; audit pruned by time") { db in
            try db.execute(
                sql: """
                    ALTER TABLE lamp ADD COLUMN revoked_at INTEGER;
                    CREATE INDEX audit_by_time ON audit(at);
                    """)
        }
        migrator.registerMigration("v8: lamp key generations") { db in
            try db.execute(
                sql: """
                    ALTER TABLE lamp ADD COLUMN key_generation INTEGER NOT NULL DEFAULT 0;
                    ALTER TABLE lamp ADD COLUMN key_pending INTEGER;
                    ALTER TABLE lamp ADD COLUMN key_master TEXT;
                    ALTER TABLE lamp ADD COLUMN key_pending_master TEXT;
                    """)
        }
        migrator.registerMigration("v9: hourly energy per lamp") { db in
            // Compact: integers only (SQLite stores each in 1 to 4 bytes here), the lamp as
            // its rowid, no rowid of its own. used and full are mWh, lit is seconds.
            try db.execute(
                sql: """
                    CREATE TABLE energy_hour (
                        lamp INTEGER NOT NULL,
                        hour INTEGER NOT NULL,
                        used INTEGER NOT NULL,
                        full INTEGER NOT NULL,
                        lit INTEGER NOT NULL,
                        PRIMARY KEY (lamp, hour)
                    ) WITHOUT ROWID;
                    CREATE INDEX energy_hour_by_hour ON energy_hour(hour);
                    CREATE TRIGGER energy_of_removed_lamp AFTER DELETE ON lamp BEGIN
                        DELETE FROM energy_hour WHERE lamp = OLD.rowid;
                    END;
                    """)
        }
        migrator.registerMigration("v10: incidents and cabinets") { db in
            try db.execute(
                sql: """
                    ALTER TABLE lamp ADD COLUMN cabinet TEXT;
                    CREATE INDEX lamp_by_cabinet ON lamp(cabinet);
                    CREATE TABLE incident (
                        id INTEGER PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        lamp_id TEXT,
                        cabinet TEXT,
                        opened_at INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        acknowledged_by TEXT,
                        acknowledged_at INTEGER,
                        resolved_by TEXT,
                        resolved_at INTEGER,
                        detail TEXT NOT NULL
                    );
                    CREATE INDEX incident_by_state ON incident(state);
                    CREATE INDEX incident_by_lamp ON incident(lamp_id);
                    CREATE INDEX incident_by_cabinet ON incident(cabinet);
                    """)
        }
        migrator.registerMigration("v11: energy packed per lamp and day") { db in
            // A year of hourly energy for 20,000 lamps took 5.4 GB as one row per lamp-hour;
            // one row per lamp-day with the hours packed takes a tenth (BENCHMARKS.md).
            try packHourlyEnergy(db)
        }
        registerWebhookMigration(&migrator)
        return migrator
    }

    // MARK: Lamps

    /// Registers lamps with the initial desired state, all or none. An id that is already
    /// registered fails the whole batch and names the id.
    public func addLamps(_ records: [LampRecord], config: DesiredConfig = .initial, atMilliseconds now: UInt64) throws {
        try pool.write { db in
            let exists = try db.cachedStatement(sql: "SELECT 1 FROM lamp WHERE id = ?")
            let insertLamp = try db.cachedStatement(
                sql: "INSERT INTO lamp (id, name, latitude, longitude, wattage, cabinet, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
            let insertGroup = try db.cachedStatement(sql: "INSERT INTO lamp_group (name, lamp_id) VALUES (?, ?)")
            let defineGroup = try db.cachedStatement(sql: "INSERT OR IGNORE INTO group_def (name, created_at) VALUES (?, ?)")
            for record in records {
                if try Bool.fetchOne(exists, arguments: [record.id.value]) == true {
                    throw FleetError.conflict("lamp \(record.id) is already registered", field: "id")
                }
                try insertLamp.execute(arguments: [
                    record.id.value, record.name, record.latitude, record.longitude, record.wattage, record.cabinet, Int64(now),
                ])
                for group in record.groups {
                    // Naming a group at registration creates it.
                    try defineGroup.execute(arguments: [group, Int64(now)])
                    try insertGroup.execute(arguments: [group, record.id.value])
                }
                try FleetStore.writeDesired(db, record.id, DesiredState(control: .initial, config: config), now: now)
            }
        }
    }

    /// Makes `seconds` every lamp's desired report interval: lamps with another one get it
    /// with their next config version. Returns how many changed.
    @discardableResult
    public func setReportInterval(_ seconds: UInt16, atMilliseconds now: UInt64) throws -> Int {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE desired_state SET config_version = config_version + 1, report_interval = ?, updated_at = ?
                    WHERE report_interval != ?
                    """, arguments: [Int(seconds), Int64(now), Int(seconds)])
            return db.changesCount
        }
    }

    /// Every lamp with its desired and reported state.
    public func loadAll() throws -> [StoredLamp] {
        try pool.read { db in try FleetStore.loadLamps(db, whereClause: "", arguments: []) }
    }

    /// One lamp, or nil if it is not registered.
    public func lamp(_ id: LampID) throws -> StoredLamp? {
        try pool.read { db in try FleetStore.loadLamps(db, whereClause: "WHERE lamp.id = ?", arguments: [id.value]).first }
    }

    private static func loadLamps(_ db: Database, whereClause: String, arguments: StatementArguments) throws -> [StoredLamp] {
        var groups: [String: [String]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT lamp_id, name FROM lamp_group ORDER BY name") {
            groups[row["lamp_id"], default: []].append(row["name"])
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                \(storedLampSelectSQL)
                \(whereClause) ORDER BY lamp.id
                """, arguments: arguments)
        return try rows.map { row in
            let idText: String = row["id"]
            guard let id = LampID(idText) else { throw FleetStoreError("stored lamp id \(idText) is not valid") }
            var record = LampRecord(
                id: id, name: row["name"], latitude: row["latitude"], longitude: row["longitude"], wattage: row["wattage"],
                groups: groups[idText] ?? [], cabinet: row["cabinet"])
            record.revoked = (row["revoked_at"] as Int64?) != nil
            record.keyGeneration = UInt32(clamping: row["key_generation"] as Int64)
            record.pendingKeyGeneration = (row["key_pending"] as Int64?).map { UInt32(clamping: $0) }
            record.keyMaster = row["key_master"]
            record.pendingKeyMaster = row["key_pending_master"]
            var reported: ReportedRecord?
            if let applied: Int64 = row["applied_version"] {
                let status = ReportedRecord.status(fromColumn: (row["status"] as Data?).map { [UInt8]($0) })
                reported = ReportedRecord(
                    lampID: id, appliedVersion: UInt32(clamping: applied),
                    configVersion: UInt32(clamping: row["r_config_version"] as Int64),
                    firmware: row["firmware"], status: status,
                    reportedAtMilliseconds: UInt64(clamping: row["reported_at"] as Int64),
                    lastSeenMilliseconds: UInt64(clamping: row["last_seen"] as Int64))
            }
            return StoredLamp(record: record, desired: try desired(from: row, id: id), reported: reported)
        }
    }

    private static func desired(from row: Row, id: LampID) throws -> DesiredState {
        try DesiredColumns(
            controlVersion: row["control_version"], intent: row["intent"], level: row["level"], overrideUntil: row["override_until"],
            fade: row["fade"], configVersion: row["config_version"], reportInterval: row["report_interval"],
            failSafeLevel: row["fail_safe_level"], powerOnLevel: row["power_on_level"], minLevel: row["min_level"],
            maxLevel: row["max_level"], programName: row["program_name"], programRevision: row["program_revision"]
        ).desiredState(of: id)
    }

    private static func writeDesired(_ db: Database, _ id: LampID, _ desired: DesiredState, now: UInt64) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO desired_state (lamp_id, control_version, intent, level, override_until, fade, config_version,
                    report_interval, fail_safe_level, power_on_level, min_level, max_level, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(lamp_id) DO UPDATE SET control_version = excluded.control_version, intent = excluded.intent,
                    level = excluded.level, override_until = excluded.override_until, fade = excluded.fade,
                    config_version = excluded.config_version, report_interval = excluded.report_interval,
                    fail_safe_level = excluded.fail_safe_level, power_on_level = excluded.power_on_level,
                    min_level = excluded.min_level, max_level = excluded.max_level, updated_at = excluded.updated_at
                """)
        let columns = DesiredColumns(desired)
        try statement.execute(arguments: [
            id.value, columns.controlVersion, columns.intent, columns.level, columns.overrideUntil, columns.fade,
            columns.configVersion, columns.reportInterval, columns.failSafeLevel, columns.powerOnLevel, columns.minLevel,
            columns.maxLevel, Int64(now),
        ])
    }

    // MARK: Commands

    /// Stores a command and makes `control` the desired control state of every lamp in
    /// `target`, in one transaction; when this returns, the command is durable. Returns the
    /// command's id. With `audit`, its audit entry is written in the same transaction (its
    /// detail prefixed with the command's id); a nil `control` (identify, reboot) records the
    /// command and changes no desired state.
    ///
    /// Versions come from one fleet-wide sequence, so a fleet or group command is a single
    /// `UPDATE` whatever the fleet's size. The `control_version < new` guard keeps the newer
    /// state when two commands commit out of order.
    public func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord? = nil, atMilliseconds now: UInt64
    ) async throws -> Int64 {
        try await pool.write { db in
            try FleetStore.insertCommand(db, target: target, control: control, action: action, audit: audit, now: now)
        }
    }

    /// Records a command under an idempotency key, in one transaction with the key: a key the
    /// caller used within the retention returns the command it made and records nothing.
    /// Keys past the retention are deleted first (an indexed range, usually empty).
    public func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, idempotency claim: IdempotencyClaim,
        atMilliseconds now: UInt64
    ) async throws -> CommandRecording {
        try await pool.write { db -> CommandRecording in
            try db.execute(
                sql: "DELETE FROM idempotency_key WHERE created_at < ?",
                arguments: [Int64(clamping: now) - Int64(IdempotencyClaim.retentionMilliseconds)])
            if let earlier = try FleetStore.idempotentCommand(db, caller: claim.caller, key: claim.key, now: now) {
                return .replayed(earlier)
            }
            let id = try FleetStore.insertCommand(db, target: target, control: control, action: action, audit: audit, now: now)
            try db.execute(
                sql: "INSERT INTO idempotency_key (caller, key, request, command_id, lamps, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [claim.caller, claim.key, claim.request, id, claim.lamps, Int64(clamping: now)])
            return .recorded(id)
        }
    }

    /// The command `caller`'s `key` made within the retention, or nil.
    public func idempotentCommand(caller: String, key: String, atMilliseconds now: UInt64) throws -> IdempotentCommand? {
        try pool.read { db in try FleetStore.idempotentCommand(db, caller: caller, key: key, now: now) }
    }

    private static func idempotentCommand(_ db: Database, caller: String, key: String, now: UInt64) throws -> IdempotentCommand? {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT k.command_id, k.lamps, k.request, c.target FROM idempotency_key k JOIN command c ON c.id = k.command_id
                WHERE k.caller = ? AND k.key = ? AND k.created_at >= ?
                """,
            arguments: [caller, key, Int64(clamping: now) - Int64(IdempotencyClaim.retentionMilliseconds)])
        return row.map { IdempotentCommand(commandID: $0["command_id"], target: $0["target"], lamps: $0["lamps"], request: $0["request"]) }
    }

    /// Inserts a command, its audit entry and its lamps' desired state (see
    /// ``recordCommand(target:control:action:audit:atMilliseconds:)``); returns its id.
    private static func insertCommand(
        _ db: Database, target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, now: UInt64
    ) throws -> Int64 {
        // Cached statements: a command is the hot write of the operator API, and each
        // statement prepared anew cost SQLite about 30 allocations (issue 13).
        try db.cachedStatement(sql: "INSERT INTO command (target, action, version, created_at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [target.description, action.description, Int64(control?.version ?? 0), Int64(now)])
        let commandID = db.lastInsertedRowID
        if var audit {
            audit.detail = "command \(commandID): " + audit.detail
            try FleetStore.insertAudit(db, audit)
        }
        // identify and reboot change no desired state.
        guard let control else { return commandID }
        let (name, level, until) = DesiredColumns.intentColumns(control.intent)
        var sql = """
            UPDATE desired_state SET control_version = ?, intent = ?, level = ?, override_until = ?, fade = ?,
                updated_at = ?
            WHERE control_version < ?
            """
        var arguments: StatementArguments = [
            Int64(control.version), name, level, until, Int(control.fade.deciseconds), Int64(now), Int64(control.version),
        ]
        let (clause, targetArguments) = FleetStore.condition(for: target)
        sql += clause
        arguments += targetArguments
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
        return commandID
    }

    /// A stored command, or nil.
    public func command(_ id: Int64) throws -> CommandRecord? {
        try pool.read { db -> CommandRecord? in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM command WHERE id = ?", arguments: [id]),
                let target = CommandTarget(row["target"] as String)
            else {
                return nil
            }
            let text: String = row["action"]
            guard let action = CommandAction(parsing: text) else { throw FleetStoreError("stored command \(id) has an unknown action '\(text)'") }
            return CommandRecord(
                id: id, target: target, action: action, version: UInt32(clamping: row["version"] as Int64),
                createdAtMilliseconds: UInt64(clamping: row["created_at"] as Int64))
        }
    }

    /// The database's fleet epoch (SPEC.md §5.4), made at migration.
    public func fleetEpoch() throws -> FleetEpoch {
        try pool.read { db in
            let text = try String.fetchOne(db, sql: "SELECT value FROM metadata WHERE key = 'fleet_epoch'") ?? ""
            guard let epoch = FleetEpoch(hex: text) else { throw FleetStoreError("stored fleet epoch '\(text)' is not 16 hex digits") }
            return epoch
        }
    }

    /// Makes `desired` the lamp's desired state (a state issued again at fresh versions for a
    /// lamp that was ahead, SPEC.md §8.0), unless the store holds a newer control version.
    public func reissueDesired(_ id: LampID, _ desired: DesiredState, atMilliseconds now: UInt64) throws {
        try pool.write { db in
            let stored = try Int64.fetchOne(db, sql: "SELECT control_version FROM desired_state WHERE lamp_id = ?", arguments: [id.value])
            guard let stored, stored <= Int64(desired.control.version) else { return }
            try FleetStore.writeDesired(db, id, desired, now: now)
            try db.execute(
                sql: "UPDATE desired_state SET program_revision = MAX(program_revision, ?) WHERE lamp_id = ?",
                arguments: [Int64(desired.program.revision), id.value])
        }
    }

    /// The highest control version ever handed out, so the sequence continues after a
    /// restart without reusing a number.
    public func highestControlVersion() throws -> UInt32 {
        try pool.read { db in
            let desired = try Int64.fetchOne(db, sql: "SELECT MAX(control_version) FROM desired_state") ?? 0
            let commands = try Int64.fetchOne(db, sql: "SELECT MAX(version) FROM command") ?? 0
            return UInt32(clamping: max(desired, commands))
        }
    }

    /// The highest program revision ever handed out (programs have a sequence of their own;
    /// a database from before the split continues after the highest number either used).
    public func highestProgramRevision() throws -> UInt32 {
        try pool.read { db in
            let desired = try Int64.fetchOne(db, sql: "SELECT MAX(program_revision) FROM desired_state") ?? 0
            let programs = try Int64.fetchOne(db, sql: "SELECT MAX(revision) FROM program") ?? 0
            return UInt32(clamping: max(desired, programs))
        }
    }

    // MARK: Reported state and events

    /// Writes a batch of reported states in one transaction (newest wins per lamp).
    public func saveReported(_ batch: [ReportedRecord]) throws {
        guard !batch.isEmpty else { return }
        try pool.write { db in
            try FleetStore.reportedUpsert.write(batch, in: db) { record, values in
                values.text(record.lampID.value)
                values.integer(Int64(record.appliedVersion))
                values.integer(Int64(record.configVersion))
                if let firmware = record.firmware { values.text(firmware) } else { values.null() }
                if let report = record.status {
                    values.blob { LampMessage.statusReport(report).encode(into: &$0) }
                } else {
                    values.null()
                }
                values.integer(Int64(clamping: record.reportedAtMilliseconds))
                values.integer(Int64(clamping: record.lastSeenMilliseconds))
            }
        }
    }

    /// The reported-state rows of a batch, a chunk at a time; a lamp no longer registered is
    /// skipped.
    static let reportedUpsert = ChunkedUpsert(columns: 7) { values in
        """
        INSERT INTO reported_state (lamp_id, applied_version, config_version, firmware, status, reported_at, last_seen)
        SELECT column1, column2, column3, column4, column5, column6, column7 FROM \(values)
        WHERE EXISTS (SELECT 1 FROM lamp WHERE id = column1)
        ON CONFLICT(lamp_id) DO UPDATE SET applied_version = excluded.applied_version,
            config_version = excluded.config_version, firmware = excluded.firmware,
            status = COALESCE(excluded.status, reported_state.status),
            reported_at = excluded.reported_at, last_seen = excluded.last_seen
        """
    }

    /// Appends a batch of events in one transaction (durable when this returns). A lamp's
    /// event whose identity (lamp, sequence, lamp time) is stored already is skipped: the
    /// `event_once` key makes the insert a no-op, so a resend on another link or after a
    /// restart, or two in one batch, leave one row. Returns, per record, whether it was stored.
    @discardableResult
    public func appendEvents(_ batch: [EventRecord]) throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        return try pool.write { db in
            let statement = try db.cachedStatement(
                sql: "INSERT INTO event (lamp_id, kind, detail, at, sequence, lamp_time) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")
            var stored: [Bool] = []
            stored.reserveCapacity(batch.count)
            for event in batch {
                try statement.execute(arguments: [
                    event.lampID.value, event.kind, event.detail, Int64(clamping: event.atMilliseconds),
                    event.lampEvent.map { Int64($0.sequence) }, event.lampEvent.map { Int64($0.lampTime) },
                ])
                stored.append(db.changesCount > 0)
            }
            return stored
        }
    }

    /// Deletes events older than `eventsBefore` and audit entries older than `auditBefore`
    /// (Unix ms; nil keeps them), each an indexed range. Returns how many of each went.
    public func prune(eventsBefore: UInt64?, auditBefore: UInt64?) throws -> (events: Int, audit: Int) {
        try pool.write { db in
            var counts = (events: 0, audit: 0)
            if let eventsBefore {
                try db.execute(sql: "DELETE FROM event WHERE at < ?", arguments: [Int64(clamping: eventsBefore)])
                counts.events = db.changesCount
            }
            if let auditBefore {
                try db.execute(sql: "DELETE FROM audit WHERE at < ?", arguments: [Int64(clamping: auditBefore)])
                counts.audit = db.changesCount
            }
            return counts
        }
    }

    /// The newest events, newest first; optionally of one lamp, of one kind, older than an id.
    public func events(lampID: LampID? = nil, kind: String? = nil, beforeID: Int64? = nil, limit: Int = 100) throws -> [EventRecord] {
        try pool.read { db in
            let (whereClause, arguments) = FleetStore.filter([
                ("lamp_id = ?", lampID?.value), ("kind = ?", kind), ("id < ?", beforeID),
            ], limit: limit)
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM event \(whereClause) ORDER BY id DESC LIMIT ?", arguments: arguments)
            return rows.compactMap { row in
                LampID(row["lamp_id"] as String).map {
                    EventRecord(
                        id: row["id"], lampID: $0, kind: row["kind"], detail: row["detail"],
                        atMilliseconds: UInt64(clamping: row["at"] as Int64),
                        lampEvent: (row["sequence"] as Int64?).map {
                            LampEventIdentity(sequence: UInt32(clamping: $0), lampTime: UInt32(clamping: row["lamp_time"] as Int64? ?? 0))
                        })
                }
            }
        }
    }

    /// A WHERE clause of the conditions whose value is set, and the arguments with the limit last.
    static func filter(_ conditions: [(String, (any DatabaseValueConvertible)?)], limit: Int) -> (String, StatementArguments) {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for (clause, value) in conditions {
            guard let value else { continue }
            clauses.append(clause)
            arguments.append(value)
        }
        arguments.append(limit)
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), StatementArguments(arguments))
    }

    /// The `AND ...` that limits a desired_state UPDATE to a target's lamps.
    static func condition(for target: CommandTarget) -> (String, StatementArguments) {
        switch target {
        case .all: ("", [])
        case .group(let group): (" AND lamp_id IN (SELECT lamp_id FROM lamp_group WHERE name = ?)", [group])
        case .lamp(let id): (" AND lamp_id = ?", [id.value])
        }
    }
}
