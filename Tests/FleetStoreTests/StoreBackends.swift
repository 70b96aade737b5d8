import FleetCore
import FleetStore
import Foundation
import Logging
import PostgresNIO
import PostgresStore
import Testing

/// The stores the behaviour tests run on. PostgreSQL needs a server: the URL of one (a
/// superuser that may create databases) in LAMPLIGHTER_TEST_POSTGRES_URL; scripts/test.sh
/// starts a private one (scripts/postgres.sh) and always sets it.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    /// The server of the PostgreSQL cases, or nil.
    static let postgresURL = ProcessInfo.processInfo.environment["LAMPLIGHTER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The backends the behaviour tests run on: PostgreSQL only when a server is given (its
    /// absence shows as the skipped "PostgreSQL server" test, not as silence).
    static var tested: [Backend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// A fresh, empty database of one backend for one test: a file for SQLite, a database of its
/// own on the server for PostgreSQL (dropped after the test).
struct TestDatabase: Sendable {
    let backend: Backend
    /// A path or a postgres:// URL: what `lamplighterd --db` takes.
    let location: String

    /// Runs `body` with a fresh database and removes it after, whatever `body` did.
    static func with<Result>(_ backend: Backend, _ body: (TestDatabase) async throws -> Result) async throws -> Result {
        switch backend {
        case .sqlite:
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleetstore-\(UUID().uuidString).db").path
            defer {
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            }
            return try await body(TestDatabase(backend: .sqlite, location: path))
        case .postgres:
            let server = try PostgresLocation(try #require(Backend.postgresURL))
            let name = "lamplighter_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await admin(server) { connection in
                // A name is not a value: it cannot be bound, so it is made of hex digits only.
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            }
            do {
                let result = try await body(TestDatabase(backend: .postgres, location: server.with(database: name).secretURL))
                try await drop(name, on: server)
                return result
            } catch {
                try? await drop(name, on: server)
                throw error
            }
        }
    }

    /// Opens a store on the database (again: a reopening, as after a restart).
    func open() async throws -> any FleetStoring & WebhookStoring {
        switch backend {
        case .sqlite: try FleetStore(path: location)
        case .postgres: try await PostgresStore(url: location, logger: Self.logger)
        }
    }

    /// Quiet: a dropped database's pool may still complain while it closes.
    static let logger: Logger = {
        var logger = Logger(label: "lamp.test.postgres")
        logger.logLevel = .critical
        return logger
    }()

    static func admin(_ server: PostgresLocation, _ body: (PostgresConnection) async throws -> Void) async throws {
        let connection = try await server.connect(logger: logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    static func drop(_ name: String, on server: PostgresLocation) async throws {
        try await admin(server) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }
}

@Suite("Store backends")
struct StoreBackendTests {
    // Skipped (and shown as skipped) when no PostgreSQL server is given: the PostgreSQL cases
    // of every behaviour test are then left out. scripts/test.sh always gives one.
    @Test("PostgreSQL server for the PostgreSQL cases (LAMPLIGHTER_TEST_POSTGRES_URL)", .enabled(if: Backend.postgresURL != nil))
    func postgresServer() async throws {
        try await TestDatabase.with(.postgres) { database in
            let store = try await database.open()
            #expect(try await store.loadAll().isEmpty)
        }
    }
}
