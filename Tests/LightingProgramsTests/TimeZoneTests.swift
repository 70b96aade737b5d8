import Foundation
import Testing

@testable import LightingPrograms

@Suite("POSIX time-zone rules")
struct TimeZoneTests {
    static let zones = [
        ("Europe/Amsterdam", "CET-1CEST,M3.5.0,M10.5.0/3"), ("America/New_York", "EST5EDT,M3.2.0,M11.1.0"),
        ("Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"), ("America/Sao_Paulo", "<-03>3"), ("Asia/Kolkata", "IST-5:30"),
        ("Pacific/Auckland", "NZST-12NZDT,M9.5.0,M4.1.0/3"),
    ]

    @Test("offsets match the IANA database every two hours of 2026 and 2027", arguments: zones)
    func matchesDatabase(name: String, rule: String) throws {
        let zone = try PosixTimeZone(rule)
        let reference = try #require(TimeZone(identifier: name))
        let start = Int64(CivilDate(year: 2026, month: 1, day: 1)!.daysSinceEpoch) * 86_400
        for step in stride(from: Int64(0), to: 2 * 365 * 86_400, by: 7200) {
            let instant = start + step + 1800
            let expected = reference.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))
            #expect(zone.offset(atUnix: instant) == expected, "\(name) at \(instant)")
        }
    }

    @Test("transitions of the change days, and local times in the gap and the overlap")
    func changeDays() throws {
        let amsterdam = try PosixTimeZone("CET-1CEST,M3.5.0,M10.5.0/3")
        // 2026-03-29 01:00 UTC clocks go from 02:00 to 03:00; 2026-10-25 01:00 UTC from 03:00 to 02:00.
        let spring = Int64(CivilDate(year: 2026, month: 3, day: 29)!.daysSinceEpoch) * 86_400 + 3600
        #expect(amsterdam.offset(atUnix: spring - 1) == 3600 && amsterdam.offset(atUnix: spring) == 7200)
        let autumn = Int64(CivilDate(year: 2026, month: 10, day: 25)!.daysSinceEpoch) * 86_400 + 3600
        #expect(amsterdam.offset(atUnix: autumn - 1) == 7200 && amsterdam.offset(atUnix: autumn) == 3600)
        // 02:30 does not happen in spring: it becomes 03:30 CEST (01:30 UTC).
        #expect(amsterdam.unix(CivilDate(year: 2026, month: 3, day: 29)!, secondsOfDay: 9000) == spring + 1800)
        // 02:30 happens twice in autumn: the first, still CEST (00:30 UTC).
        #expect(amsterdam.unix(CivilDate(year: 2026, month: 10, day: 25)!, secondsOfDay: 9000) == autumn - 1800)
        #expect(amsterdam.local(autumn + 1800).secondsOfDay == 9000)
        // Sydney: southern hemisphere, summer time across New Year.
        let sydney = try PosixTimeZone("AEST-10AEDT,M10.1.0,M4.1.0/3")
        let january = Int64(CivilDate(year: 2027, month: 1, day: 15)!.daysSinceEpoch) * 86_400
        #expect(sydney.offset(atUnix: january) == 39_600 && sydney.isDaylightSaving(atUnix: january))
    }

    @Test("invalid rules say what and where")
    func invalid() {
        let cases: [(String, String)] = [
            ("C-1", "3 or more letters"), ("CET", "expected a number"), ("CET-1CEST", "needs its rule"),
            ("CET-1CEST,M13.5.0,M10.5.0", "out of range"), ("CET-1CEST,M3.5.0", "expected ,END"), ("CET-1CEST,M3.5.0,M10.5.0/3x", "unexpected text"),
        ]
        for (text, message) in cases {
            #expect(throws: PosixTimeZone.ParseError.self, "\(text)") { try PosixTimeZone(text) }
            do {
                _ = try PosixTimeZone(text)
            } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }

    @Test("an IANA name resolves to its TZif footer; a rule stays a rule; nothing outside the database is read")
    func resolve() throws {
        var asked: [String] = []
        let files = ["/usr/share/zoneinfo/Europe/Amsterdam": Array("TZif2...binary...\nCET-1CEST,M3.5.0,M10.5.0/3\n".utf8)]
        let read = { (path: String) -> [UInt8]? in
            asked.append(path)
            return files[path]
        }
        #expect(try PosixTimeZone.resolve("Europe/Amsterdam", readFile: read).text == "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(try PosixTimeZone.resolve("EST5EDT,M3.2.0,M11.1.0", readFile: read).text == "EST5EDT,M3.2.0,M11.1.0")
        #expect(asked == ["/usr/share/zoneinfo/Europe/Amsterdam"])
        for name in ["Mars/Olympus", "../../etc/passwd"] {
            #expect(throws: PosixTimeZone.ParseError.self) { try PosixTimeZone.resolve(name, readFile: read) }
        }
        #expect(!asked.contains { $0.contains("..") })
        #expect(PosixTimeZone.system(readFile: { _ in nil }) == .utc)
    }
}
