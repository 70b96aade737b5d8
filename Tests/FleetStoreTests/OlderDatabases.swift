import GRDB

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
