import ArgumentParser
import OperatorAPI

/// `lampctl command ID`: follow a command sent earlier (e.g. after Ctrl-C, or by someone else).
struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command",
        abstract: "Follow a command sent earlier: live progress, then the summary.",
        discussion: "The same wait and exit codes as the command itself; --wait 0 prints where it stands now.")

    @OptionGroup var options: ClientOptions
    @Argument(help: "The command's id, as 'command ID: ...' printed it.") var id: Int64
    @OptionGroup var follow: FollowOptions

    func run() async throws {
        try await CommandRun.follow(id, options: options, wait: follow)
    }
}
