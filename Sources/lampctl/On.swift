import ArgumentParser
import OperatorAPI

/// `lampctl on TARGET`.
struct On: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Switch on (full light, within each lamp's maximum) and stay on.")

    @OptionGroup var options: ClientOptions
    @OptionGroup var command: TargetOptions

    func run() async throws {
        let request = CommandRequest(target: CommandRun.target(command.target), action: "on", fadeSeconds: command.fade)
        try await CommandRun.run(request, options: options, wait: command.follow)
    }
}
