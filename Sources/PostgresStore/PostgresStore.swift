import FleetCore
import LampProtocol
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Durable fleet state in a PostgreSQL database (issue 14), with the semantics of the SQLite
/// `FleetStore`: the same tables (schema_migrations' v1 is SQLite's v1 to v12), desired state
/// and commands written in one transaction before the caller is answered (PostgreSQL's
/// default `synchronous_commit` makes a commit durable), reported state and events written
/// a batch per statement.
///
/// The pooled ``client`` runs in a task the store owns until ``close()``; it stays
/// reachable for what needs its own connection later (LISTEN/NOTIFY of several daemons).
public final class PostgresStore: FleetStoring, WebhookStoring {
    /// Seconds to wait for a TCP connection (and its login) before saying the server cannot
    /// be reached.
    public static let connectTimeoutSeconds = 5
    /// The most connections the pool opens to the server.
    public static let maximumConnections = 8

    /// Where the database is (its description has no password).
    public let location: PostgresLocation
    /// The pooled client (running until ``close()``).
    public let client: PostgresClient
    /// This controller's name among those sharing the database (docs/cluster.md), random per
    /// run; the event rows it writes carry it.
    public let instance: String = "ctl-" + String((0..<10).map { _ in Array("abcdefghijklmnopqrstuvwxyz0123456789").randomElement()! })
    let logger: Logger
    private let running: Task<Void, Never>
    /// The highest lamp change number when the store was opened (before the controller read
    /// its lamps): changes after it are caught up (``lampsChanged(after:limit:)``).
    public var changeMarkAtOpen: Int64 { openingChangeMark.load(ordering: .relaxed) }
    private let openingChangeMark = Atomic<Int64>(0)

    /// Connects to the database at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`),
    /// checks that it answers, and brings its schema up to date. A server that cannot be
    /// reached or refuses the login is an error naming the host and port (never the
    /// password), after at most ``connectTimeoutSeconds``.
    public init(url: String, logger: Logger = Logger(label: "lamp.store.postgres")) async throws {
        let location = try PostgresLocation(url)
        try await Self.check(location, logger: logger)
        self.location = location
        self.logger = logger
        let client = PostgresClient(
            configuration: location.clientConfiguration(maximumConnections: Self.maximumConnections), backgroundLogger: logger)
        self.client = client
        self.running = Task { await client.run() }
        do {
            try await migrate()
            try await raiseControlCounter()
            let mark = try await rows("SELECT COALESCE(MAX(change), 0) FROM lamp").first?.decode(Int64.self) ?? 0
            openingChangeMark.store(mark, ordering: .relaxed)
        } catch {
            running.cancel()
            throw error
        }
    }

    deinit { running.cancel() }

    /// Closes the pool's connections; the store cannot be used afterwards.
    public func close() async {
        running.cancel()
        await running.value
    }

    /// Opens one connection and closes it: the pool itself retries an unreachable server
    /// without end, so opening says at once what is wrong.
    static func check(_ location: PostgresLocation, logger: Logger) async throws {
        do {
            let connection = try await PostgresConnection.connect(configuration: try location.connectionConfiguration(), id: 0, logger: logger)
            try await connection.close()
        } catch {
            throw FleetStoreError("cannot open the PostgreSQL database \(location): \(Self.explain(error))")
        }
    }

    /// What went wrong, in words, without the query's values or the password (PSQLError's
    /// own description hides everything).
    static func explain(_ error: any Error) -> String {
        guard let error = error as? PSQLError else {
            if let error = error as? PostgresTransactionError {
                return explain(error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError ?? error)
            }
            return "\(error)"
        }
        if let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return "the server says: \(message)\(state)"
        }
        if error.code == .sslUnsupported {
            return "the server does not offer TLS, and the URL's sslmode=require asks for it (the connection is never made in plain text)"
        }
        if let underlying = error.underlying { return "\(underlying)" }
        return "\(error.code)"
    }

    // MARK: Running queries

    /// Runs `body` in one transaction on one connection of the pool; a FleetError or
    /// FleetStoreError thrown inside comes out as it is.
    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        do {
            return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        } catch let error as PostgresTransactionError {
            if let inner = error.closureError, inner is FleetError || inner is FleetStoreError { throw inner }
            throw FleetStoreError("PostgreSQL \(location): \(Self.explain(error))")
        }
    }

    /// The rows of one query outside a transaction.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        do {
            return try await client.query(query, logger: logger).collect()
        } catch {
            throw FleetStoreError("PostgreSQL \(location): \(Self.explain(error))")
        }
    }

    // MARK: Lamps

    public func addLamps(_ records: [LampRecord], config: DesiredConfig, atMilliseconds now: UInt64) async throws {
        guard !records.isEmpty else { return }
        var seen = Set<LampID>()
        for record in records where !seen.insert(record.id).inserted {
            throw FleetError.conflict("lamp \(record.id) is already registered", field: "id")
        }
        let ids = records.map(\.id.value)
        let names = NullableColumn(records.map(\.name))
        let latitudes = NullableColumn(records.map(\.latitude))
        let longitudes = NullableColumn(records.map(\.longitude))
        let wattages = NullableColumn(records.map(\.wattage))
        let cabinets = NullableColumn(records.map(\.cabinet))
        let memberships = records.flatMap { record in record.groups.map { (group: $0, lamp: record.id.value) } }
        let desired = DesiredColumns(DesiredState(control: .initial, config: config))
        let created = Int64(clamping: now)
        try await transaction { connection in
            let taken = try await connection.query(
                "SELECT u.id FROM unnest(\(ids)::text[]) WITH ORDINALITY AS u(id, n) JOIN lamp ON lamp.id = u.id ORDER BY u.n LIMIT 1",
                logger: logger
            ).collect()
            if let row = taken.first {
                throw FleetError.conflict("lamp \(try row.decode(String.self)) is already registered", field: "id")
            }
            try await connection.query(
                """
                INSERT INTO lamp (id, name, latitude, longitude, wattage, cabinet, created_at)
                SELECT u.id, CASE WHEN u.has_name THEN u.name END, CASE WHEN u.has_lat THEN u.lat END,
                       CASE WHEN u.has_lon THEN u.lon END, CASE WHEN u.has_watt THEN u.watt END,
                       CASE WHEN u.has_cab THEN u.cab END, \(created)
                FROM unnest(\(ids)::text[], \(names.values)::text[], \(names.present)::bool[], \(latitudes.values)::float8[],
                            \(latitudes.present)::bool[], \(longitudes.values)::float8[], \(longitudes.present)::bool[],
                            \(wattages.values)::float8[], \(wattages.present)::bool[], \(cabinets.values)::text[],
                            \(cabinets.present)::bool[]) WITH ORDINALITY
                     AS u(id, name, has_name, lat, has_lat, lon, has_lon, watt, has_watt, cab, has_cab, n)
                ORDER BY u.n
                """, logger: logger)
            if !memberships.isEmpty {
                // Naming a group at registration creates it.
                try await connection.query(
                    """
                    INSERT INTO group_def (name, created_at) SELECT DISTINCT g, \(created)::int8 FROM unnest(\(memberships.map(\.group))::text[]) AS g
                    ON CONFLICT (name) DO NOTHING
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO lamp_group (name, lamp_id) SELECT * FROM unnest(\(memberships.map(\.group))::text[], \(memberships.map(\.lamp))::text[])
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO desired_state (lamp_id, control_version, intent, level, override_until, fade, config_version,
                    report_interval, fail_safe_level, power_on_level, min_level, max_level, updated_at)
                SELECT id, \(desired.controlVersion), \(desired.intent), \(desired.level)::int8, \(desired.overrideUntil)::int8, \(desired.fade),
                    \(desired.configVersion), \(desired.reportInterval), \(desired.failSafeLevel), \(desired.powerOnLevel), \(desired.minLevel),
                    \(desired.maxLevel), \(created)
                FROM unnest(\(ids)::text[]) AS id
                """, logger: logger)
        }
    }

    public func setReportInterval(_ seconds: UInt16, atMilliseconds now: UInt64) async throws -> Int {
        let interval = Int64(seconds)
        let rows = try await rows(
            """
            WITH changed AS (
                UPDATE desired_state SET config_version = config_version + 1, report_interval = \(interval), updated_at = \(Int64(clamping: now))
                WHERE report_interval <> \(interval) RETURNING 1)
            SELECT COUNT(*) FROM changed
            """)
        return try Self.count(rows)
    }

    public func loadAll() async throws -> [StoredLamp] {
        try await transaction { connection in try await self.loadLamps(connection, ids: nil) }
    }

    public func lamp(_ id: LampID) async throws -> StoredLamp? {
        try await transaction { connection in try await self.loadLamps(connection, ids: [id]) }.first
    }

    public func lamps(_ ids: [LampID]) async throws -> [StoredLamp] {
        guard !ids.isEmpty else { return [] }
        return try await transaction { connection in try await self.loadLamps(connection, ids: ids) }
    }

    public func lampIDs() async throws -> [LampID] {
        try Self.lampIDs(try await rows("SELECT id FROM lamp"))
    }

    /// Every lamp, or those of `ids`, with desired and reported state, by id (one snapshot:
    /// the caller's transaction).
    private func loadLamps(_ connection: PostgresConnection, ids: [LampID]?) async throws -> [StoredLamp] {
        // Memberships and lamps from one snapshot, as SQLite's read transaction gives.
        try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
        let id = ids?.map(\.value)
        var groups: [String: [String]] = [:]
        let groupRows = try await connection.query(
            "SELECT lamp_id, name FROM lamp_group WHERE \(id)::text[] IS NULL OR lamp_id = ANY(\(id)::text[]) ORDER BY name",
            logger: logger)
        for try await (lamp, name) in groupRows.decode((String, String).self) {
            groups[lamp, default: []].append(name)
        }
        let rows = try await connection.query(
            """
            \(unescaped: storedLampSelectSQL)
            WHERE \(id)::text[] IS NULL OR lamp.id = ANY(\(id)::text[])
            ORDER BY lamp.id
            """, logger: logger)
        var lamps: [StoredLamp] = []
        for try await postgresRow in rows {
            let row = postgresRow.makeRandomAccess()
            let idText: String = try row.value("id")
            guard let id = LampID(idText) else { throw FleetStoreError("stored lamp id \(idText) is not valid") }
            var record = LampRecord(
                id: id, name: try row.value("name"), latitude: try row.value("latitude"), longitude: try row.value("longitude"),
                wattage: try row.value("wattage"), groups: groups[idText] ?? [], cabinet: try row.value("cabinet"))
            record.revoked = (try row.value("revoked_at", as: Int64?.self)) != nil
            record.keyGeneration = UInt32(clamping: try row.value("key_generation", as: Int64.self))
            record.pendingKeyGeneration = (try row.value("key_pending", as: Int64?.self)).map { UInt32(clamping: $0) }
            record.keyMaster = try row.value("key_master")
            record.pendingKeyMaster = try row.value("key_pending_master")
            var reported: ReportedRecord?
            if let applied = try row.value("applied_version", as: Int64?.self) {
                reported = ReportedRecord(
                    lampID: id, appliedVersion: UInt32(clamping: applied),
                    configVersion: UInt32(clamping: try row.value("r_config_version", as: Int64.self)),
                    firmware: try row.value("firmware"),
                    status: ReportedRecord.status(fromColumn: try row.value("status", as: ByteBuffer?.self).map { Array($0.readableBytesView) }),
                    reportedAtMilliseconds: UInt64(clamping: try row.value("reported_at", as: Int64.self)),
                    lastSeenMilliseconds: UInt64(clamping: try row.value("last_seen", as: Int64.self)))
            }
            let desired = try DesiredColumns(
                controlVersion: row.value("control_version"), intent: row.value("intent"), level: row.value("level"),
                overrideUntil: row.value("override_until"), fade: row.value("fade"), configVersion: row.value("config_version"),
                reportInterval: row.value("report_interval"), failSafeLevel: row.value("fail_safe_level"),
                powerOnLevel: row.value("power_on_level"), minLevel: row.value("min_level"), maxLevel: row.value("max_level"),
                programName: row.value("program_name"), programRevision: row.value("program_revision")
            ).desiredState(of: id)
            lamps.append(StoredLamp(record: record, desired: desired, reported: reported))
        }
        return lamps
    }

    public func highestControlVersion() async throws -> UInt32 {
        let rows = try await rows(
            "SELECT GREATEST(COALESCE((SELECT MAX(control_version) FROM desired_state), 0), COALESCE((SELECT MAX(version) FROM command), 0))")
        return UInt32(clamping: try rows.first?.decode(Int64.self) ?? 0)
    }

    public func highestProgramRevision() async throws -> UInt32 {
        let rows = try await rows(
            "SELECT GREATEST(COALESCE((SELECT MAX(program_revision) FROM desired_state), 0), COALESCE((SELECT MAX(revision) FROM program), 0))")
        return UInt32(clamping: try rows.first?.decode(Int64.self) ?? 0)
    }

    public func fleetEpoch() async throws -> FleetEpoch {
        let text = try await rows("SELECT value FROM metadata WHERE key = 'fleet_epoch'").first?.decode(String.self) ?? ""
        guard let epoch = FleetEpoch(hex: text) else { throw FleetStoreError("stored fleet epoch '\(text)' is not 16 hex digits") }
        return epoch
    }

    public func reissueDesired(_ id: LampID, _ desired: DesiredState, atMilliseconds now: UInt64) async throws {
        let columns = DesiredColumns(desired)
        try await transaction { connection in
            let stored = try await connection.query(
                "SELECT control_version FROM desired_state WHERE lamp_id = \(id.value) FOR UPDATE", logger: logger
            ).collect().first?.decode(Int64.self)
            guard let stored, stored <= columns.controlVersion else { return }
            // The version came from this controller's own sequence (moved past the lamp's
            // report, SPEC.md §8.0): the counter every controller takes command versions from
            // is raised past it, so no later command anywhere gets a version this lamp
            // would take as old (docs/cluster.md).
            try await connection.query(
                "UPDATE cluster_counter SET value = GREATEST(value, \(columns.controlVersion)) WHERE name = 'control_version'", logger: logger)
            // The same for a program revision issued again from this controller's own count.
            try await connection.query(
                "UPDATE cluster_counter SET value = GREATEST(value, \(columns.programRevision)) WHERE name = 'program_revision'", logger: logger)
            try await connection.query(
                """
                UPDATE desired_state SET control_version = \(columns.controlVersion), intent = \(columns.intent), level = \(columns.level)::int8,
                    override_until = \(columns.overrideUntil)::int8, fade = \(columns.fade), config_version = \(columns.configVersion),
                    report_interval = \(columns.reportInterval), fail_safe_level = \(columns.failSafeLevel),
                    power_on_level = \(columns.powerOnLevel), min_level = \(columns.minLevel), max_level = \(columns.maxLevel),
                    updated_at = \(Int64(clamping: now)), program_revision = GREATEST(program_revision, \(columns.programRevision))
                WHERE lamp_id = \(id.value)
                """, logger: logger)
        }
    }

    // MARK: Commands

    public func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, atMilliseconds now: UInt64
    ) async throws -> Int64 {
        try await transaction { connection in
            try await self.insertCommand(connection, target: target, control: control, action: action, audit: audit, now: now)
        }
    }

    public func recordCommand(
        target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?, idempotency claim: IdempotencyClaim,
        atMilliseconds now: UInt64
    ) async throws -> CommandRecording {
        try await transaction { connection -> CommandRecording in
            // Two daemons given the same key at once: the second waits for the first's commit
            // and then finds its command.
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.idempotencyLock), hashtext(\(claim.caller + "\n" + claim.key)))", logger: logger)
            let oldest = Int64(clamping: now) - Int64(IdempotencyClaim.retentionMilliseconds)
            try await connection.query("DELETE FROM idempotency_key WHERE created_at < \(oldest)", logger: logger)
            if let earlier = try await self.idempotentCommand(connection, caller: claim.caller, key: claim.key, now: now) {
                return .replayed(earlier)
            }
            let id = try await self.insertCommand(connection, target: target, control: control, action: action, audit: audit, now: now)
            try await connection.query(
                """
                INSERT INTO idempotency_key (caller, key, request, command_id, lamps, created_at)
                VALUES (\(claim.caller), \(claim.key), \(claim.request), \(id), \(Int64(claim.lamps)), \(Int64(clamping: now)))
                """, logger: logger)
            return .recorded(id)
        }
    }

    public func idempotentCommand(caller: String, key: String, atMilliseconds now: UInt64) async throws -> IdempotentCommand? {
        try await transaction { connection in try await self.idempotentCommand(connection, caller: caller, key: key, now: now) }
    }

    private func idempotentCommand(_ connection: PostgresConnection, caller: String, key: String, now: UInt64) async throws -> IdempotentCommand? {
        let oldest = Int64(clamping: now) - Int64(IdempotencyClaim.retentionMilliseconds)
        let rows = try await connection.query(
            """
            SELECT k.command_id, k.lamps, k.request, c.target FROM idempotency_key k JOIN command c ON c.id = k.command_id
            WHERE k.caller = \(caller) AND k.key = \(key) AND k.created_at >= \(oldest)
            """, logger: logger
        ).collect()
        guard let row = rows.first else { return nil }
        let (command, lamps, request, target) = try row.decode((Int64, Int, String, String).self)
        return IdempotentCommand(commandID: command, target: target, lamps: lamps, request: request)
    }

    /// Inserts a command, its audit entry and its lamps' desired state; returns its id.
    private func insertCommand(
        _ connection: PostgresConnection, target: CommandTarget, control: DesiredControl?, action: CommandAction, audit: AuditRecord?,
        now: UInt64
    ) async throws -> Int64 {
        let inserted = try await connection.query(
            """
            INSERT INTO command (target, action, version, created_at)
            VALUES (\(target.description), \(action.description), \(Int64(control?.version ?? 0)), \(Int64(clamping: now))) RETURNING id
            """, logger: logger
        ).collect()
        guard let commandID = try inserted.first?.decode(Int64.self) else { throw FleetStoreError("the command's insert returned no id") }
        if var audit {
            audit.detail = "command \(commandID): " + audit.detail
            try await insertAudit(connection, audit)
        }
        // identify and reboot change no desired state.
        guard let control else { return commandID }
        let intent = DesiredColumns.intentColumns(control.intent)
        let version = Int64(control.version)
        var sql = SQLBuilder(
            "UPDATE desired_state SET control_version = $1, intent = $2, level = $3::int8, override_until = $4::int8, fade = $5, updated_at = $6 WHERE control_version < $1")
        sql.bind(version)
        sql.bind(intent.name)
        sql.bind(intent.level)
        sql.bind(intent.until)
        sql.bind(Int64(control.fade.deciseconds))
        sql.bind(Int64(clamping: now))
        sql.restrict(to: target)
        try await connection.query(sql.query, logger: logger)
        return commandID
    }

    public func command(_ id: Int64) async throws -> CommandRecord? {
        let rows = try await rows("SELECT target, action, version, created_at FROM command WHERE id = \(id)")
        guard let row = rows.first else { return nil }
        let (targetText, text, version, created) = try row.decode((String, String, Int64, Int64).self)
        guard let target = CommandTarget(targetText) else { return nil }
        guard let action = CommandAction(parsing: text) else { throw FleetStoreError("stored command \(id) has an unknown action '\(text)'") }
        return CommandRecord(
            id: id, target: target, action: action, version: UInt32(clamping: version), createdAtMilliseconds: UInt64(clamping: created))
    }

    // MARK: Reported state and events

    /// Writes a batch of reported states in one statement (newest wins per lamp; a lamp's
    /// stored status stays when a record has none). Rows go in lamp order, so two writers
    /// never wait on each other in a circle.
    public func saveReported(_ batch: [ReportedRecord]) async throws {
        guard !batch.isEmpty else { return }
        // One row per lamp: the last record, with the last status any record of it had
        // (what one upsert per record in order leaves).
        var latest: [LampID: ReportedRecord] = [:]
        for record in batch {
            var record = record
            if record.status == nil { record.status = latest[record.lampID]?.status }
            latest[record.lampID] = record
        }
        let records = latest.values.sorted { $0.lampID.value < $1.lampID.value }
        let firmware = NullableColumn(records.map(\.firmware))
        let status = NullableColumn(records.map { $0.statusColumn.map { ByteBuffer(bytes: $0) } }, absent: ByteBuffer())
        let ids = records.map(\.lampID.value)
        let applied = records.map { Int64($0.appliedVersion) }
        let config = records.map { Int64($0.configVersion) }
        let reported = records.map { Int64(clamping: $0.reportedAtMilliseconds) }
        let seen = records.map { Int64(clamping: $0.lastSeenMilliseconds) }
        _ = try await rows(
            """
            INSERT INTO reported_state (lamp_id, applied_version, config_version, firmware, status, reported_at, last_seen)
            SELECT u.id, u.applied, u.config, CASE WHEN u.has_firmware THEN u.firmware END, CASE WHEN u.has_status THEN u.status END,
                   u.reported, u.seen
            FROM unnest(\(ids)::text[], \(applied)::int8[], \(config)::int8[], \(firmware.values)::text[], \(firmware.present)::bool[],
                        \(status.values)::bytea[], \(status.present)::bool[], \(reported)::int8[], \(seen)::int8[])
                 AS u(id, applied, config, firmware, has_firmware, status, has_status, reported, seen)
            WHERE EXISTS (SELECT 1 FROM lamp WHERE lamp.id = u.id)
            ON CONFLICT (lamp_id) DO UPDATE SET applied_version = excluded.applied_version,
                config_version = excluded.config_version, firmware = excluded.firmware,
                status = COALESCE(excluded.status, reported_state.status),
                reported_at = excluded.reported_at, last_seen = excluded.last_seen
            """)
    }

    /// Appends a batch of events in one statement (durable when this returns); a lamp's
    /// event stored already (the same lamp, sequence and lamp time), or twice in the batch,
    /// is stored once. Returns, per record, whether it was stored.
    @discardableResult
    public func appendEvents(_ batch: [EventRecord]) async throws -> [Bool] {
        guard !batch.isEmpty else { return [] }
        let sequence = NullableColumn(batch.map { $0.lampEvent.map { Int64($0.sequence) } })
        let lampTime = batch.map { Int64($0.lampEvent?.lampTime ?? 0) }
        let rows = try await rows(
            """
            INSERT INTO event (lamp_id, kind, detail, at, sequence, lamp_time, instance)
            SELECT u.lamp, u.kind, u.detail, u.at, CASE WHEN u.has_identity THEN u.sequence END,
                   CASE WHEN u.has_identity THEN u.lamp_time END, \(instance)
            FROM unnest(\(batch.map(\.lampID.value))::text[], \(batch.map(\.kind))::text[], \(batch.map(\.detail))::text[],
                        \(batch.map { Int64(clamping: $0.atMilliseconds) })::int8[], \(sequence.values)::int8[],
                        \(sequence.present)::bool[], \(lampTime)::int8[]) WITH ORDINALITY
                 AS u(lamp, kind, detail, at, sequence, has_identity, lamp_time, n)
            ORDER BY u.n
            ON CONFLICT (lamp_id, sequence, lamp_time) WHERE sequence IS NOT NULL DO NOTHING
            RETURNING lamp_id, sequence, lamp_time
            """)
        struct Identity: Hashable {
            var lamp: String
            var sequence: Int64
            var lampTime: Int64
        }
        var inserted = Set<Identity>()
        for row in rows {
            let (lamp, sequence, time) = try row.decode((String, Int64?, Int64?).self)
            if let sequence, let time { inserted.insert(Identity(lamp: lamp, sequence: sequence, lampTime: time)) }
        }
        // The first of a batch's duplicates is the one stored.
        return batch.map { event in
            guard let identity = event.lampEvent else { return true }
            return inserted.remove(Identity(lamp: event.lampID.value, sequence: Int64(identity.sequence), lampTime: Int64(identity.lampTime))) != nil
        }
    }

    public func prune(eventsBefore: UInt64?, auditBefore: UInt64?) async throws -> (events: Int, audit: Int) {
        try await transaction { connection in
            var counts = (events: 0, audit: 0)
            if let eventsBefore {
                counts.events = try Self.count(
                    try await connection.query(
                        "WITH gone AS (DELETE FROM event WHERE at < \(Int64(clamping: eventsBefore)) RETURNING 1) SELECT COUNT(*) FROM gone",
                        logger: logger
                    ).collect())
            }
            if let auditBefore {
                counts.audit = try Self.count(
                    try await connection.query(
                        "WITH gone AS (DELETE FROM audit WHERE at < \(Int64(clamping: auditBefore)) RETURNING 1) SELECT COUNT(*) FROM gone",
                        logger: logger
                    ).collect())
            }
            return counts
        }
    }

    public func events(lampID: LampID?, kind: String?, beforeID: Int64?, limit: Int) async throws -> [EventRecord] {
        var sql = SQLBuilder("SELECT id, lamp_id, kind, detail, at, sequence, lamp_time FROM event")
        sql.filter([("lamp_id", lampID?.value), ("kind", kind)], beforeID: beforeID)
        sql.append(" ORDER BY id DESC LIMIT ")
        sql.append(sql.bind(Int64(limit)))
        return try await rows(sql.query).compactMap { row in
            let (id, lamp, kind, detail, at, sequence, lampTime) = try row.decode((Int64, String, String, String, Int64, Int64?, Int64?).self)
            return Self.eventRecord(id: id, lamp: lamp, kind: kind, detail: detail, at: at, sequence: sequence, lampTime: lampTime)
        }
    }

    /// An event row's record; nil for a lamp id this controller cannot read.
    static func eventRecord(id: Int64, lamp: String, kind: String, detail: String, at: Int64, sequence: Int64?, lampTime: Int64?) -> EventRecord? {
        LampID(lamp).map {
            EventRecord(
                id: id, lampID: $0, kind: kind, detail: detail, atMilliseconds: UInt64(clamping: at),
                lampEvent: sequence.map { LampEventIdentity(sequence: UInt32(clamping: $0), lampTime: UInt32(clamping: lampTime ?? 0)) })
        }
    }

    /// The one number a `SELECT COUNT(*)` returned.
    static func count(_ rows: [PostgresRow]) throws -> Int {
        try rows.first?.decode(Int.self) ?? 0
    }

    /// The first key of the advisory locks this store takes (the second names what is locked).
    static let idempotencyLock: Int32 = 0x4c_4d_50_01
}

/// A column of optional values as two arrays PostgreSQL's `unnest` takes (arrays of
/// nullable elements are not encodable): the values, with a placeholder where absent, and
/// whether each is present.
struct NullableColumn<Value: PostgresArrayEncodable> {
    var values: [Value]
    var present: [Bool]

    init(_ column: [Value?], absent: Value) {
        values = column.map { $0 ?? absent }
        present = column.map { $0 != nil }
    }
}

extension NullableColumn where Value == String {
    init(_ column: [String?]) { self.init(column, absent: "") }
}

extension NullableColumn where Value == Double {
    init(_ column: [Double?]) { self.init(column, absent: 0) }
}

extension NullableColumn where Value == Int64 {
    init(_ column: [Int64?]) { self.init(column, absent: 0) }
}

extension PostgresRandomAccessRow {
    /// The value of column `name`.
    func value<Value: PostgresDecodable>(_ name: String, as type: Value.Type = Value.self) throws -> Value {
        try self[name].decode(Value.self)
    }
}

/// SQL whose values are all bound parameters (`$1`...), for queries whose conditions vary.
struct SQLBuilder {
    private(set) var text: String
    private(set) var binds = PostgresBindings()

    init(_ text: String) { self.text = text }

    /// Binds a value; returns its placeholder.
    @discardableResult
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    /// Binds a value or NULL; returns its placeholder.
    @discardableResult
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value?) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    mutating func append(_ more: String) { text += more }

    /// ` WHERE` (or nothing) with an equality per set value and `id < beforeID` if set.
    mutating func filter(_ equalities: [(column: String, value: String?)], beforeID: Int64?) {
        var clauses: [String] = []
        for (column, value) in equalities {
            guard let value else { continue }
            clauses.append("\(column) = \(bind(value))")
        }
        if let beforeID { clauses.append("id < \(bind(beforeID))") }
        if !clauses.isEmpty { text += " WHERE " + clauses.joined(separator: " AND ") }
    }

    /// ` AND` the condition that limits a desired_state statement to a target's lamps.
    mutating func restrict(to target: CommandTarget) {
        switch target {
        case .all: break
        case .group(let group): text += " AND lamp_id IN (SELECT lamp_id FROM lamp_group WHERE name = \(bind(group)))"
        case .lamp(let id): text += " AND lamp_id = \(bind(id.value))"
        }
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}
