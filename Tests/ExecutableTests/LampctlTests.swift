import Foundation
import OperatorAPI
import Testing

/// lampctl as an operator uses it, against a real daemon and simulated lamps.
@Suite("lampctl", .serialized)
struct LampctlTests {
    @Test(
        "every subcommand explains itself",
        arguments: [
            ("lamps", "List lamps"), ("lamp show", "One lamp: desired versus reported"), ("dim", "Set the light level"), ("on", "Switch on"),
            ("off", "Switch off"), ("resume", "Return to the lighting program"), ("events", "The event history"),
        ])
    func help(subcommand: String, abstract: String) throws {
        let output = try ProductRunner.run("lampctl", subcommand.split(separator: " ").map(String.init) + ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(abstract))
        #expect(output.stdout.contains("--server"))
    }

    @Test("dim all reaches every lamp and says so; --json is machine-readable; errors have their exit codes")
    func dimAll() async throws {
        let daemon = try Daemon(lamps: 200)
        try daemon.start()
        let sim = try Simulator(daemon, count: 200)
        try await daemon.waitUntil("200 lamps are online") { try await daemon.onlineCount() == 200 }
        let server = ["--server", daemon.api.replacingOccurrences(of: "/api/v1", with: "")]

        let dim = try ProductRunner.run("lampctl", ["dim", "all", "30", "--fade", "1"] + server)
        #expect(dim.status == 0, "\(dim.stderr)")
        #expect(dim.stdout.contains("level 30.0% fade 1.0s to all"))
        #expect(dim.stdout.contains("applied 200 / 200"))

        let override = try ProductRunner.run("lampctl", ["dim", "lamp-0007", "80", "--for", "1h30m", "--json"] + server)
        #expect(override.status == 0)
        let progress = try APICoding.decoder().decode(CommandProgress.self, from: Data(override.stdout.utf8))
        #expect(progress.target == "lamp:lamp-0007" && progress.applied == 1 && progress.action.contains("for 5400s"))

        let listed = try ProductRunner.run("lampctl", ["lamps", "--json", "--limit", "5"] + server)
        let page = try APICoding.decoder().decode(LampPage.self, from: Data(listed.stdout.utf8))
        #expect(page.total == 200 && page.lamps.count == 5)
        let table = try ProductRunner.run("lampctl", ["lamp", "show", "lamp-0007"] + server)
        #expect(table.stdout.contains("80% until"))

        let unknown = try ProductRunner.run("lampctl", ["on", "nobody"] + server)
        #expect(unknown.status == 4 && unknown.stderr.contains("no lamp nobody is registered"))
        let invalid = try ProductRunner.run("lampctl", ["dim", "all", "101"] + server)
        #expect(invalid.status == 64 && invalid.stderr.contains("LEVEL must be from 0 to 100"))
        let unreachable = try ProductRunner.run("lampctl", ["lamps", "--server", "http://127.0.0.1:1"])
        #expect(unreachable.status == 3 && unreachable.stderr.contains("cannot reach lamplighterd"))
        _ = try sim.finish()

        // With the lamps gone, a command stays pending: exit 1, and the summary says why.
        let pending = try ProductRunner.run("lampctl", ["off", "all", "--wait", "1"] + server)
        #expect(pending.status == 1)
        #expect(pending.stdout.contains("pending 200 (200 offline)"))
    }
}
