import ArgumentParser
import OperatorAPI

/// `lampctl resume TARGET`.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Return to the lighting program (ends any manual level or override).")

    @OptionGroup var options: ClientOptions
    @OptionGroup var command: TargetOptions

    func run() async throws {
        let request = CommandRequest(target: CommandRun.target(command.target), action: "resume", fadeSeconds: command.fade)
        try await CommandRun.run(request, options: options, wait: command.follow)
    }
}
