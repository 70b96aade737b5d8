import FleetCore
import LampProtocol
import NIOCore
import PostgresNIO

/// Energy: one row per lamp and UTC day, the hours packed by ``EnergyDay`` (as in SQLite's
/// v11). SQLite adds a batch inside the database with a registered function; here the
/// stored days a batch touches are read `FOR UPDATE`, added to in Swift with the same codec
/// and written back in one statement, in one transaction.
extension PostgresStore {
    /// The advisory lock's second key that serialises energy batches (two daemons adding to
    /// one new lamp-day would otherwise both insert it).
    static let energyLock: Int32 = 2

    public func addEnergy(_ batch: [EnergyHour]) async throws {
        let packed = EnergyColumns.pack(batch)
        guard !packed.isEmpty else { return }
        let lamps = packed.map(\.lamp.value)
        let days = packed.map(\.day)
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.idempotencyLock), \(Self.energyLock))", logger: logger)
            struct Key: Hashable {
                var lamp: String
                var day: Int64
            }
            var numbers: [String: Int64] = [:]
            for try await (id, number) in try await connection.query(
                "SELECT id, number FROM lamp WHERE id = ANY(\(lamps)::text[])", logger: logger
            ).decode((String, Int64).self) {
                numbers[id] = number
            }
            var stored: [Key: [UInt8]] = [:]
            for try await (id, day, hours) in try await connection.query(
                """
                SELECT u.id, e.day, e.hours FROM unnest(\(lamps)::text[], \(days)::int8[]) AS u(id, day)
                JOIN lamp l ON l.id = u.id JOIN energy_day e ON e.lamp = l.number AND e.day = u.day
                FOR UPDATE OF e
                """, logger: logger
            ).decode((String, Int64, ByteBuffer).self) {
                stored[Key(lamp: id, day: day)] = Array(hours.readableBytesView)
            }
            var writeLamps: [Int64] = []
            var writeDays: [Int64] = []
            var writeHours: [ByteBuffer] = []
            for (lamp, day, hours) in packed {
                // A lamp no longer registered is skipped.
                guard let number = numbers[lamp.value] else { continue }
                var sum = hours
                if let bytes = stored[Key(lamp: lamp.value, day: day)] {
                    sum.add(try EnergyColumns.storedDay(lamp: number, day: day, packed: bytes))
                }
                writeLamps.append(number)
                writeDays.append(day)
                writeHours.append(ByteBuffer(bytes: sum.encoded()))
            }
            guard !writeLamps.isEmpty else { return }
            try await connection.query(
                """
                INSERT INTO energy_day (lamp, day, hours) SELECT * FROM unnest(\(writeLamps)::int8[], \(writeDays)::int8[], \(writeHours)::bytea[])
                ON CONFLICT (lamp, day) DO UPDATE SET hours = excluded.hours
                """, logger: logger)
        }
    }

    public func energy(target: CommandTarget, fromHour: Int32, toHour: Int32, step: EnergyStep) async throws -> [EnergyTotal] {
        guard fromHour < toHour else { return [] }
        var sql = SQLBuilder("SELECT e.lamp, e.day, e.hours FROM energy_day e ")
        switch target {
        case .all:
            sql.append("WHERE TRUE")
        case .group(let name):
            sql.append("JOIN lamp l ON l.number = e.lamp JOIN lamp_group g ON g.lamp_id = l.id WHERE g.name = \(sql.bind(name))")
        case .lamp(let id):
            sql.append("JOIN lamp l ON l.number = e.lamp WHERE l.id = \(sql.bind(id.value))")
        }
        let first = sql.bind(EnergyColumns.day(ofHour: fromHour))
        let last = sql.bind(EnergyColumns.day(ofHour: toHour - 1))
        sql.append(" AND e.day >= \(first) AND e.day <= \(last) ORDER BY e.lamp, e.day")
        var summer = EnergyColumns.Summer(fromHour: fromHour, toHour: toHour, step: step)
        do {
            for try await (lamp, day, hours) in try await client.query(sql.query, logger: logger).decode((Int64, Int64, ByteBuffer).self) {
                try summer.add(lamp: lamp, day: day, packed: Array(hours.readableBytesView))
            }
        } catch let error as FleetStoreError {
            throw error
        } catch {
            throw FleetStoreError("PostgreSQL \(location): \(Self.explain(error))")
        }
        return summer.totals
    }

    public func pruneEnergy(before hour: Int32) async throws -> Int {
        let boundary = EnergyColumns.day(ofHour: hour)
        let keptFrom = Int(Int64(hour) - boundary * 24)
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.idempotencyLock), \(Self.energyLock))", logger: logger)
            var deleted = 0
            for try await hours in try await connection.query(
                "DELETE FROM energy_day WHERE day < \(boundary) RETURNING hours", logger: logger
            ).decode(ByteBuffer.self) {
                deleted += EnergyDay.presentCount(encoded: Array(hours.readableBytesView))
            }
            guard keptFrom > 0 else { return deleted }
            var updates: (lamps: [Int64], hours: [ByteBuffer]) = ([], [])
            var emptied: [Int64] = []
            for try await (lamp, hours) in try await connection.query(
                "SELECT lamp, hours FROM energy_day WHERE day = \(boundary)", logger: logger
            ).decode((Int64, ByteBuffer).self) {
                let (removed, energyDay) = try EnergyColumns.removeHours(
                    before: keptFrom, lamp: lamp, day: boundary, packed: Array(hours.readableBytesView))
                guard removed > 0 else { continue }
                deleted += removed
                if energyDay.isEmpty {
                    emptied.append(lamp)
                } else {
                    updates.lamps.append(lamp)
                    updates.hours.append(ByteBuffer(bytes: energyDay.encoded()))
                }
            }
            if !emptied.isEmpty {
                try await connection.query("DELETE FROM energy_day WHERE day = \(boundary) AND lamp = ANY(\(emptied)::int8[])", logger: logger)
            }
            if !updates.lamps.isEmpty {
                try await connection.query(
                    """
                    UPDATE energy_day SET hours = u.hours FROM unnest(\(updates.lamps)::int8[], \(updates.hours)::bytea[]) AS u(lamp, hours)
                    WHERE energy_day.lamp = u.lamp AND energy_day.day = \(boundary)
                    """, logger: logger)
            }
            return deleted
        }
    }
}
