import Foundation

/// The `Idempotency-Key` header of `POST /api/v1/commands` (after the IETF draft
/// "The Idempotency-Key HTTP Header Field"): a client that did not get the answer to a command
/// sends the same request again with the same key and gets the first command's answer
/// (202, the same body, header `Idempotent-Replayed: true`), not a second command. Keys are
/// per token and kept 24 hours; the same key with another request body is refused with 422.
public enum IdempotencyKey {
    /// The request header.
    public static let headerName = "Idempotency-Key"
    /// The answer header on a replayed answer (value `true`).
    public static let replayedHeaderName = "Idempotent-Replayed"
    /// The longest key, in characters.
    public static let maximumLength = 255
    /// The rule a key must follow, as the 400 answer states it.
    public static let rule = "must be 1 to 255 printable ASCII characters without spaces"

    /// Whether `key` is 1 to 255 printable ASCII characters (0x21 to 0x7E).
    public static func isValid(_ key: String) -> Bool {
        let bytes = key.utf8
        return (1...maximumLength).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7e).contains($0) }
    }

    /// A fresh random key (a UUID), as lampctl sends.
    public static func random() -> String {
        UUID().uuidString.lowercased()
    }
}

/// An operator command: what to do, to which lamps (`POST /api/v1/commands`).
public struct CommandRequest: Codable, Sendable, Equatable {
    /// `lamp:ID`, `group:NAME` or `all`.
    public var target: String
    /// `level`, `on`, `off`, `override`, `resume` (desired state: lamps offline now get it
    /// when they return), `identify` or `reboot` (sent once, to the lamps online now).
    public var action: String
    /// Percent, 0 to 100 in steps of 0.1: for `level` and `override`.
    public var level: Double?
    /// Seconds, 0 to 25.5 in steps of 0.1. Default 0 (at once).
    public var fadeSeconds: Double?
    /// Seconds: for `override` 1 to 2,592,000 (required); for `identify` 1 to 600 (default 10).
    public var durationSeconds: Int?

    /// A command request.
    public init(target: String, action: String, level: Double? = nil, fadeSeconds: Double? = nil, durationSeconds: Int? = nil) {
        self.target = target
        self.action = action
        self.level = level
        self.fadeSeconds = fadeSeconds
        self.durationSeconds = durationSeconds
    }
}

/// The answer to an accepted command: it is durable, and being sent.
public struct CommandAccepted: Codable, Sendable, Equatable {
    /// The command's id, for reading its progress.
    public var id: Int64
    /// The target as given.
    public var target: String
    /// How many lamps it addresses.
    public var lamps: Int

    /// An accepted command.
    public init(id: Int64, target: String, lamps: Int) {
        self.id = id
        self.target = target
        self.lamps = lamps
    }
}

/// How far a command has got (`GET /api/v1/commands/ID`).
public struct CommandProgress: Codable, Sendable, Equatable {
    /// The command's id.
    public var id: Int64
    /// The target as given.
    public var target: String
    /// What it does.
    public var action: String
    /// When it was accepted.
    public var createdAt: Date
    /// Lamps addressed.
    public var total: Int
    /// Lamps that applied it (or something newer).
    public var applied: Int
    /// Lamps that refused it.
    public var failed: Int
    /// Lamps not yet there (`total - applied - failed`).
    public var pending: Int
    /// Of the pending ones, how many are offline now.
    public var offline: Int
    /// Up to 100 lamps that refused it.
    public var failedLamps: [String]
    /// Time from acceptance to each lamp's acknowledgement, over the lamps that applied this
    /// very command (not a later one) during this run of the daemon; nil when none has.
    public var appliedLatency: LatencySummary?

    /// A progress report.
    public init(
        id: Int64, target: String, action: String, createdAt: Date, total: Int, applied: Int, failed: Int, pending: Int,
        offline: Int, failedLamps: [String], appliedLatency: LatencySummary?
    ) {
        self.id = id
        self.target = target
        self.action = action
        self.createdAt = createdAt
        self.total = total
        self.applied = applied
        self.failed = failed
        self.pending = pending
        self.offline = offline
        self.failedLamps = failedLamps
        self.appliedLatency = appliedLatency
    }
}

/// Percentiles of a set of latencies, milliseconds.
public struct LatencySummary: Codable, Sendable, Equatable {
    /// How many latencies.
    public var count: Int
    /// Half were at most this.
    public var p50: Double
    /// 99 % were at most this.
    public var p99: Double
    /// The largest.
    public var max: Double

    /// A summary of `milliseconds`; nil when empty. Percentiles are nearest-rank.
    public init?(milliseconds: [UInt64]) {
        guard !milliseconds.isEmpty else { return nil }
        let sorted = milliseconds.sorted()
        func rank(_ fraction: Double) -> Double {
            Double(sorted[Swift.max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1)])
        }
        count = sorted.count
        p50 = rank(0.5)
        p99 = rank(0.99)
        max = Double(sorted[sorted.count - 1])
    }
}
