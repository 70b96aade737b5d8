import ArgumentParser

/// The operator command line's entry point.
@main
struct Lampctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lampctl",
        abstract: "Operate a Lamplighter street-lamp fleet from the command line.",
        discussion: """
            Talks to lamplighterd's operator API. Server and token come from --server and \
            --token, else LAMPLIGHTER_SERVER and LAMPLIGHTER_TOKEN, else the config file \
            (~/.config/lampctl/config or LAMPCTL_CONFIG; lines 'server = URL' and \
            'token = TOKEN'). The server defaults to http://127.0.0.1:7380. Tables for people, \
            --json for scripts.

            TARGET is all, group:NAME, lamp:ID, or a lamp ID.

            Exit codes: 0 done; 1 a command did not reach every lamp (failed, or still pending \
            at --wait); 3 lamplighterd unreachable; 4 unknown lamp, group, command or token; \
            5 refused (conflict, or the stream closed); 6 no token, a bad token, or too small a \
            role; 64 invalid command line; 65 the daemon found the input invalid.
            """,
        subcommands: [
            Lamps.self, Lamp.self, Dim.self, On.self, Off.self, Resume.self, Identify.self, Reboot.self, Group.self, Program.self,
            Watch.self, Events.self, Audit.self, Token.self,
        ])
}
