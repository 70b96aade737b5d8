import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// Where the daemon is, who is calling, and how to print: shared by every subcommand.
///
/// Server and token come from the flag, else the environment, else the config file, else
/// the default (server only).
struct ClientOptions: ParsableArguments {
    @Option(help: "lamplighterd's operator API (env LAMPLIGHTER_SERVER; config 'server'; default http://127.0.0.1:7380).")
    var server: String?

    @Option(help: "API token (env LAMPLIGHTER_TOKEN; config 'token').")
    var token: String?

    @Option(help: "CA certificate (PEM) that signed an https:// server's certificate, instead of the system's CAs (env LAMPCTL_CA_FILE; config 'ca-file').")
    var caFile: String?

    @Option(help: "Config file (env LAMPCTL_CONFIG; default ~/.config/lampctl/config).")
    var config: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    mutating func validate() throws {
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let file = try ConfigFile.load(explicit: config ?? environment["LAMPCTL_CONFIG"])
        server = server ?? environment["LAMPLIGHTER_SERVER"] ?? file["server"] ?? "http://127.0.0.1:7380"
        token = token ?? environment["LAMPLIGHTER_TOKEN"] ?? file["token"]
        caFile = caFile ?? environment["LAMPCTL_CA_FILE"] ?? file["ca-file"]
        guard let server, let url = URL(string: server), url.scheme == "http" || url.scheme == "https", url.host != nil else {
            throw ValidationError("--server must look like http://HOST:PORT or https://HOST:PORT")
        }
        if let caFile, url.scheme != "https" {
            throw ValidationError("--ca-file \(caFile) is for an https:// server; \(server) is plain http://")
        }
    }

    var serverURL: URL {
        // validate() set and checked it.
        URL(string: server ?? "") ?? URL(fileURLWithPath: "/")
    }

    var client: OperatorClient {
        OperatorClient(server: serverURL, token: token, caFile: caFile)
    }

    /// Prints `value` as JSON.
    func printJSON(_ value: some Encodable) throws {
        print(String(decoding: try APICoding.encoder().encode(value), as: UTF8.self))
    }
}

/// lampctl's config file: `key = value` lines, `#` comments. Keys: `server`, `token`, `ca-file`.
enum ConfigFile {
    static let keys: Set<String> = ["server", "token", "ca-file"]

    /// The settings of `explicit` (which must exist), or of ~/.config/lampctl/config if it
    /// exists; empty otherwise.
    static func load(explicit: String?) throws -> [String: String] {
        let path: String
        if let explicit {
            path = explicit
        } else {
            let base =
                ProcessInfo.processInfo.environment["XDG_CONFIG_HOME"]
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config").path
            path = base + "/lampctl/config"
            guard FileManager.default.fileExists(atPath: path) else { return [:] }
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read the config file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> [String: String] {
        var settings: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ValidationError("\(path):\(index + 1): expected 'key = value'")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            guard keys.contains(key) else {
                throw ValidationError("\(path):\(index + 1): unknown key '\(key)' (known: server, token, ca-file)")
            }
            guard !value.isEmpty else { throw ValidationError("\(path):\(index + 1): \(key) has no value") }
            settings[key] = value
        }
        return settings
    }
}

/// lampctl's exit codes (see `lampctl --help`).
enum Exit {
    static let incomplete = ExitCode(1)
    static let unreachable = ExitCode(3)
    static let notFound = ExitCode(4)
    static let refused = ExitCode(5)
    static let accessDenied = ExitCode(6)
    static let invalidInput = ExitCode(65)

    /// Prints the error and picks its exit code.
    static func fail(_ error: any Error) -> ExitCode {
        printError("lampctl: \(error)")
        switch error as? OperatorClientError {
        case .unreachable, .notTheAPI: return unreachable
        case .noToken: return accessDenied
        case .refused(let status, _) where status == 401 || status == 403: return accessDenied
        case .refused(let status, _) where status == 404: return notFound
        case .refused(let status, _) where status == 400: return invalidInput
        case .refused: return refused
        default: return ExitCode.failure
        }
    }

    /// Runs an API call, turning its failure into the right exit code.
    static func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw fail(error)
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
