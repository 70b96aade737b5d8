import FleetCore
import LampProtocol
import Logging
import PostgresNIO

/// Several controllers on one database (docs/cluster.md): the shared control version
/// counter, notices on one channel, and the recent commands for the catch-up.
extension PostgresStore: ClusterStoring {
    /// The channel every controller of one database listens on.
    public static let changesChannel = "lamplighter_changes"

    public func allocateControlVersion(above floor: UInt32) async throws -> UInt32 {
        try await takeFromCounter("control_version", above: floor, what: "control version")
    }

    public func allocateProgramRevision() async throws -> UInt32 {
        try await takeFromCounter("program_revision", above: 0, what: "program revision")
    }

    /// The next value of one of `cluster_counter`'s rows, above `floor` (the row moves past it
    /// first).
    private func takeFromCounter(_ name: String, above floor: UInt32, what: String) async throws -> UInt32 {
        let rows = try await rows("UPDATE cluster_counter SET value = GREATEST(value, \(Int64(floor))) + 1 WHERE name = \(name) RETURNING value")
        guard let value = try rows.first?.decode(Int64.self) else { throw FleetStoreError("the \(what) counter row is missing") }
        guard let next = UInt32(exactly: value) else { throw FleetStoreError("the \(what) counter passed \(UInt32.max)") }
        return next
    }

    /// Raises the counters to the highest version and program revision stored (never lowers
    /// them: a controller starting while another hands out versions takes nothing back).
    func raiseControlCounter() async throws {
        _ = try await rows(
            """
            UPDATE cluster_counter SET value = GREATEST(value, COALESCE((SELECT MAX(control_version) FROM desired_state), 0),
                COALESCE((SELECT MAX(version) FROM command), 0)) WHERE name = 'control_version'
            """)
        _ = try await rows(
            """
            UPDATE cluster_counter SET value = GREATEST(value, COALESCE((SELECT MAX(program_revision) FROM desired_state), 0),
                COALESCE((SELECT MAX(revision) FROM program), 0)) WHERE name = 'program_revision'
            """)
    }

    public func announce(_ notice: ClusterNotice) async throws {
        for payload in notice.payloads() {
            _ = try await rows("SELECT pg_notify(\(Self.changesChannel), \(payload))")
        }
    }

    public func listen(listening: @Sendable () async -> Void, _ body: @Sendable (ClusterNotice) async -> Void) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try location.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            throw FleetStoreError("cannot listen on PostgreSQL \(location): \(Self.explain(error))")
        }
        do {
            try await connection.listen(on: Self.changesChannel) { notifications in
                await listening()
                for try await notification in notifications {
                    guard let notice = ClusterNotice(payload: notification.payload) else {
                        logger.warning("ignored a notification that is not a cluster notice", metadata: ["payload.bytes": "\(notification.payload.utf8.count)"])
                        continue
                    }
                    await body(notice)
                }
            }
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw FleetStoreError("listening on PostgreSQL \(location): \(Self.explain(error))")
        }
    }

    public func commands(createdSince since: UInt64) async throws -> [CommandRecord] {
        let rows = try await rows("SELECT id, target, action, version, created_at FROM command WHERE created_at >= \(Int64(clamping: since)) ORDER BY id")
        return try rows.map { row in
            let (id, targetText, text, version, created) = try row.decode((Int64, String, String, Int64, Int64).self)
            guard let target = CommandTarget(targetText), let action = CommandAction(parsing: text) else {
                throw FleetStoreError("command \(id) holds a target or action this controller cannot read")
            }
            return CommandRecord(id: id, target: target, action: action, version: UInt32(clamping: version), createdAtMilliseconds: UInt64(clamping: created))
        }
    }
}

extension PostgresStore {
    public func lastEventID() async throws -> Int64 {
        try await rows("SELECT COALESCE(MAX(id), 0) FROM event").first?.decode(Int64.self) ?? 0
    }

    public func events(after id: Int64, gaps: [Int64], limit: Int) async throws -> [(record: EventRecord, instance: String?)] {
        try await rows(
            """
            SELECT id, lamp_id, kind, detail, at, sequence, lamp_time, instance FROM event
            WHERE id > \(id) OR id = ANY(\(gaps)::int8[]) ORDER BY id LIMIT \(Int64(limit))
            """
        ).compactMap { row in
            let (id, lamp, kind, detail, at, sequence, lampTime, instance) = try row.decode(
                (Int64, String, String, String, Int64, Int64?, Int64?, String?).self)
            return Self.eventRecord(id: id, lamp: lamp, kind: kind, detail: detail, at: at, sequence: sequence, lampTime: lampTime).map {
                ($0, instance)
            }
        }
    }

    public func claimLamps(_ lamps: [LampID], instance: String, leaseUntil: UInt64) async throws -> Int64 {
        guard !lamps.isEmpty else { return 0 }
        // In lamp order, so two instances claiming at once never wait on each other in a circle.
        // One number for the batch; a row keeps the highest claim, so two claims committed
        // out of their numbers' order leave it with the one every notice says won.
        let ids = Set(lamps.map(\.value)).sorted()
        let claims = try await rows(
            """
            WITH claim AS (SELECT nextval('lamp_claim') AS n),
            written AS (
                INSERT INTO lamp_owner (lamp_id, instance, lease_until, claim)
                SELECT unnest(\(ids)::text[]), \(instance), \(Int64(clamping: leaseUntil)), (SELECT n FROM claim)
                ON CONFLICT (lamp_id) DO UPDATE SET instance = excluded.instance, lease_until = excluded.lease_until, claim = excluded.claim
                WHERE lamp_owner.claim < excluded.claim
            )
            SELECT n FROM claim
            """)
        guard let claim = try claims.first?.decode(Int64.self) else { throw FleetStoreError("PostgreSQL returned no claim number") }
        return claim
    }

    public func lampsChanged(after mark: Int64, limit: Int) async throws -> (lamps: [LampID], newest: Int64) {
        var lamps: [LampID] = []
        var newest = mark
        for row in try await rows("SELECT id, change FROM lamp WHERE change > \(mark) ORDER BY change LIMIT \(Int64(limit))") {
            let (id, change) = try row.decode((String, Int64).self)
            if let lamp = LampID(id) { lamps.append(lamp) }
            newest = max(newest, change)
        }
        return (lamps, newest)
    }

    public func releaseLamps(_ lamps: [LampID], instance: String) async throws -> [LampID] {
        guard !lamps.isEmpty else { return [] }
        return try await Self.lampIDs(
            rows("DELETE FROM lamp_owner WHERE lamp_id = ANY(\(lamps.map(\.value))::text[]) AND instance = \(instance) RETURNING lamp_id"))
    }

    public func lampsHeld(notBy instance: String) async throws -> [LampID] {
        try await Self.lampIDs(rows("SELECT lamp_id FROM lamp_owner WHERE instance <> \(instance)"))
    }

    /// The lamp ids of rows whose one column is a lamp id.
    static func lampIDs(_ rows: some Sequence<PostgresRow>) throws -> [LampID] {
        try rows.compactMap { LampID(try $0.decode(String.self)) }
    }

    public func heartbeat(instance: String, startedAt: UInt64, now: UInt64, leaseUntil: UInt64) async throws -> [LampID] {
        let until = Int64(clamping: leaseUntil)
        let nowValue = Int64(clamping: now)
        return try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO cluster_instance (id, started_at, heartbeat_at, lease_until) VALUES (\(instance), \(Int64(clamping: startedAt)), \(nowValue), \(until))
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until
                """, logger: logger)
            // A lamp's ownership lives as long as its controller's lease: the row's own lease
            // (set when claimed) covers only the time before that controller's first
            // heartbeat. Renewing every row instead was one row update per lamp per heartbeat
            // (at 100,000 lamps, 21,920 rows and 7.5 MB of WAL a second with nothing to do).
            let removed = try await connection.query(
                """
                DELETE FROM lamp_owner o WHERE o.lease_until < \(nowValue)
                AND NOT EXISTS (SELECT 1 FROM cluster_instance i WHERE i.id = o.instance AND i.lease_until >= \(nowValue))
                RETURNING lamp_id
                """, logger: logger
            ).collect()
            try await connection.query("DELETE FROM cluster_instance WHERE lease_until < \(nowValue)", logger: logger)
            return try Self.lampIDs(removed)
        }
    }

    public func owners(_ lamps: [LampID]) async throws -> [LampID: String] {
        guard !lamps.isEmpty else { return [:] }
        var owners: [LampID: String] = [:]
        for row in try await rows("SELECT lamp_id, instance FROM lamp_owner WHERE lamp_id = ANY(\(lamps.map(\.value))::text[])") {
            let (lamp, instance) = try row.decode((String, String).self)
            if let id = LampID(lamp) { owners[id] = instance }
        }
        return owners
    }
}
