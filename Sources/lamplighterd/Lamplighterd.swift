import ArgumentParser
import CommandLineSupport
import FleetCore
import Logging
import Foundation
import LampAuth
import OperatorAPI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The controller daemon's entry point.
@main
struct Lamplighterd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamplighterd",
        abstract: "The Lamplighter controller daemon for networked street lamps.",
        discussion: """
            Holds a binary WebSocket link to every lamp (Protocol/SPEC.md), keeps each lamp's \
            desired and reported state durable in SQLite, and serves the operator HTTP API. \
            With no subcommand it runs the controller. Only 'run' creates the database and the \
            fleet key; the other subcommands work on the ones it made.
            """,
        version: LamplighterVersion.current,
        subcommands: [Run.self, Lamps.self, Key.self, Token.self, Config.self],
        defaultSubcommand: Run.self)

    /// Checks the command line for a mistyped subcommand and negative numbers first.
    static func main() async {
        await CommandLineSupport.main(Self.self)
    }
}

/// lamplighterd's exit codes beyond ArgumentParser's (0, 1, 64), from sysexits.h.
enum DaemonExit {
    /// The input is invalid: a lamp, a CSV line (EX_DATAERR, as lampctl's 65).
    static let dataError = ExitCode(65)
    /// The database or key file does not exist (EX_NOINPUT).
    static let noInput = ExitCode(66)
    /// The running daemon holds the database (EX_TEMPFAIL): use the API instead.
    static let busy = ExitCode(75)
    /// A setting is invalid (EX_CONFIG).
    static let badSetting = ExitCode(78)

    /// Prints `message` as `lamplighterd: message` on standard error and returns `code` to throw.
    static func fail(_ message: String, _ code: ExitCode) -> ExitCode {
        FileHandle.standardError.write(Data("lamplighterd: \(message)\n".utf8))
        return code
    }
}

/// The config file option every subcommand shares.
struct ConfigOption: ParsableArguments {
    @Option(help: "Settings file: 'key = value' lines, keys as the flags without '--' (env LAMPLIGHTER_CONFIG).")
    var config: String?

    /// The settings' sources with the flags given; a bad file ends the command with its error.
    func sources(flags: [SettingKey: String?]) throws -> SettingsSources {
        try Self.sources(flags: flags.compactMapValues { $0 }, configFlag: config)
    }

    /// The settings' sources with these flags and config file flag.
    static func sources(flags: [SettingKey: String], configFlag: String?) throws -> SettingsSources {
        do {
            return try SettingsSources(flags: flags, file: SettingsSources.configPath(flag: configFlag))
        } catch let error as SettingsError {
            throw DaemonExit.fail(error.description, DaemonExit.badSetting)
        }
    }
}

/// The database option of the subcommands that work on an existing database.
struct DatabaseOptions: ParsableArguments {
    @OptionGroup var config: ConfigOption

    @Option(
        name: [.customLong("db"), .customLong("database")],
        help: "SQLite database file or postgres:// URL (env LAMPLIGHTER_DB; default lamplighter.db).")
    var database: String?

    /// The database, from the flag, the environment, the config file or the default.
    func location() throws -> DatabaseLocation {
        let sources = try config.sources(flags: [.db: database])
        return try DatabaseLocation(sources.string(.db, default: "lamplighter.db"))
    }

    /// Opens the database, which must exist: only `lamplighterd run` creates a SQLite file
    /// (a PostgreSQL database is made on the server; its tables are made by whoever opens it
    /// first). Says which database on standard error, so a command never silently works on
    /// another.
    func openExisting(announce: Bool = true) async throws -> (store: any FleetStoring & WebhookStoring, location: DatabaseLocation) {
        let location = try location()
        if let path = location.path, !FileManager.default.fileExists(atPath: path) {
            throw DaemonExit.fail(
                "no database at \(path) ('lamplighterd run' creates it on first start; --db, LAMPLIGHTER_DB or the config file's 'db' name another)",
                DaemonExit.noInput)
        }
        if announce {
            FileHandle.standardError.write(Data("lamplighterd: database \(location)\n".utf8))
        }
        var logger = Logger(label: "lamp.store")
        logger.logLevel = .warning
        return (try await location.open(logger: logger), location)
    }
}

/// The fleet key's options, for `run` and `key`.
struct KeyOptions: ParsableArguments {
    @Option(help: "File holding the fleet master key in hex; 'run' creates it on first start (env LAMPLIGHTER_KEY_FILE; default lamplighter.key).")
    var keyFile: String?

    @Option(help: "The fleet master key in hex, instead of the key file (env LAMPLIGHTER_FLEET_KEY).")
    var fleetKey: String?

    /// The fleet key: from `--fleet-key`/`LAMPLIGHTER_FLEET_KEY`/the file's `fleet-key`, else
    /// the key file, created only when `createIfMissing` (by `run`).
    func load(_ sources: SettingsSources, createIfMissing: Bool) throws -> LoadedFleetKey {
        let file = URL(fileURLWithPath: sources.string(.keyFile, default: "lamplighter.key")).path
        do {
            return try FleetKey.load(
                hex: sources.string(.fleetKey), flagName: "--fleet-key / LAMPLIGHTER_FLEET_KEY", file: file,
                createIfMissing: createIfMissing)
        } catch {
            throw DaemonExit.fail(error.description, DaemonExit.noInput)
        }
    }
}

/// An advisory lock on the database file: `run` holds it exclusively for its whole life, so
/// a second daemon on the same database refuses to start and provisioning commands that
/// write lamps refuse while a daemon runs (it would not see their lamps).
///
/// `flock` locks are independent of SQLite's own `fcntl` locks on Linux. The descriptor is
/// never closed: closing any descriptor of a file drops the process's `fcntl` locks on it,
/// SQLite's included; it closes when the process ends.
enum DatabaseLock {
    /// Tries to take the lock; false if another process holds it.
    static func take(_ path: String, exclusive: Bool) throws -> Bool {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DaemonExit.fail("cannot open \(path) to lock it: \(String(cString: strerror(errno)))", ExitCode.failure)
        }
        if flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 { return true }
        close(descriptor)
        return false
    }
}
