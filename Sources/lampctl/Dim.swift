import ArgumentParser
import OperatorAPI

/// `lampctl dim TARGET LEVEL [--fade S] [--for DURATION]`.
struct Dim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set the light level of a lamp, a group or the fleet.",
        discussion: """
            Without --for the level holds until the next command (manual mode). With --for it \
            is an override: the lamps return to their program by themselves when it ends, also \
            without a link to the controller.
            """)

    @OptionGroup var options: ClientOptions
    @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String
    @Argument(help: "Percent, 0 to 100 in steps of 0.1.") var level: Double
    @Option(help: "Fade time in seconds, 0 to 25.5.") var fade: Double = 0
    @Option(name: .customLong("for"), help: "Override for this long, e.g. 90s, 30m, 2h, 1h30m.") var duration: String?
    @OptionGroup var follow: FollowOptions

    func validate() throws {
        guard (0...100).contains(level) else { throw ValidationError("LEVEL must be from 0 to 100 percent (got \(level))") }
        guard (0...25.5).contains(fade) else { throw ValidationError("--fade must be from 0 to 25.5 seconds") }
        if let duration, CommandRun.seconds(duration) == nil {
            throw ValidationError("--for '\(duration)' is not a duration (e.g. 90s, 30m, 2h, 1h30m)")
        }
    }

    func run() async throws {
        let request = CommandRequest(
            target: CommandRun.target(target), action: duration == nil ? "level" : "override", level: level, fadeSeconds: fade,
            durationSeconds: duration.flatMap(CommandRun.seconds))
        try await CommandRun.run(request, options: options, wait: follow)
    }
}
