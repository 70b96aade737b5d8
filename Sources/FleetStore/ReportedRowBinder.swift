import FleetCore
import GRDB
import GRDBSQLite
import LampProtocol

/// Writes reported-state rows with SQLite's C API on GRDB's cached statement: each value is
/// bound in place (the lamp id and firmware as the strings' own bytes, the status report
/// encoded into one reused buffer), so a row costs no argument array, no `Data` and no
/// copy of the report. It is on every fleet command's path: each lamp's ack and status
/// report end in a row here (issue 13: about 2.5 of the 5 allocations per lamp per command
/// were GRDB's `StatementArguments` and the report's bytes as `Data`).
enum ReportedRowBinder {
    /// Runs `statement` (parameters: lamp id, applied version, config version, firmware,
    /// status bytes, reported at, last seen) once per record, in the caller's transaction.
    static func write(_ batch: [ReportedRecord], with statement: Statement, in db: Database) throws {
        let handle = statement.sqliteStatement
        defer {
            sqlite3_reset(handle)
            // No binding may outlive the buffers it points into.
            sqlite3_clear_bindings(handle)
        }
        var status: [UInt8] = []
        status.reserveCapacity(128)
        for record in batch {
            sqlite3_reset(handle)
            sqlite3_bind_int64(handle, 2, Int64(record.appliedVersion))
            sqlite3_bind_int64(handle, 3, Int64(record.configVersion))
            sqlite3_bind_int64(handle, 6, Int64(clamping: record.reportedAtMilliseconds))
            sqlite3_bind_int64(handle, 7, Int64(clamping: record.lastSeenMilliseconds))
            status.removeAll(keepingCapacity: true)
            if let report = record.status { LampMessage.statusReport(report).encode(into: &status) }
            // SQLITE_STATIC (nil): SQLite reads the bytes in place; each is alive until the
            // step inside the closures has run.
            let code = record.lampID.value.withCString { lampID in
                withOptionalCString(record.firmware) { firmware in
                    status.withUnsafeBytes { statusBytes in
                        sqlite3_bind_text(handle, 1, lampID, -1, nil)
                        if let firmware { sqlite3_bind_text(handle, 4, firmware, -1, nil) } else { sqlite3_bind_null(handle, 4) }
                        if record.status != nil {
                            sqlite3_bind_blob(handle, 5, statusBytes.baseAddress, Int32(statusBytes.count), nil)
                        } else {
                            sqlite3_bind_null(handle, 5)
                        }
                        return sqlite3_step(handle)
                    }
                }
            }
            guard code == SQLITE_DONE else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                    sql: statement.sql)
            }
        }
    }

    /// `body` with `text` as a C string, or with nil.
    private static func withOptionalCString<Result>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }
}
