import FleetCore
import GRDB
import GRDBSQLite

/// `energy_day_add(stored, added)`: the packed day `stored` (NULL for none) with the packed
/// day `added` added hour by hour, packed again (``EnergyDay``). Registered on every
/// connection through SQLite's C API rather than as a GRDB `DatabaseFunction`: the values
/// are read in place and the result packed into a buffer on the stack, so a lamp-day costs
/// no `DatabaseValue`, no `Data` and no array (issue 13: it was 15 allocations a row).
enum EnergyDaySQL {
    static let name = "energy_day_add"

    static func register(on db: Database) throws {
        let code = sqlite3_create_function_v2(
            db.sqliteConnection, name, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nil, { context, count, values in
                guard let context, count == 2, let values else { return }
                EnergyDaySQL.add(context, stored: values[0], added: values[1])
            }, nil, nil, nil)
        guard code == SQLITE_OK else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "could not register \(name)")
        }
    }

    private static func add(_ context: OpaquePointer, stored: OpaquePointer?, added: OpaquePointer?) {
        guard let added, sqlite3_value_type(added) == SQLITE_BLOB else {
            sqlite3_result_error(context, "\(name): the added day is not a blob", -1)
            return
        }
        let storedBytes: UnsafeRawBufferPointer?
        if let stored, sqlite3_value_type(stored) != SQLITE_NULL {
            storedBytes = bytes(of: stored)
        } else {
            storedBytes = nil
        }
        let addedBytes = bytes(of: added)
        withUnsafeTemporaryAllocation(byteCount: EnergyDay.maximumEncodedBytes, alignment: 1) { buffer in
            do {
                let count = try EnergyDay.sum(packed: addedBytes, and: storedBytes, into: buffer)
                // SQLITE_TRANSIENT: SQLite copies the bytes before the buffer goes.
                sqlite3_result_blob(context, buffer.baseAddress, Int32(count), unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            } catch {
                sqlite3_result_error(context, "\(name): \(error)", -1)
            }
        }
    }

    /// A value's bytes, read in place (valid until the function returns).
    private static func bytes(of value: OpaquePointer) -> UnsafeRawBufferPointer {
        // sqlite3_value_blob before sqlite3_value_bytes, as SQLite's documentation asks.
        let base = sqlite3_value_blob(value)
        return UnsafeRawBufferPointer(start: base, count: Int(sqlite3_value_bytes(value)))
    }
}
