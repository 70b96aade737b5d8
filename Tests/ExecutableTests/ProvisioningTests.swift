import Foundation
import OperatorAPI
import Testing

/// `lamplighterd lamps ...` and `key ...` as an installer uses them, on the database and key a
/// first `lamplighterd run` made (nothing else creates them).
@Suite("Provisioning from the command line")
struct ProvisioningTests {
    /// A database and key made by a daemon's first start, the daemon stopped again.
    static func stoppedDaemon() async throws -> Daemon {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        daemon.stop()
        return daemon
    }

    @Test("a CSV import registers every lamp, or none with an error naming the line and column")
    func csvImport() async throws {
        let daemon = try await Self.stoppedDaemon()
        let storage = daemon.database
        let good = daemon.directory.appendingPathComponent("good.csv")
        try "id,name,latitude,longitude,wattage,groups\nmain-1,Main St 1,52.37,4.89,60,main;north\nmain-2,,,,,\n"
            .write(to: good, atomically: true, encoding: .utf8)
        let bad = daemon.directory.appendingPathComponent("bad.csv")
        try "id,latitude,longitude\nok-1,10,20\nok-2,north,4\n".write(to: bad, atomically: true, encoding: .utf8)

        let failed = try ProductRunner.run("lamplighterd", ["lamps", "import", bad.path] + storage)
        #expect(failed.status == 65)
        #expect(failed.stderr.contains("bad.csv:3: latitude 'north' is not a number"))

        let imported = try ProductRunner.run("lamplighterd", ["lamps", "import", good.path] + storage)
        #expect(imported.status == 0 && imported.stdout.contains("registered 2 lamps"), "\(imported.stderr)")
        let again = try ProductRunner.run("lamplighterd", ["lamps", "import", good.path] + storage)
        #expect(again.status == 65 && again.stderr.contains("lamp main-1 is already registered"))

        let listed = try ProductRunner.run("lamplighterd", ["lamps", "list"] + storage)
        #expect(listed.stdout.contains("main-1") && listed.stdout.contains("main,north") && listed.stdout.contains("2 lamps"))
        #expect(!listed.stdout.contains("ok-1"))
    }

    @Test("generate numbers lamps; invalid ids and counts are refused")
    func generate() async throws {
        let daemon = try await Self.stoppedDaemon()
        let storage = daemon.database
        let made = try ProductRunner.run("lamplighterd", ["lamps", "generate", "--count", "12", "--prefix", "pole-"] + storage)
        #expect(made.stdout.contains("registered 12 lamps in \(daemon.directory.appendingPathComponent("lamplighter.db").path): pole-0001 to pole-0012"))
        let badID = try ProductRunner.run("lamplighterd", ["lamps", "add", "bad id"] + storage)
        #expect(badID.status != 0 && badID.stderr.contains("must be 1 to 32 characters"))
        let badCount = try ProductRunner.run("lamplighterd", ["lamps", "generate", "--count", "0"] + storage)
        #expect(badCount.status != 0 && badCount.stderr.contains("--count must be from 1"))
    }

    /// What the dashboard's map and the README's first commands rely on.
    @Test("generate --latitude --longitude puts the lamps on a street grid centred there, 30 m apart")
    func generateOnAGrid() async throws {
        let daemon = try await Self.stoppedDaemon()
        let made = try ProductRunner.run(
            "lamplighterd", ["lamps", "generate", "--count", "300", "--latitude", "52.3676", "--longitude", "4.9041"] + daemon.database)
        #expect(made.status == 0 && made.stdout.contains("registered 300 lamps"))
        let half = try ProductRunner.run("lamplighterd", ["lamps", "generate", "--count", "2", "--latitude", "52"] + daemon.database)
        #expect(half.status != 0 && half.stderr.contains("give --latitude and --longitude together"))
        try await daemon.start()
        let lamps = try await daemon.lamps("limit=1000")
        #expect(lamps.count == 300)
        let latitudes = lamps.compactMap(\.latitude)
        let longitudes = lamps.compactMap(\.longitude)
        #expect(latitudes.count == 300 && longitudes.count == 300)
        let metresPerDegree = 111_320.0
        let north = ((latitudes.max() ?? 0) - (latitudes.min() ?? 0)) * metresPerDegree
        let east = ((longitudes.max() ?? 0) - (longitudes.min() ?? 0)) * metresPerDegree * cos(52.3676 * .pi / 180)
        // 30 columns 30 m apart, 10 streets 90 m apart: about as tall as wide, centred on the place.
        #expect(abs(east - 29 * 30) < 1 && abs(north - 9 * 90) < 1, "\(east) m by \(north) m")
        #expect(abs(((latitudes.max() ?? 0) + (latitudes.min() ?? 0)) / 2 - 52.3676) < 1e-6)
        #expect(abs(((longitudes.max() ?? 0) + (longitudes.min() ?? 0)) / 2 - 4.9041) < 1e-6)
        #expect(Set(lamps.map { "\($0.latitude ?? 0),\($0.longitude ?? 0)" }).count == 300, "two lamps share a place")
    }

    @Test("key show prints the key run created, never a new one; key lamp derives the documented lamp key")
    func keys() async throws {
        let daemon = try Daemon(lamps: 0)
        let keyFile = daemon.keyFile
        try String(repeating: "00010203040506070809", count: 1).appending("0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n")
            .write(toFile: keyFile, atomically: true, encoding: .utf8)
        let lamp = try ProductRunner.run("lamplighterd", ["key", "lamp", "lamp-0001", "--key-file", keyFile])
        // SPEC.md §12: fleet key 00..1f, lamp-0001.
        #expect(lamp.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ed46768e5cc0e1d14dada9c4d4001786e840b279f0565573aca56de845aba0b6")
        #expect(lamp.stderr.contains("fleet key from \(keyFile)"))
        let fresh = try await Self.stoppedDaemon()
        let first = try ProductRunner.run("lamplighterd", ["key", "show", "--key-file", fresh.keyFile])
        let second = try ProductRunner.run("lamplighterd", ["key", "show", "--key-file", fresh.keyFile])
        #expect(first.stdout.count == 65 && first.stdout == second.stdout)
    }
}
