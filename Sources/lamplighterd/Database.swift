import ArgumentParser
import FleetCore
import FleetStore
import Foundation
import Logging
import PostgresStore

/// Where the store is: `--db`/`--database`, LAMPLIGHTER_DB or the config file's `db`. A
/// `postgres://` or `postgresql://` URL is a PostgreSQL database (issue 14); anything else
/// is a SQLite file's path.
enum DatabaseLocation: Equatable, CustomStringConvertible {
    /// A SQLite file (absolute path).
    case sqlite(path: String)
    /// A PostgreSQL database: the URL to connect with (it may hold a password) and what is
    /// shown of it (never the password).
    case postgres(url: String, shown: String)

    /// The location `value` names; a PostgreSQL URL that cannot be read is a bad setting.
    init(_ value: String) throws {
        guard PostgresLocation.isURL(value) else {
            self = .sqlite(path: URL(fileURLWithPath: value).path)
            return
        }
        do {
            self = .postgres(url: value, shown: try PostgresLocation(value).description)
        } catch {
            throw DaemonExit.fail("db: \(error)", DaemonExit.badSetting)
        }
    }

    /// What logs, messages and `lamplighterd config` show: the path, or the URL without its password.
    var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(_, let shown): shown
        }
    }

    /// A setting's value as shown: a PostgreSQL URL without its password.
    static func shown(_ value: String) -> String {
        guard PostgresLocation.isURL(value) else { return value }
        return (try? PostgresLocation(value).description) ?? "(a postgres:// URL that cannot be read)"
    }

    /// The SQLite file, if it is one.
    var path: String? {
        if case .sqlite(let path) = self { return path }
        return nil
    }

    /// Opens the store (creating or migrating its schema); a failure is a message naming the
    /// database (never a password) and exit 1.
    func open(logger: Logger) async throws -> any FleetStoring & WebhookStoring {
        do {
            switch self {
            case .sqlite(let path): return try FleetStore(path: path)
            case .postgres(let url, _): return try await PostgresStore(url: url, logger: logger)
            }
        } catch let error as FleetStoreError where !(error.description.hasPrefix("cannot open")) {
            throw DaemonExit.fail("cannot open the database \(self): \(error)", ExitCode.failure)
        } catch let error as FleetStoreError {
            throw DaemonExit.fail(error.description, ExitCode.failure)
        } catch {
            throw DaemonExit.fail("cannot open the database \(self): \(error)", ExitCode.failure)
        }
    }
}
