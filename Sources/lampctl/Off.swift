import ArgumentParser
import OperatorAPI

/// `lampctl off TARGET`.
struct Off: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Switch off and stay off.")

    @OptionGroup var options: ClientOptions
    @OptionGroup var command: TargetOptions

    func run() async throws {
        let request = CommandRequest(target: CommandRun.target(command.target), action: "off", fadeSeconds: command.fade)
        try await CommandRun.run(request, options: options, wait: command.follow)
    }
}
