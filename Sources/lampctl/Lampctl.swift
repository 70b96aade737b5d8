import ArgumentParser

/// The operator command line's entry point.
@main
struct Lampctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampctl",
        abstract: "Operate a Lamplighter street-lamp fleet from the command line.",
        discussion: """
            Talks to lamplighterd's operator API (--server or LAMPLIGHTER_SERVER, default \
            http://127.0.0.1:7380). Tables for people, --json for scripts.

            TARGET is all, group:NAME, lamp:ID, or a lamp ID.

            Exit codes: 0 done; 1 a command did not reach every lamp (failed, or still pending \
            at --wait); 3 lamplighterd unreachable; 4 unknown lamp, group or command; 5 the \
            daemon refused the request as invalid; 64 invalid command line.
            """,
        subcommands: [Lamps.self, Lamp.self, Dim.self, On.self, Off.self, Resume.self, Events.self])
}
