import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl group ...`: groups of lamps, the targets of `group:NAME`.
struct Group: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, create and delete groups; add and remove lamps.",
        subcommands: [List.self, Show.self, Create.self, Delete.self, Add.self, Remove.self],
        defaultSubcommand: List.self)

    static func printGroups(_ groups: [GroupView], options: ClientOptions) throws {
        if options.json { return try options.printJSON(groups) }
        print(Table.render([["GROUP", "LAMPS", "DESCRIPTION"]] + groups.map { [$0.name, "\($0.lamps)", $0.description ?? ""] }))
    }

    static func change(_ name: String, _ change: GroupMembersChange, options: ClientOptions) async throws {
        let client = options.client
        let group = try await Exit.call { try await client.changeMembers(of: name, change) }
        if options.json { return try options.printJSON(group) }
        print("group \(group.name) has \(group.lamps) lamps")
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every group and its size.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = options.client
            try Group.printGroups(try await Exit.call { try await client.groups() }, options: options)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One group and its lamps.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The group's name.") var name: String

        func run() async throws {
            let client = options.client
            let group = try await Exit.call { try await client.group(name) }
            let lamps = try await Exit.call { try await client.lamps(group: name, limit: 10_000) }
            if options.json { return try options.printJSON(lamps) }
            try Group.printGroups([group], options: options)
            print("")
            print(Table.render([["LAMP", "ONLINE", "DESIRED"]] + lamps.lamps.map { [$0.id, $0.online ? "yes" : "no", Table.desired($0.desired)] }))
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty group.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "1 to 64 characters of A-Z a-z 0-9 . _ -") var name: String
        @Option(help: "What the group is, for people.") var description: String?

        func run() async throws {
            let client = options.client
            let created = try await Exit.call { try await client.createGroup(GroupCreate(name: name, description: description)) }
            if options.json { return try options.printJSON(created) }
            print("created group \(created.name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group; its lamps stay registered.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The group's name.") var name: String

        func run() async throws {
            let client = options.client
            try await Exit.call { try await client.deleteGroup(name) }
            if options.json { return try options.printJSON(Deleted(kind: "group", name: name)) }
            print("deleted group \(name)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add lamps to a group (all or none).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The group's name.") var name: String
        @Argument(help: "Lamp ids.") var lamps: [String]

        func run() async throws {
            try await Group.change(name, GroupMembersChange(add: lamps), options: options)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove lamps from a group (all or none).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The group's name.") var name: String
        @Argument(help: "Lamp ids.") var lamps: [String]

        func run() async throws {
            try await Group.change(name, GroupMembersChange(remove: lamps), options: options)
        }
    }
}
