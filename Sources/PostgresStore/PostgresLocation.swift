import FleetCore
import Foundation
import NIOSSL
import Logging
import PostgresNIO

/// Where a PostgreSQL database is, from a `postgres://` (or `postgresql://`) URL:
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require]`.
///
/// The password is kept for connecting and never shown: ``description`` (what logs and
/// errors print) leaves it out.
public struct PostgresLocation: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The server's host name or address.
    public var host: String
    /// Its port (5432 when the URL names none).
    public var port: Int
    /// The user to log in as.
    public var user: String
    /// The password, if the URL has one; never printed.
    var password: String?
    /// The database (the user's name when the URL names none, as in libpq).
    public var database: String
    /// Whether the connection uses TLS (`sslmode=require`: the server's certificate is
    /// checked against the system's trust store and the host name).
    public var requiresTLS: Bool

    /// The schemes that name a PostgreSQL database.
    public static let schemes = ["postgres", "postgresql"]

    /// Whether `text` is a PostgreSQL URL rather than a file path.
    public static func isURL(_ text: String) -> Bool {
        schemes.contains { text.lowercased().hasPrefix($0 + "://") }
    }

    /// Parses a URL; an error says what is wrong with it without repeating a password.
    public init(_ url: String) throws {
        guard Self.isURL(url), let components = URLComponents(string: url) else {
            throw urlError("is not a postgres://USER@HOST:PORT/DATABASE URL")
        }
        guard let host = components.host, !host.isEmpty else { throw urlError("names no host") }
        guard let user = components.user, !user.isEmpty else { throw urlError("names no user (postgres://USER@\(host)/...)") }
        self.host = host
        self.port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw urlError("has port \(port), not 1 to 65535") }
        self.user = user
        self.password = components.password
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        guard !path.contains("/") else { throw urlError("has a path with more than a database name") }
        self.database = path.isEmpty ? user : path
        self.requiresTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"): requiresTLS = false
            case ("sslmode", "require"): requiresTLS = true
            case ("sslmode", let value):
                throw urlError("has sslmode=\(value ?? ""): Lamplighter takes sslmode=disable (the default) or sslmode=require")
            default:
                throw urlError("has the parameter \(item.name), which Lamplighter does not take (only sslmode)")
            }
        }
    }

    /// The URL without its password: what logs and errors show.
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(user)@\(hostPart):\(port)/\(database)" + (requiresTLS ? "?sslmode=require" : "")
    }

    /// The same: `debugPrint` and `String(reflecting:)` show no password either.
    public var debugDescription: String { description }

    /// `dump` and debuggers see the URL without the password, not the stored fields.
    public var customMirror: Mirror { Mirror(self, children: ["url": description]) }

    /// Whether the URL carried a password (shown as a fact, never as the value).
    public var hasPassword: Bool { password != nil }

    var tls: PostgresClient.Configuration.TLS {
        requiresTLS ? .require(TLSConfiguration.makeClientConfiguration()) : .disable
    }

    /// The pooled client's configuration.
    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(PostgresStore.connectTimeoutSeconds))
        configuration.options.maximumConnections = maximumConnections
        return configuration
    }

    /// One connection's configuration (the check at opening, LISTEN, administration).
    /// `sslmode=require` never falls back to plain text: a TLS context that cannot be made
    /// is an error.
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let connectionTLS: PostgresConnection.Configuration.TLS
        if requiresTLS {
            do {
                connectionTLS = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            } catch {
                throw FleetStoreError("cannot make the TLS context that sslmode=require asks for: \(error)")
            }
        } else {
            connectionTLS = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: connectionTLS)
        configuration.options.connectTimeout = .seconds(Int64(PostgresStore.connectTimeoutSeconds))
        return configuration
    }
}

/// An error about a URL that cannot be read: it never repeats the URL (it may hold a password).
private func urlError(_ problem: String) -> FleetStoreError {
    FleetStoreError("the database URL \(problem)")
}

extension PostgresLocation {
    /// One connection of its own (not from a store's pool): for administration such as
    /// creating a database, and for a later LISTEN.
    public func connect(logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: 0, logger: logger)
    }

    /// This location with another database.
    public func with(database: String) -> PostgresLocation {
        var copy = self
        copy.database = database
        return copy
    }

    /// The URL to connect with, password included: pass it on, never print it.
    public var secretURL: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.password = password
        components.host = host
        components.port = port
        components.path = "/" + database
        if requiresTLS { components.queryItems = [URLQueryItem(name: "sslmode", value: "require")] }
        return components.string ?? description
    }
}
