import LampProtocol

/// The limits of several controllers on one database (docs/cluster.md), named once.
public enum ClusterLimits {
    /// The largest notification payload sent, in bytes (PostgreSQL refuses 8,000 and more).
    public static let maximumPayloadBytes = 7_999
    /// How often an instance reads the recent commands to repair a missed notification.
    public static let catchUpInterval: Duration = .seconds(2)
    /// How far back the catch-up reads commands, in milliseconds.
    public static let catchUpWindowMilliseconds: UInt64 = 60_000
    /// How long acks of this instance's lamps are gathered before they are relayed.
    public static let ackRelayInterval: Duration = .milliseconds(20)
    /// The most acks waiting to be relayed; more are dropped (counted, and the command's
    /// progress on the other instances then lags until the lamp's next answer).
    public static let maximumPendingAcks = 200_000
    /// How often an instance renews its heartbeat and the leases of the lamps it holds.
    public static let heartbeatInterval: Duration = .seconds(5)
    /// How long a lamp's ownership (and an instance's heartbeat) holds without renewal, in
    /// milliseconds: three heartbeats.
    public static let leaseMilliseconds: UInt64 = 15_000
    /// The longest a command waits for the database (its version and its write) before it
    /// is refused with 503; a write cut off this way is not confirmed (it may still commit,
    /// and is then applied by every controller's catch-up).
    public static let commandWriteTimeout: Duration = .seconds(5)
    /// The first and the longest wait before listening again after the connection was lost.
    public static let relistenBackoff: (first: Duration, longest: Duration) = (.milliseconds(200), .seconds(5))
}

/// What one controller tells the others on the database's notification channel: small, so
/// that it says where to read a change, never the change itself for a whole fleet.
public enum ClusterNotice: Sendable, Hashable {
    /// A command was committed by `instance`: read it by its id.
    case command(instance: String, id: Int64)
    /// Lamps linked to `instance` applied these control versions.
    case applied(instance: String, [LampApplied])
    /// These lamps linked to `instance`: any other instance holding a link of one closes it
    /// (4000, a duplicate identity).
    case owned(instance: String, [LampID])

    /// One lamp's applied control version.
    public struct LampApplied: Sendable, Hashable {
        /// The lamp.
        public var lamp: LampID
        /// The control version it applied.
        public var version: UInt32

        /// An applied version.
        public init(lamp: LampID, version: UInt32) {
            self.lamp = lamp
            self.version = version
        }
    }

    /// The instance that sent it.
    public var instance: String {
        switch self {
        case .command(let instance, _), .applied(let instance, _), .owned(let instance, _): instance
        }
    }

    /// Whether `text` can name an instance: 1 to 64 of the bytes a lamp id may hold.
    public static func isInstanceName(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count) && text.utf8.allSatisfy(LampID.isAllowed)
    }

    /// The payloads that carry this notice, each at most `limit` bytes: a command is one;
    /// applied versions are split across as many as needed (an empty list is none).
    public func payloads(limit: Int = ClusterLimits.maximumPayloadBytes) -> [String] {
        switch self {
        case .command(let instance, let id):
            return ["c \(instance) \(id)"]
        case .applied(let instance, let lamps):
            return Self.split(head: "a \(instance) ", lamps.map { "\($0.lamp.value)=\($0.version)" }, limit: limit)
        case .owned(let instance, let lamps):
            return Self.split(head: "o \(instance) ", lamps.map(\.value), limit: limit)
        }
    }

    /// `items` joined by commas after `head`, in as many payloads of at most `limit` bytes
    /// as needed (an item too long for any goes alone); none for no items.
    static func split(head: String, _ items: [String], limit: Int) -> [String] {
            var payloads: [String] = []
            var current = head
            for item in items {
                let separator = current.utf8.count == head.utf8.count ? "" : ","
                if current.utf8.count + separator.utf8.count + item.utf8.count > limit, current.utf8.count > head.utf8.count {
                    payloads.append(current)
                    current = head + item
                } else {
                    current += separator + item
                }
            }
            if current.utf8.count > head.utf8.count { payloads.append(current) }
            return payloads
    }

    /// Reads a payload; nil for anything that is not exactly a notice (a foreign or damaged
    /// payload is ignored by the caller, and the catch-up repairs what it may have meant).
    public init?(payload: String) {
        guard payload.utf8.count <= ClusterLimits.maximumPayloadBytes else { return nil }
        let parts = payload.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, Self.isInstanceName(String(parts[1])) else { return nil }
        let instance = String(parts[1])
        switch parts[0] {
        case "c":
            guard let id = Int64(parts[2]), id > 0 else { return nil }
            self = .command(instance: instance, id: id)
        case "a":
            var lamps: [LampApplied] = []
            for item in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                let pair = item.split(separator: "=", omittingEmptySubsequences: false)
                guard pair.count == 2, let lamp = LampID(String(pair[0])), let version = UInt32(pair[1]), version > 0 else { return nil }
                lamps.append(LampApplied(lamp: lamp, version: version))
            }
            self = .applied(instance: instance, lamps)
        case "o":
            var lamps: [LampID] = []
            for item in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard let lamp = LampID(String(item)) else { return nil }
                lamps.append(lamp)
            }
            self = .owned(instance: instance, lamps)
        default:
            return nil
        }
    }
}

/// A store that several controllers share (PostgreSQL): one version counter for all of
/// them, and a notification channel. FleetStore (SQLite) does not conform: with it, a
/// controller runs alone and does none of this.
public protocol ClusterStoring: Sendable {
    /// Takes the next control version from the counter every controller shares, above
    /// `floor` (the counter moves past it first: a lamp reported that version).
    func allocateControlVersion(above floor: UInt32) async throws -> UInt32
    /// Sends a notice to every controller listening (this one too).
    func announce(_ notice: ClusterNotice) async throws
    /// Listens on the channel until `body` returns or the connection is lost (thrown);
    /// `listening` runs once the server has confirmed the LISTEN.
    func listen(listening: @Sendable () async -> Void, _ body: @Sendable (ClusterNotice) async -> Void) async throws
    /// The commands created at or after `since` (Unix ms), oldest first.
    func commands(createdSince since: UInt64) async throws -> [CommandRecord]
    /// Records that `instance` holds these lamps' links until `leaseUntil` (Unix ms),
    /// taking them from whichever instance held them.
    func claimLamps(_ lamps: [LampID], instance: String, leaseUntil: UInt64) async throws
    /// Gives up these lamps, where `instance` still holds them.
    func releaseLamps(_ lamps: [LampID], instance: String) async throws
    /// The instance's heartbeat: renews its row and its lamps' leases to `leaseUntil`, and
    /// removes the instances and ownerships whose lease ran out before `now`; returns how
    /// many ownerships were removed.
    func heartbeat(instance: String, startedAt: UInt64, now: UInt64, leaseUntil: UInt64) async throws -> Int
    /// Which instance holds each of these lamps now (a lamp no one holds is left out).
    func owners(_ lamps: [LampID]) async throws -> [LampID: String]
}

extension ClusterStoring {
    /// Takes the next control version from the counter every controller shares.
    public func allocateControlVersion() async throws -> UInt32 { try await allocateControlVersion(above: 0) }
}
