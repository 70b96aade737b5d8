import CSV
import OperatorAPI

/// Why a lamp CSV file cannot be read; the message names the file, the line and the column.
public struct LampCSVError: Error, Sendable, CustomStringConvertible {
    /// E.g. `lamps.csv:3: latitude 'north' is not a number`.
    public let description: String
}

/// One registration read from a CSV file, with the line its row starts on.
public struct LampCSVRow: Sendable, Equatable {
    /// The line (1 is the header) where the row starts.
    public let line: Int
    /// The lamp as the API takes it.
    public let registration: LampRegistration
}

/// The lamp import format (`lampctl lamps import`, `lamplighterd lamps import`): CSV as
/// RFC 4180 has it (through CSV.swift), so a field in double quotes may hold commas, quotes
/// (doubled) and line breaks. The first line names the columns: `id` (required), `name`,
/// `latitude`, `longitude`, `wattage`, `groups` (several separated by `;`), `cabinet`, in any order.
public enum LampCSV {
    /// The columns a file may have.
    public static let columns = ["id", "name", "latitude", "longitude", "wattage", "groups", "cabinet"]

    /// Reads every row; the first error ends it. Checks the format only (numbers, columns,
    /// duplicate ids): the registration rule itself is the daemon's (`LampRecord.validated`).
    public static func parse(_ text: String, file: String) throws(LampCSVError) -> [LampCSVRow] {
        var body = text
        if body.hasPrefix("\u{FEFF}") { body.removeFirst() }
        let reader: CSVReader
        do {
            reader = try CSVReader(string: body, hasHeaderRow: false, trimFields: true)
        } catch {
            throw LampCSVError(description: "\(file): not a CSV file: \(error)")
        }
        guard let header = reader.next(), header.contains(where: { !$0.isEmpty }) else {
            throw LampCSVError(description: "\(file): empty file, expected a header line naming the columns (\(columns.joined(separator: ",")))")
        }
        var line = 1 + newlines(in: header)
        let names = header.map { $0.lowercased() }
        for (index, name) in names.enumerated() where !columns.contains(name) {
            throw LampCSVError(
                description: "\(file):1: column \(index + 1) '\(header[index])' is not one of \(columns.joined(separator: ", "))")
        }
        guard names.contains("id") else { throw LampCSVError(description: "\(file):1: the header has no 'id' column") }
        if let twice = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw LampCSVError(description: "\(file):1: column '\(twice)' appears twice")
        }
        var rows: [LampCSVRow] = []
        var firstLine: [String: Int] = [:]
        while let fields = reader.next() {
            let start = line + 1
            line = start + newlines(in: fields)
            if fields.allSatisfy(\.isEmpty) { continue }
            let place = "\(file):\(start): "
            guard fields.count == names.count else {
                throw LampCSVError(
                    description: "\(place)expected \(names.count) fields (\(names.joined(separator: ","))), found \(fields.count)"
                        + (fields.count > names.count ? "; a field that holds a comma needs double quotes, e.g. \"Quay, north\"" : ""))
            }
            var values: [String: String] = [:]
            for (name, field) in zip(names, fields) where !field.isEmpty {
                values[name] = field
            }
            func number(_ column: String) throws(LampCSVError) -> Double? {
                guard let text = values[column] else { return nil }
                guard let value = Double(text), value.isFinite else {
                    throw LampCSVError(description: "\(place)\(column) '\(text)' is not a number")
                }
                return value
            }
            guard let id = values["id"] else { throw LampCSVError(description: "\(place)id is empty") }
            if let first = firstLine[id] {
                throw LampCSVError(description: "\(place)id '\(id)' appears twice in the file (first on line \(first))")
            }
            firstLine[id] = start
            let groups = values["groups"].map { $0.split(separator: ";").map { $0.trimmingCharacters() } }
            rows.append(
                LampCSVRow(
                    line: start,
                    registration: LampRegistration(
                        id: id, name: values["name"], groups: groups, latitude: try number("latitude"), longitude: try number("longitude"),
                        wattage: try number("wattage"), cabinet: values["cabinet"])))
        }
        guard !rows.isEmpty else { throw LampCSVError(description: "\(file): no lamps after the header") }
        return rows
    }

    /// Line breaks inside a row's fields (quoted fields may hold some).
    static func newlines(in fields: [String]) -> Int {
        fields.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 == "\n" || $1 == "\r\n" ? 1 : 0) } }
    }

    /// Numbered ids such as `lamp-0001`, zero-padded to at least four digits: as wide as
    /// `start + count`, the width lampsim gives the same lamps.
    public static func numberedIDs(prefix: String, start: Int, count: Int) -> [String] {
        let width = max(4, String(start + count).count)
        return (start..<(start + count)).map { number in
            let digits = String(number)
            return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
    }

    /// "1 lamp", "2 lamps".
    public static func lamps(_ count: Int) -> String {
        count == 1 ? "1 lamp" : "\(count) lamps"
    }
}

extension Substring {
    /// Without leading and trailing spaces.
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
