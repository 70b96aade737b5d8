import Foundation
import OperatorAPI
import Testing

/// lampctl as an operator uses it, against a real daemon and simulated lamps.
@Suite("lampctl", .serialized)
struct LampctlTests {
    @Test(
        "every subcommand explains itself",
        arguments: [
            ("lamp show", "One lamp: desired versus reported"), ("dim", "Set the light level"), ("on", "Switch on"),
            ("off", "Switch off"), ("resume", "Return to the lighting program"), ("events", "The event history"),
            ("identify", "Blink lamps so a crew can find them"), ("reboot", "Restart lamps' controllers"),
            ("group list", "Every group and its size"), ("group create", "Create an empty group"), ("group add", "Add lamps to a group"),
            ("group remove", "Remove lamps from a group"), ("group delete", "Delete a group"), ("group show", "One group and its lamps"),
            ("watch", "Follow live events"), ("audit", "The audit log"), ("token create", "Create a token"),
            ("token list", "Every token"), ("token revoke", "Revoke a token"), ("program set", "Create or change a program"),
            ("program show", "One program's file"), ("program list", "Every program"), ("program assign", "Run a program"),
            ("program preview", "A night of a program"), ("program delete", "Delete a program"), ("lamps add", "Register one lamp"),
            ("lamps import", "Register lamps from a CSV file"), ("lamps generate", "Register numbered lamps"),
            ("lamps set", "Change a lamp's name, place, wattage or cabinet"), ("lamps remove", "Remove lamps"), ("lamps list", "List lamps"), ("command", "Follow a command sent earlier"),
        ])
    func help(subcommand: String, abstract: String) throws {
        let output = try ProductRunner.run("lampctl", subcommand.split(separator: " ").map(String.init) + ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(abstract))
        #expect(output.stdout.contains("--server"))
        #expect(output.stdout.contains("--json"), "every subcommand takes --json")
    }

    @Test("dim all reaches every lamp and says so; --json is machine-readable; errors have their exit codes")
    func dimAll() async throws {
        let daemon = try Daemon(lamps: 20)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 20)
        try await waitUntil("20 lamps are online") { try await daemon.onlineCount() == 20 }
        let server = daemon.lampctlOptions

        let dim = try ProductRunner.run("lampctl", ["dim", "all", "30", "--fade", "1"] + server)
        #expect(dim.status == 0, "\(dim.stderr)")
        #expect(dim.stdout.contains("level 30.0% fade 1.0s to all"))
        #expect(dim.stdout.contains("applied 20 / 20"))

        let override = try ProductRunner.run("lampctl", ["dim", "lamp-0007", "80", "--for", "1h30m", "--json"] + server)
        #expect(override.status == 0)
        let progress = try APICoding.decoder().decode(CommandProgress.self, from: Data(override.stdout.utf8))
        #expect(progress.target == "lamp:lamp-0007" && progress.applied == 1 && progress.action.contains("for 5400s"))

        let listed = try ProductRunner.run("lampctl", ["lamps", "--json", "--limit", "5"] + server)
        let page = try APICoding.decoder().decode(LampPage.self, from: Data(listed.stdout.utf8))
        #expect(page.total == 20 && page.lamps.count == 5)
        let overridden = try ProductRunner.run("lampctl", ["lamps", "--json", "--mode", "override"] + server)
        let overriddenPage = try APICoding.decoder().decode(LampPage.self, from: Data(overridden.stdout.utf8))
        #expect(overriddenPage.lamps.map(\.id) == ["lamp-0007"])
        let faulty = try ProductRunner.run("lampctl", ["lamps", "--json", "--fault"] + server)
        #expect(try APICoding.decoder().decode(LampPage.self, from: Data(faulty.stdout.utf8)).total == 0)
        #expect(try ProductRunner.run("lampctl", ["lamps", "--mode", "disco"] + server).status == 64)
        let table = try ProductRunner.run("lampctl", ["lamp", "show", "lamp-0007"] + server)
        #expect(table.stdout.contains("80% until"))

        let unknown = try ProductRunner.run("lampctl", ["on", "nobody"] + server)
        #expect(unknown.status == 4 && unknown.stderr.contains("no lamp nobody is registered"))
        let invalid = try ProductRunner.run("lampctl", ["dim", "all", "101"] + server)
        #expect(invalid.status == 64 && invalid.stderr.contains("LEVEL must be from 0 to 100"))
        let unreachable = try ProductRunner.run("lampctl", ["lamps", "--server", "http://127.0.0.1:1"])
        #expect(unreachable.status == 3 && unreachable.stderr.contains("cannot reach lamplighterd"))
        _ = try sim.finish()

        // With the lamps gone, a command is pending delivery: that is no failure (exit 0), the
        // summary says so, and only --wait-all waits for them (exit 2 when they stay away).
        try await waitUntil("every lamp is offline") { try await daemon.onlineCount() == 0 }
        let pending = try ProductRunner.run("lampctl", ["off", "all", "--wait", "5"] + server)
        #expect(pending.status == 0, "\(pending.stderr)")
        #expect(pending.stdout.contains("pending delivery to 20 offline lamps: they get it when they reconnect"), "\(pending.stdout)")
        let waitAll = try ProductRunner.run("lampctl", ["on", "all", "--wait", "0.3", "--wait-all"] + server)
        #expect(waitAll.status == 2, "\(waitAll.stdout)")
    }

    @Test("groups, tokens, identify and the audit log from the command line; server and token from a config file")
    func operatorSession() async throws {
        let daemon = try Daemon(lamps: 10)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 10)
        try await waitUntil("10 lamps are online") { try await daemon.onlineCount() == 10 }
        let config = daemon.directory.appendingPathComponent("lampctl.conf").path
        try "# test\nserver = \(daemon.server)\ntoken = \(daemon.adminToken)\n".write(toFile: config, atomically: true, encoding: .utf8)
        let options = ["--config", config]

        #expect(try ProductRunner.run("lampctl", ["group", "create", "pier", "--description", "the pier"] + options).stdout == "created group pier\n")
        let added = try ProductRunner.run("lampctl", ["group", "add", "pier", "lamp-0001", "lamp-0002"] + options)
        #expect(added.status == 0 && added.stdout.contains("group pier has 2 lamps"))
        let unknown = try ProductRunner.run("lampctl", ["group", "add", "pier", "lamp-0099"] + options)
        #expect(unknown.status == 4 && unknown.stderr.contains("no lamp lamp-0099"))
        let listed = try ProductRunner.run("lampctl", ["group"] + options)
        #expect(listed.stdout.contains("pier   2      the pier"))

        let identify = try ProductRunner.run("lampctl", ["identify", "group:pier", "--for", "20"] + options)
        #expect(identify.status == 0 && identify.stdout.contains("applied 2 / 2"), "\(identify.stdout) \(identify.stderr)")

        let token = try ProductRunner.run("lampctl", ["token", "create", "ops", "--role", "viewer"] + options)
        let viewer = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.status == 0 && viewer.hasPrefix("llt_"))
        let denied = try ProductRunner.run("lampctl", ["on", "all", "--token", viewer] + options)
        #expect(denied.status == 6 && denied.stderr.contains("needs operator"))
        let fromEnvironment = try ProductRunner.run("lampctl", ["lamps", "--json"] + options, environment: ["LAMPLIGHTER_TOKEN": viewer])
        #expect(fromEnvironment.status == 0)
        let badInput = try ProductRunner.run("lampctl", ["group", "create", "no spaces"] + options)
        #expect(badInput.status == 65 && badInput.stderr.contains("name must be"))

        let audit = try ProductRunner.run("lampctl", ["audit", "--json"] + options)
        let entries = try APICoding.decoder().decode([AuditView].self, from: Data(audit.stdout.utf8))
        #expect(entries.map(\.action).prefix(4) == ["denied", "token.create", "command", "group.members"], "\(entries.map(\.action))")
        #expect(entries.first { $0.action == "command" }?.target == "group:pier")

        try "server = \(daemon.server)\ncolour = blue\n".write(toFile: config, atomically: true, encoding: .utf8)
        let badConfig = try ProductRunner.run("lampctl", ["lamps"] + options)
        #expect(badConfig.status == 64 && badConfig.stderr.contains("lampctl.conf:2: unknown key 'colour'"))
        _ = try sim.finish()
    }

    @Test("programs from the command line: set (errors name the line and field), list, show, assign, preview")
    func programs() async throws {
        let daemon = try Daemon(lamps: 4)
        daemon.runArguments = ["--timezone", "Europe/Amsterdam", "--latitude", "52.3676", "--longitude", "4.9041"]
        try await daemon.start()
        let dim = try ProductRunner.run("lampctl", ["dim", "lamp-0001", "30", "--wait", "0"] + daemon.lampctlOptions)
        #expect(dim.status == 0, "\(dim.stdout) \(dim.stderr)")
        let file = daemon.directory.appendingPathComponent("midnight.prog").path
        try "sunset-10m 100%\n23:00 30%\nsunrise+10m off\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = daemon.directory.appendingPathComponent("bad.prog").path
        try "sunset 100%\n23:00 130%\n".write(toFile: bad, atomically: true, encoding: .utf8)

        let refused = try ProductRunner.run("lampctl", ["program", "set", "midnight", bad] + daemon.lampctlOptions)
        #expect(refused.status == 65 && refused.stderr.contains("bad.prog: line 2, level: '130%' is not 0% to 100%"), "\(refused.stderr)")
        let set = try ProductRunner.run("lampctl", ["program", "set", "midnight", file] + daemon.lampctlOptions)
        // Program revisions have their own sequence: the first program is revision 1 however
        // many commands came before.
        #expect(set.status == 0 && set.stdout.contains("program midnight revision 1:"), "\(set.stdout) \(set.stderr)")
        let assign = try ProductRunner.run("lampctl", ["program", "assign", "midnight", "all"] + daemon.lampctlOptions)
        #expect(assign.status == 0 && assign.stdout.contains("program midnight revision 2 assigned to all: 4 lamps"), "\(assign.stdout)")
        // Lamps held at a level by a command follow the program after resume, and assign says so.
        #expect(assign.stdout.contains("1 lamp holds a level or override from a command: 'lampctl resume all' makes it follow the program"))
        let list = try ProductRunner.run("lampctl", ["program"] + daemon.lampctlOptions)
        #expect(list.stdout.contains("midnight") && list.stdout.contains("4"))
        let show = try ProductRunner.run("lampctl", ["program", "show", "midnight"] + daemon.lampctlOptions)
        #expect(show.stdout.contains("23:00 30%") && show.stdout.contains("CET-1CEST,M3.5.0,M10.5.0/3"))
        let preview = try ProductRunner.run(
            "lampctl", ["program", "preview", "midnight", "--at", "52.3676,4.9041", "--date", "2026-11-20"] + daemon.lampctlOptions)
        // Sunset 16:41:17 and sunrise 08:11:52 local (PyEphem).
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.contains("16:31     switch on at 100%") && preview.stdout.contains("16:41     sunset"), "\(preview.stdout)")
        #expect(preview.stdout.contains("23:00     dim to 30%") && preview.stdout.contains("08:12 +1  sunrise"))
        #expect(preview.stdout.contains("08:22 +1  switch off"))
        let unknown = try ProductRunner.run("lampctl", ["program", "assign", "nightly", "all"] + daemon.lampctlOptions)
        #expect(unknown.status == 4)
        let used = try ProductRunner.run("lampctl", ["program", "delete", "midnight"] + daemon.lampctlOptions)
        #expect(used.status == 5 && used.stderr.contains("assigned to 4 lamps"))
    }

    @Test("program forecast in a time zone: clock times are local, so the nights DST shortens and lengthens show; an unknown zone is a clear error")
    func forecastTimeZone() async throws {
        let daemon = try Daemon(lamps: 1)
        daemon.runArguments = ["--timezone", "UTC", "--latitude", "52.3676", "--longitude", "4.9041"]
        try await daemon.start()
        let file = daemon.directory.appendingPathComponent("fixed.prog").path
        try "18:00 100%\n06:00 off\n".write(toFile: file, atomically: true, encoding: .utf8)
        let set = try ProductRunner.run("lampctl", ["program", "set", "fixed", file] + daemon.lampctlOptions)
        #expect(set.status == 0, "\(set.stdout) \(set.stderr)")
        func forecast(_ extra: [String]) throws -> ProgramForecast {
            let run = try ProductRunner.run(
                "lampctl", ["program", "forecast", "fixed", "--year", "2027", "--wattage", "100", "--json"] + extra + daemon.lampctlOptions)
            #expect(run.status == 0, "\(run.stderr)")
            return try APICoding.decoder().decode(ProgramForecast.self, from: Data(run.stdout.utf8))
        }
        // The daemon's zone (UTC): every night 12 h.
        let utc = try forecast([])
        #expect(utc.timeZone == "UTC0" && utc.months[2].litHours == 372 && utc.months[9].litHours == 372)
        // Amsterdam: the night into 28 March 2027 loses an hour, the night into 31 October gains one.
        let amsterdam = try forecast(["--tz", "Europe/Amsterdam"])
        #expect(amsterdam.timeZone == "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(amsterdam.months[2].litHours == 371 && amsterdam.months[9].litHours == 373, "\(amsterdam.months)")
        #expect(amsterdam.total.litHours == 365 * 12)
        // A table says which zone it is in.
        let table = try ProductRunner.run("lampctl", ["program", "forecast", "fixed", "--year", "2027", "--wattage", "100", "--tz", "Europe/Amsterdam"] + daemon.lampctlOptions)
        #expect(table.status == 0 && table.stdout.contains("CET-1CEST"), "\(table.stdout)")
        for bad in ["Mars/Olympus", "../../../etc/passwd", String(repeating: "A", count: 101)] {
            let refused = try ProductRunner.run("lampctl", ["program", "forecast", "fixed", "--year", "2027", "--wattage", "100", "--tz", bad] + daemon.lampctlOptions)
            #expect(refused.status != 0 && refused.stderr.contains("timezone"), "\(bad): \(refused.stdout) \(refused.stderr)")
        }
        let (status, _): (Int, ProgramForecast?) = try await daemon.request("GET", "/programs/fixed/forecast?wattage=1&timezone=Nowhere/Special")
        #expect(status == 400)
    }
}
