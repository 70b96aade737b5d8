import FleetCore
import GRDB
import LampProtocol

extension FleetStore {
    /// Adds hourly energy (used and full-power as whole mWh, lit as whole seconds) to what
    /// is stored for each lamp and hour, in one transaction; a lamp no longer registered is
    /// skipped.
    public func addEnergy(_ batch: [EnergyHour]) throws {
        guard !batch.isEmpty else { return }
        try pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO energy_hour (lamp, hour, used, full, lit)
                    SELECT rowid, ?, ?, ?, ? FROM lamp WHERE id = ?
                    ON CONFLICT(lamp, hour) DO UPDATE SET used = used + excluded.used, full = full + excluded.full,
                        lit = lit + excluded.lit
                    """)
            for bucket in batch {
                try statement.execute(arguments: [
                    Int64(bucket.hour), Int64((bucket.usedWh * 1000).rounded()), Int64((bucket.fullPowerWh * 1000).rounded()),
                    Int64(bucket.litSeconds.rounded()), bucket.lampID.value,
                ])
            }
        }
    }

    /// The energy of a target's lamps in `fromHour..<toHour`, per step (UTC), oldest first.
    public func energy(target: CommandTarget, fromHour: Int32, toHour: Int32, step: EnergyStep) throws -> [EnergyTotal] {
        let start: String
        switch step {
        case .hour: start = "hour"
        case .day: start = "hour / 24 * 24"
        case .month: start = "CAST(strftime('%s', hour * 3600, 'unixepoch', 'start of month') AS INTEGER) / 3600"
        }
        let scope: String
        var arguments: StatementArguments = [Int64(fromHour), Int64(toHour)]
        switch target {
        case .all:
            scope = ""
        case .group(let name):
            scope = " AND lamp IN (SELECT lamp.rowid FROM lamp JOIN lamp_group ON lamp_group.lamp_id = lamp.id WHERE lamp_group.name = ?)"
            arguments += [name]
        case .lamp(let id):
            scope = " AND lamp = (SELECT rowid FROM lamp WHERE id = ?)"
            arguments += [id.value]
        }
        return try pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(start) AS start, SUM(used) AS used, SUM(full) AS full, SUM(lit) AS lit, COUNT(DISTINCT lamp) AS lamps
                    FROM energy_hour WHERE hour >= ? AND hour < ?\(scope)
                    GROUP BY start ORDER BY start
                    """, arguments: arguments
            ).map { row in
                EnergyTotal(
                    startHour: Int32(clamping: row["start"] as Int64), usedWh: Double(row["used"] as Int64) / 1000,
                    fullPowerWh: Double(row["full"] as Int64) / 1000, litSeconds: Double(row["lit"] as Int64), lamps: row["lamps"])
            }
        }
    }

    /// Deletes hourly energy before `hour`; returns how many lamp-hours.
    public func pruneEnergy(before hour: Int32) throws -> Int {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM energy_hour WHERE hour < ?", arguments: [Int64(hour)])
            return db.changesCount
        }
    }
}
