import ArgumentParser
import OperatorAPI

/// `lampctl identify TARGET [--for SECONDS]`.
struct Identify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Blink lamps so a crew can find them.",
        discussion: """
            Sent once, to the lamps online now: a lamp that is offline does not get it later, \
            and is counted as not sent (never as refused).
            """)

    @OptionGroup var options: ClientOptions
    @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String
    @Option(name: .customLong("for"), help: "Seconds to blink, 1 to 600.") var seconds: Int = 10
    @OptionGroup var follow: FollowOptions

    func validate() throws {
        guard (1...600).contains(seconds) else { throw ValidationError("--for must be from 1 to 600 seconds") }
    }

    func run() async throws {
        let request = CommandRequest(target: CommandRun.target(target), action: "identify", durationSeconds: seconds)
        try await CommandRun.run(request, options: options, wait: follow)
    }
}
