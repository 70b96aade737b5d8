import ArgumentParser
import CommandLineSupport
import OperatorAPI

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

            Exit codes: 0 done (every online lamp applied it; offline lamps get it when they \
            reconnect); 1 a lamp refused it, or an online lamp did not answer within --wait; \
            2 with --wait-all, lamps still pending at --wait; 3 lamplighterd unreachable (or \
            the event stream ended); 4 unknown lamp, group, command or token; 5 refused \
            (conflict, or the stream closed); 6 no token, a bad token, or too small a role; \
            64 invalid command line; 65 the daemon found the input invalid; 130 interrupted.
            """,
        version: LamplighterVersion.current,
        subcommands: [
            Lamps.self, Lamp.self, Dim.self, On.self, Off.self, Resume.self, Identify.self, Reboot.self, FollowCommand.self, Group.self,
            Program.self, Watch.self, Events.self, Energy.self, Audit.self, Incidents.self, Webhooks.self, Token.self,
        ])

    /// Checks the command line for a mistyped subcommand and negative numbers first.
    static func main() async {
        await CommandLineSupport.main(Self.self)
    }
}
