import ArgumentParser
import LampAuth
import LampProtocol

/// `lamplighterd key ...`: the fleet key and lamp keys, for provisioning.
struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the fleet master key or derive one lamp's key (SPEC.md §4.1).",
        subcommands: [Show.self, Lamp.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the fleet master key (creating it if missing).")
        @OptionGroup var storage: StorageOptions

        func run() throws {
            print(try KeyLoading.load(storage, createIfMissing: true).key.hex)
        }
    }

    struct Lamp: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the key to write into one lamp.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The lamp id.") var id: String

        func run() throws {
            guard let lampID = LampID(id) else { throw ValidationError("'\(id)' is not a lamp id (1 to 32 of A-Z a-z 0-9 . _ -)") }
            print(HexBytes.encode(try KeyLoading.load(storage, createIfMissing: false).key.lampKey(for: lampID).bytes))
        }
    }
}
