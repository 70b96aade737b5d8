import ArgumentParser

/// The controller daemon's entry point.
@main
struct Lamplighterd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lamplighterd",
        abstract: "The Lamplighter controller daemon for networked street lamps.",
        discussion: """
            Holds a binary WebSocket link to every lamp (protocol: Protocol/SPEC.md), keeps each \
            lamp's desired and reported state durable, and serves the operator API.
            """)

    func run() async throws {
        throw ValidationError("the controller is not built yet: see the open issues")
    }
}
