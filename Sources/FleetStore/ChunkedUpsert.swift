import FleetCore
import GRDB
import GRDBSQLite
import LampProtocol

/// Writes a batch of rows with one statement per chunk of rows (`INSERT ... SELECT ... FROM
/// (VALUES (...), (...), ...)`), binding every value with SQLite's C API in place.
///
/// Every fleet command ends, per lamp, in a reported-state row and an energy row. Written
/// one statement per row, SQLite allocated about 8 times a row (this SQLite is built without
/// its lookaside allocator): a statement journal and its bit vector per execution, and the
/// registers that each execution frees on reset. One execution per chunk pays that once for
/// up to ``sizes``[0] rows (issue 13).
struct ChunkedUpsert {
    /// Rows per statement, largest first: a batch goes out in as many chunks of the largest
    /// as fit, then the rest in the smaller ones.
    static let sizes = [64, 16, 4, 1]

    /// Values per row.
    let columns: Int
    /// The statement for each size in ``sizes``.
    private let sql: [Int: String]

    /// `statement(values)` is the SQL around `values`, the `(VALUES (?, ...), ...)` list of
    /// a chunk (its columns are `column1`, `column2`, ...).
    init(columns: Int, _ statement: (_ values: String) -> String) {
        self.columns = columns
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ", ") + ")"
        var sql: [Int: String] = [:]
        for size in Self.sizes {
            sql[size] = statement("(VALUES " + Array(repeating: row, count: size).joined(separator: ", ") + ")")
        }
        self.sql = sql
    }

    /// Writes `rows` in the caller's transaction; `bind` binds one row's ``columns`` values
    /// in order.
    func write<Rows: RandomAccessCollection>(
        _ rows: Rows, in db: Database, bind: (Rows.Element, inout ChunkBindings) -> Void
    ) throws where Rows.Index == Int {
        var bindings = ChunkBindings()
        var start = rows.startIndex
        while start < rows.endIndex {
            let remaining = rows.endIndex - start
            // The last size is 1, so one always fits.
            let size = Self.sizes.first { $0 <= remaining }!
            // Present: one statement per size in `sizes`.
            let statement = try db.cachedStatement(sql: sql[size]!)
            bindings.begin(statement.sqliteStatement)
            for row in rows[start..<start + size] {
                bind(row, &bindings)
            }
            precondition(bindings.bound == size * columns, "a row bound the wrong number of values")
            try bindings.step(statement: statement, db: db)
            start += size
        }
    }
}

/// The values of one chunk, bound in order. Text and blobs are gathered in one buffer
/// reused from chunk to chunk and bound in place (`SQLITE_STATIC`) once the chunk is whole,
/// so nothing they point into moves before the step.
struct ChunkBindings {
    private var handle: OpaquePointer?
    /// Parameters bound so far in this chunk.
    private(set) var bound = 0
    private var bytes: [UInt8] = []
    private var spans: [(parameter: Int32, offset: Int, count: Int, isText: Bool)] = []

    fileprivate mutating func begin(_ handle: OpaquePointer) {
        self.handle = handle
        sqlite3_reset(handle)
        bound = 0
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
    }

    private mutating func next() -> Int32 {
        bound += 1
        return Int32(bound)
    }

    mutating func integer(_ value: Int64) {
        sqlite3_bind_int64(handle, next(), value)
    }

    mutating func null() {
        sqlite3_bind_null(handle, next())
    }

    mutating func text(_ value: String) {
        let offset = bytes.count
        bytes.append(contentsOf: value.utf8)
        spans.append((next(), offset, bytes.count - offset, true))
    }

    /// A blob that `write` appends to the buffer it is given.
    mutating func blob(_ write: (inout [UInt8]) -> Void) {
        let offset = bytes.count
        write(&bytes)
        spans.append((next(), offset, bytes.count - offset, false))
    }

    fileprivate mutating func step(statement: Statement, db: Database) throws {
        let handle = self.handle
        let code = bytes.withUnsafeBytes { buffer -> Int32 in
            for span in spans {
                let start = buffer.baseAddress.map { $0 + span.offset }
                if span.isText {
                    sqlite3_bind_text(handle, span.parameter, start?.assumingMemoryBound(to: CChar.self), Int32(span.count), nil)
                } else {
                    // A blob of no bytes is still a blob, not NULL: bind zero bytes explicitly.
                    if span.count == 0 {
                        sqlite3_bind_zeroblob(handle, span.parameter, 0)
                    } else {
                        sqlite3_bind_blob(handle, span.parameter, start, Int32(span.count), nil)
                    }
                }
            }
            let code = sqlite3_step(handle)
            sqlite3_reset(handle)
            // No binding may outlive the buffer it points into.
            sqlite3_clear_bindings(handle)
            return code
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }
}
