import ArgumentParser
import Foundation

/// `lamplighterd config`: the settings `run` would use with these flags, each with where it
/// came from; a bad value is the error `run` would give.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the settings 'run' would use, and where each comes from (flag, environment, config file, default).",
        discussion: """
            Takes every flag of 'run'. Precedence: flag, then LAMPLIGHTER_<FLAG>, then the \
            --config file ('key = value' lines), then the default. Exits 78 naming the key \
            when a value is invalid, so 'lamplighterd config --config FILE' checks a file \
            before a restart or a SIGHUP.
            """)

    @OptionGroup var options: RunOptions

    func run() throws {
        let (_, sources) = try options.settings()
        let given = Dictionary(uniqueKeysWithValues: sources.effective().map { ($0.key, ($0.value, $0.source)) })
        var rows = [["KEY", "VALUE", "FROM", "SIGHUP"]]
        for key in SettingKey.allCases {
            let (value, source) = given[key] ?? (Self.defaults[key] ?? "-", "default")
            rows.append([key.rawValue, value, source, key.reloadable ? "reloads" : "restart"])
        }
        let widths = (0..<4).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces))
        }
    }

    /// The defaults, as `run --help` states them.
    static let defaults: [SettingKey: String] = [
        .db: "lamplighter.db", .keyFile: "lamplighter.key", .lampHost: "0.0.0.0", .lampPort: "7350", .apiHost: "127.0.0.1",
        .apiPort: "7380", .reportInterval: "60", .pingInterval: "20", .requestTimeout: "10", .maxPendingHandshakes: "2048",
        .maxLinks: "(the open-file limit less 64)",
        .adminTokenFile: "lamplighter.admin-token", .streamBuffer: "4096", .timezone: "(the system's)", .programCheckInterval: "60",
        .logLevel: "info", .logFormat: "text", .handshakeFailures: "20", .handshakeBackoff: "10", .eventRetention: "90",
        .auditRetention: "365", .energyRetention: "400", .corsOrigin: "(no CORS headers)", .mapTiles: "(none)",
        .tlsCertificate: "(none: plain ws:// and http://)", .tlsKey: "(none)", .lampTLSClientCA: "(none: no client certificates)",
        .lampMinimumMinor: "0", .faultMinWatts: "1", .faultPowerTolerance: "25", .faultMaxSwitches: "10", .faultDarkAfter: "900", .faultHold: "60",
        .cabinetDarkShare: "0.8",
    ]
}
