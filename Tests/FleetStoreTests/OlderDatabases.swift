import GRDB
import FleetCore

@testable import FleetStore

extension FleetStore {
    /// Makes a database at `path` with the schema as it was at migration v3 (before lamp
    /// events had a key), and runs the statements `sql` on it: the starting point of a
    /// migration test.
    static func makeVersion3Database(path: String, sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: "v3: lighting programs")
        try queue.write { db in try db.execute(sql: sql) }
    }
}

extension FleetStore {
    /// Makes a database at `path` with the schema as it was at migration v10 (hourly energy,
    /// one row per lamp-hour), and runs the statements `sql` on it.
    static func makeVersion10Database(path: String, sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: "v10: incidents and cabinets")
        try queue.write { db in try db.execute(sql: sql) }
    }

    /// The v9/v10 energy query, verbatim: what the API answered from hourly rows.
    static func hourlyEnergy(path: String, scope: String, fromHour: Int32, toHour: Int32, step: EnergyStep) throws -> [EnergyTotal] {
        let start: String
        switch step {
        case .hour: start = "hour"
        case .day: start = "hour / 24 * 24"
        case .month: start = "CAST(strftime('%s', hour * 3600, 'unixepoch', 'start of month') AS INTEGER) / 3600"
        }
        let queue = try DatabaseQueue(path: path)
        return try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(start) AS start, SUM(used) AS used, SUM(full) AS full, SUM(lit) AS lit, COUNT(DISTINCT lamp) AS lamps
                    FROM energy_hour WHERE hour >= ? AND hour < ?\(scope)
                    GROUP BY start ORDER BY start
                    """, arguments: [Int64(fromHour), Int64(toHour)]
            ).map { row in
                EnergyTotal(
                    startHour: Int32(clamping: row["start"] as Int64), usedWh: Double(row["used"] as Int64) / 1000,
                    fullPowerWh: Double(row["full"] as Int64) / 1000, litSeconds: Double(row["lit"] as Int64), lamps: row["lamps"])
            }
        }
    }
}
