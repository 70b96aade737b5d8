import ArgumentParser

/// The controller daemon's entry point.
@main
struct Lamplighterd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamplighterd",
        abstract: "The Lamplighter controller daemon for networked street lamps.",
        discussion: """
            Holds a binary WebSocket link to every lamp (Protocol/SPEC.md), keeps each lamp's \
            desired and reported state durable in SQLite, and serves the operator HTTP API. \
            With no subcommand it runs the controller.
            """,
        subcommands: [Run.self, Lamps.self, Key.self, Token.self],
        defaultSubcommand: Run.self)
}

/// Options every subcommand that touches the database or key shares.
struct StorageOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite database file (env LAMPLIGHTER_DB).")
    var database: String = Environment.get("LAMPLIGHTER_DB") ?? "lamplighter.db"

    @Option(help: "File holding the fleet master key in hex; created on first start (env LAMPLIGHTER_KEY_FILE).")
    var keyFile: String = Environment.get("LAMPLIGHTER_KEY_FILE") ?? "lamplighter.key"

    @Option(help: "The fleet master key in hex, instead of the key file (env LAMPLIGHTER_FLEET_KEY).")
    var fleetKey: String? = Environment.get("LAMPLIGHTER_FLEET_KEY")
}
