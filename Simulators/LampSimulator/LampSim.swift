import ArgumentParser

/// The simulator's entry point.
@main
struct LampSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampsim",
        abstract: "Simulate a fleet of street lamps speaking the Lamplighter protocol.")
}
