import ArgumentParser
import Foundation
import LampAuth
import LampProtocol

/// `lamplighterd key ...`: the fleet key and lamp keys, for provisioning. Never creates a
/// key: only `run` does, on first start.
struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the fleet master key or derive one lamp's key (SPEC.md §4.1).",
        subcommands: [Show.self, Lamp.self])

    /// The key options with the config file.
    struct Options: ParsableArguments {
        @OptionGroup var config: ConfigOption
        @OptionGroup var key: KeyOptions

        /// The existing fleet key; says where it came from on standard error.
        func load() throws -> FleetKey {
            let sources = try config.sources(flags: [.keyFile: key.keyFile, .fleetKey: key.fleetKey])
            let loaded = try key.load(sources, createIfMissing: false)
            FileHandle.standardError.write(Data("lamplighterd: fleet key from \(loaded.source)\n".utf8))
            return loaded.key
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the fleet master key ('run' creates it on first start).")
        @OptionGroup var options: Options

        func run() throws {
            print(try options.load().hex)
        }
    }

    struct Lamp: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the key to write into one lamp.")
        @OptionGroup var options: Options
        @Argument(help: "The lamp id.") var id: String

        func run() throws {
            guard let lampID = LampID(id) else { throw ValidationError("'\(id)' is not a lamp id (1 to 32 of A-Z a-z 0-9 . _ -)") }
            print(HexBytes.encode(try options.load().lampKey(for: lampID).bytes))
        }
    }
}
