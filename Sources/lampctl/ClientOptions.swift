import ArgumentParser
import Foundation
import OperatorClient

/// Where the daemon is, and how to print: shared by every subcommand.
struct ClientOptions: ParsableArguments {
    @Option(help: "lamplighterd's operator API (env LAMPLIGHTER_SERVER).")
    var server: String = ProcessInfo.processInfo.environment["LAMPLIGHTER_SERVER"] ?? "http://127.0.0.1:7380"

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    func validate() throws {
        guard let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--server must look like http://HOST:PORT")
        }
    }

    var client: OperatorClient {
        // validate() checked the URL.
        OperatorClient(server: URL(string: server)!)
    }
}

/// lampctl's exit codes (see `lampctl --help`).
enum Exit {
    static let incomplete = ExitCode(1)
    static let unreachable = ExitCode(3)
    static let notFound = ExitCode(4)
    static let refused = ExitCode(5)

    /// Prints the error and picks its exit code.
    static func fail(_ error: any Error) -> ExitCode {
        printError("lampctl: \(error)")
        switch error as? OperatorClientError {
        case .unreachable: return unreachable
        case .refused(let status, _) where status == 404: return notFound
        case .refused: return refused
        default: return ExitCode.failure
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
