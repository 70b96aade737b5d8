import ArgumentParser

/// The operator command line's entry point.
@main
struct Lampctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampctl",
        abstract: "Operate a Lamplighter street-lamp fleet from the command line.")
}
