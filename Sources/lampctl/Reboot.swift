import ArgumentParser
import OperatorAPI

/// `lampctl reboot TARGET`.
struct Reboot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restart lamps' controllers (the light holds its level where the hardware allows).",
        discussion: """
            Sent once, to the lamps online now. Each lamp acknowledges, closes its link and \
            reconnects after restarting. Rebooting all needs --yes.
            """)

    @OptionGroup var options: ClientOptions
    @Argument(help: "all, group:NAME, lamp:ID or a lamp ID.") var target: String
    @Flag(help: "Confirm rebooting every lamp (target all).") var yes = false
    @OptionGroup var follow: FollowOptions

    func validate() throws {
        if target == "all" && !yes { throw ValidationError("rebooting every lamp needs --yes") }
    }

    func run() async throws {
        try await CommandRun.run(CommandRequest(target: CommandRun.target(target), action: "reboot"), options: options, wait: follow)
    }
}
