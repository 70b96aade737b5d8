import Foundation
import LightingPrograms

/// Turns what an operator writes (`Europe/Amsterdam`, or a POSIX rule) into the POSIX rule
/// lamps run on (SPEC.md §8.10).
public enum TimeZoneRules {
    /// Where the IANA database lives on Linux.
    static let databaseDirectory = "/usr/share/zoneinfo"

    /// Why a zone could not be used.
    public struct Unusable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The rule for an IANA name (read from the TZif file's footer) or a POSIX rule as is.
    public static func rule(_ text: String) throws(Unusable) -> PosixTimeZone {
        let posix: PosixTimeZone.ParseError
        do {
            return try PosixTimeZone(text)
        } catch {
            posix = error
        }
        guard !text.contains(".."), FileManager.default.fileExists(atPath: databaseDirectory + "/" + text) else {
            throw Unusable(description: "'\(text)' is neither an IANA zone such as Europe/Amsterdam nor a POSIX rule (\(posix.message))")
        }
        return try rule(fromFile: databaseDirectory + "/" + text, name: text)
    }

    /// The system's own zone (/etc/localtime), or UTC.
    public static func systemRule() -> PosixTimeZone {
        (try? rule(fromFile: "/etc/localtime", name: "/etc/localtime")) ?? .utc
    }

    /// The POSIX rule at the end of a TZif file (version 2 and later: RFC 8536 §3.3).
    static func rule(fromFile path: String, name: String) throws(Unusable) -> PosixTimeZone {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Unusable(description: "no time zone \(name) (\(path) cannot be read)")
        }
        do {
            return try PosixTimeZone(tzif: [UInt8](data))
        } catch {
            throw Unusable(description: "\(name): \(error.message)")
        }
    }
}
