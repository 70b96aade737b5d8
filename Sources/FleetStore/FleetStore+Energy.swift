import FleetCore
import Foundation
import GRDB
import LampProtocol

extension FleetStore {
    /// The energy table of migration v11 (scripts/energy-storage.py reads it from here): one
    /// row per lamp and UTC day, the day's hours packed by ``EnergyDay`` in `hours`; the lamp
    /// as its rowid, no rowid of its own. Queries for the fleet or a group go lamp by lamp
    /// through the primary key (`lamp IN (...)`), so no second index by day is needed.
    static let energyDayTableSQL = """
        CREATE TABLE energy_day (
            lamp INTEGER NOT NULL,
            day INTEGER NOT NULL,
            hours BLOB NOT NULL,
            PRIMARY KEY (lamp, day)
        ) WITHOUT ROWID;
        CREATE TRIGGER energy_day_of_removed_lamp AFTER DELETE ON lamp BEGIN
            DELETE FROM energy_day WHERE lamp = OLD.rowid;
        END;
        """

    /// Adds hourly energy (used and full-power as whole mWh, lit as whole seconds) to what
    /// is stored for each lamp and hour, in one transaction: one row per lamp-day the batch
    /// touches, written in chunks (``ChunkedUpsert``); a lamp no longer registered is skipped.
    public func addEnergy(_ batch: [EnergyHour]) throws {
        guard !batch.isEmpty else { return }
        let days = EnergyColumns.pack(batch)
        try pool.write { db in
            try FleetStore.energyUpsert.write(days, in: db) { row, values in
                values.text(row.lamp.value)
                values.integer(row.day)
                values.blob { bytes in
                    withUnsafeTemporaryAllocation(byteCount: EnergyDay.maximumEncodedBytes, alignment: 1) { buffer in
                        let count = row.hours.encode(into: buffer)
                        bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                    }
                }
            }
        }
    }

    /// The energy rows of a batch, a chunk at a time: each lamp-day added to what is stored
    /// (`energy_day_add`, ``EnergyDaySQL``). The chunk's rows come first in the join, each
    /// finding its lamp by the primary key. A new row takes the packed day as bound (packed by
    /// ``EnergyDay`` just before): passed through a function, SQLite would copy its result
    /// into a fresh allocation for the update's `excluded.hours`, once per row.
    static let energyUpsert = ChunkedUpsert(columns: 3) { values in
        """
        INSERT INTO energy_day (lamp, day, hours)
        SELECT lamp.rowid, chunk.column2, chunk.column3 FROM \(values) AS chunk
        CROSS JOIN lamp ON lamp.id = chunk.column1
        WHERE true
        ON CONFLICT(lamp, day) DO UPDATE SET hours = energy_day_add(hours, excluded.hours)
        """
    }

    /// The energy of a target's lamps in `fromHour..<toHour`, per step (UTC), oldest first.
    public func energy(target: CommandTarget, fromHour: Int32, toHour: Int32, step: EnergyStep) throws -> [EnergyTotal] {
        guard fromHour < toHour else { return [] }
        let scope: String
        var arguments: StatementArguments = []
        switch target {
        case .all:
            scope = "SELECT rowid FROM lamp"
        case .group(let name):
            scope = "SELECT lamp.rowid FROM lamp JOIN lamp_group ON lamp_group.lamp_id = lamp.id WHERE lamp_group.name = ?"
            arguments += [name]
        case .lamp(let id):
            scope = "SELECT rowid FROM lamp WHERE id = ?"
            arguments += [id.value]
        }
        arguments += [EnergyColumns.day(ofHour: fromHour), EnergyColumns.day(ofHour: toHour - 1)]
        var summer = EnergyColumns.Summer(fromHour: fromHour, toHour: toHour, step: step)
        try pool.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT lamp, day, hours FROM energy_day
                    WHERE lamp IN (\(scope)) AND day >= ? AND day <= ?
                    ORDER BY lamp, day
                    """, arguments: arguments)
            while let row = try rows.next() {
                try summer.add(lamp: row[0], day: row[1], packed: Array(row[2] as Data))
            }
        }
        return summer.totals
    }

    /// Deletes hourly energy before `hour`; returns how many lamp-hours. Whole days go by the
    /// primary key, lamp by lamp; the day `hour` falls in loses its earlier hours only.
    public func pruneEnergy(before hour: Int32) throws -> Int {
        let boundary = EnergyColumns.day(ofHour: hour)
        let keptFrom = Int(Int64(hour) - boundary * 24)
        return try pool.write { db in
            var deleted = 0
            let whole = try Data.fetchCursor(
                db, sql: "SELECT hours FROM energy_day WHERE lamp IN (SELECT rowid FROM lamp) AND day < ?", arguments: [boundary])
            while let packed = try whole.next() {
                deleted += EnergyDay.presentCount(encoded: Array(packed))
            }
            try db.execute(sql: "DELETE FROM energy_day WHERE lamp IN (SELECT rowid FROM lamp) AND day < ?", arguments: [boundary])
            guard keptFrom > 0 else { return deleted }
            let partial = try Row.fetchAll(db, sql: "SELECT lamp, hours FROM energy_day WHERE lamp IN (SELECT rowid FROM lamp) AND day = ?", arguments: [boundary])
            let update = try db.cachedStatement(sql: "UPDATE energy_day SET hours = ? WHERE lamp = ? AND day = ?")
            let delete = try db.cachedStatement(sql: "DELETE FROM energy_day WHERE lamp = ? AND day = ?")
            for row in partial {
                let lamp: Int64 = row[0]
                let (removed, energyDay) = try EnergyColumns.removeHours(
                    before: keptFrom, lamp: lamp, day: boundary, packed: Array(row[1] as Data))
                guard removed > 0 else { continue }
                deleted += removed
                if energyDay.isEmpty {
                    try delete.execute(arguments: [lamp, boundary])
                } else {
                    try update.execute(arguments: [Data(energyDay.encoded()), lamp, boundary])
                }
            }
            return deleted
        }
    }

    /// Migration v11: moves the hourly rows of v9 into packed days, lamp by lamp, then drops
    /// the hourly table.
    static func packHourlyEnergy(_ db: Database) throws {
        try db.execute(sql: energyDayTableSQL)
        let rows = try Row.fetchCursor(db, sql: "SELECT lamp, hour, used, full, lit FROM energy_hour ORDER BY lamp, hour")
        let insert = try db.makeStatement(sql: "INSERT INTO energy_day (lamp, day, hours) VALUES (?, ?, ?)")
        var current: (lamp: Int64, day: Int64)?
        var energyDay = EnergyDay()
        func flush() throws {
            if let current, !energyDay.isEmpty {
                try insert.execute(arguments: [current.lamp, current.day, Data(energyDay.encoded())])
            }
            energyDay = EnergyDay()
        }
        while let row = try rows.next() {
            let lamp: Int64 = row[0]
            let hour: Int64 = row[1]
            let day = hour >= 0 ? hour / 24 : (hour - 23) / 24
            if current?.lamp != lamp || current?.day != day {
                try flush()
                current = (lamp, day)
            }
            energyDay.add(EnergyDay.Hour(used: row[2], full: row[3], lit: row[4]), at: Int(hour - day * 24))
        }
        try flush()
        try db.execute(
            sql: """
                DROP TRIGGER energy_of_removed_lamp;
                DROP INDEX energy_hour_by_hour;
                DROP TABLE energy_hour;
                """)
    }
}
