import LampProtocol

/// The limits of several controllers on one database (docs/cluster.md), named once.
public enum ClusterLimits {
    /// The largest notification payload sent, in bytes (PostgreSQL refuses 8,000 and more).
    public static let maximumPayloadBytes = 7_999
    /// How often an instance reads the recent commands to repair a missed notification.
    public static let catchUpInterval: Duration = .seconds(2)
    /// How far back the catch-up reads commands, in milliseconds.
    public static let catchUpWindowMilliseconds: UInt64 = 60_000
    /// How often a controller with live stream subscribers reads the other controllers' new
    /// rows of the event history, to stream their lamps' events.
    public static let eventFollowInterval: Duration = .milliseconds(100)
    /// The most event rows read at once (read again at once while a read comes back full).
    public static let eventFollowBatch = 2_000
    /// How long an id skipped in the event history is asked for again (a transaction that
    /// took the id may commit after a later one), in milliseconds; then it is given up (an
    /// insert that was rolled back, or a duplicate the store skipped, never fills it).
    public static let eventGapWaitMilliseconds: UInt64 = 2_000
    /// The most skipped ids asked for again; beyond it the oldest are given up (counted).
    public static let maximumEventGaps = 10_000
    /// How often a controller compares the registered lamps' ids with its own, to repair a
    /// lost `l` notice of a registration or removal.
    public static let registrationCatchUpInterval: Duration = .seconds(30)
    /// The most lamps read back from the store at once after an `l` notice.
    public static let reloadBatch = 5_000
    /// How long acks of this instance's lamps are gathered before they are relayed.
    public static let ackRelayInterval: Duration = .milliseconds(20)
    /// The most acks waiting to be relayed; more are dropped (counted, and the command's
    /// progress on the other instances then lags until the lamp's next answer).
    public static let maximumPendingAcks = 200_000
    /// How often an instance renews its heartbeat and lease (the lamps it holds live by it).
    public static let heartbeatInterval: Duration = .seconds(5)
    /// How long an instance's lease (and so its lamps' ownerships) holds without renewal, and a
    /// new claim before its instance's next heartbeat, in milliseconds: three heartbeats.
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
    /// These lamps linked to `instance`, which claimed them as `claim` (the database's claim
    /// sequence: a later claim has a higher number). Any other instance whose own claim of a
    /// lamp is older closes its link (4000, a duplicate identity); one whose claim is newer,
    /// or not yet written, keeps it: this notice came late.
    case owned(instance: String, claim: Int64, [LampID])
    /// `instance` registered, changed or removed these lamps (their registration, groups,
    /// revocation or keys): read them again from the store.
    case lamps(instance: String, [LampID])
    /// No controller holds these lamps now: their link to `instance` ended, or their owner's
    /// lease lapsed and `instance` removed its rows. They count offline again.
    case released(instance: String, [LampID])
    /// `instance` saved or deleted these programs: read them again from the store.
    case programs(instance: String, [String])
    /// Lamps linked to `instance` answered an identify or reboot, or refused a control
    /// version: progress on every controller counts them.
    case answered(instance: String, [LampAnswer])

    /// One lamp's answer that is not an ack of a version.
    public struct LampAnswer: Sendable, Hashable {
        /// What it answered.
        public enum Kind: Sendable, Hashable {
            /// An identify or reboot, by its ref (the command id's low 32 bits): done or not
            /// (refused, or no answer within the request's time).
            case once(ref: UInt32, accepted: Bool)
            /// A control version refused, with the nack's reason (SPEC.md §8.2).
            case refused(version: UInt32, reason: UInt8)
        }

        /// The lamp.
        public var lamp: LampID
        /// Its answer.
        public var kind: Kind

        /// An answer.
        public init(lamp: LampID, kind: Kind) {
            self.lamp = lamp
            self.kind = kind
        }

        /// `lamp=o<ref>+` (or `-`), `lamp=r<version>.<reason>`.
        var payload: String {
            switch kind {
            case .once(let ref, let accepted): "\(lamp.value)=o\(ref)\(accepted ? "+" : "-")"
            case .refused(let version, let reason): "\(lamp.value)=r\(version).\(reason)"
            }
        }

        init?(payload item: Substring) {
            let pair = item.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2, let lamp = LampID(String(pair[0])), let kind = pair[1].first else { return nil }
            let rest = pair[1].dropFirst()
            switch kind {
            case "o":
                guard let sign = rest.last, sign == "+" || sign == "-", let ref = UInt32(rest.dropLast()) else { return nil }
                self.init(lamp: lamp, kind: .once(ref: ref, accepted: sign == "+"))
            case "r":
                let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2, let version = UInt32(parts[0]), version > 0, let reason = UInt8(parts[1]) else { return nil }
                self.init(lamp: lamp, kind: .refused(version: version, reason: reason))
            default:
                return nil
            }
        }
    }

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
        case .command(let instance, _), .applied(let instance, _), .owned(let instance, _, _), .released(let instance, _), .lamps(let instance, _),
            .programs(let instance, _), .answered(let instance, _):
            instance
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
        case .owned(let instance, let claim, let lamps):
            return Self.split(head: "o \(instance) \(claim) ", lamps.map(\.value), limit: limit)
        case .released(let instance, let lamps):
            return Self.split(head: "r \(instance) ", lamps.map(\.value), limit: limit)
        case .lamps(let instance, let lamps):
            return Self.split(head: "l \(instance) ", lamps.map(\.value), limit: limit)
        case .programs(let instance, let names):
            return Self.split(head: "p \(instance) ", names, limit: limit)
        case .answered(let instance, let answers):
            return Self.split(head: "n \(instance) ", answers.map(\.payload), limit: limit)
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
        var parts = payload.split(separator: " ", omittingEmptySubsequences: false)
        // An ownership notice carries its claim number before the lamps.
        var claim: Int64 = 0
        if parts.first == "o" {
            guard parts.count == 4, let number = Int64(parts[2]), number > 0 else { return nil }
            claim = number
            parts.remove(at: 2)
        }
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
        case "o", "r", "l":
            var lamps: [LampID] = []
            for item in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard let lamp = LampID(String(item)) else { return nil }
                lamps.append(lamp)
            }
            switch parts[0] {
            case "o": self = .owned(instance: instance, claim: claim, lamps)
            case "r": self = .released(instance: instance, lamps)
            default: self = .lamps(instance: instance, lamps)
            }
        case "n":
            var answers: [LampAnswer] = []
            for item in parts[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard let answer = LampAnswer(payload: item) else { return nil }
                answers.append(answer)
            }
            self = .answered(instance: instance, answers)
        case "p":
            let names = parts[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard names.allSatisfy(GroupName.isValid) else { return nil }
            self = .programs(instance: instance, names)
        default:
            return nil
        }
    }
}

/// A store that several controllers share (PostgreSQL): one version counter for all of
/// them, and a notification channel. FleetStore (SQLite) does not conform: with it, a
/// controller runs alone and does none of this.
public protocol ClusterStoring: Sendable {
    /// This controller's name among the others, random per run: the rows of the event
    /// history it writes carry it.
    var instance: String { get }
    /// The highest id of the event history (0: empty).
    func lastEventID() async throws -> Int64
    /// The event rows above `id`, and those of `gaps`, oldest first, at most `limit`; each
    /// with the instance that wrote it (nil: written before the column existed).
    func events(after id: Int64, gaps: [Int64], limit: Int) async throws -> [(record: EventRecord, instance: String?)]
    /// Takes the next control version from the counter every controller shares, above
    /// `floor` (the counter moves past it first: a lamp reported that version).
    func allocateControlVersion(above floor: UInt32) async throws -> UInt32
    /// Takes the next program revision from the counter every controller shares (a save or
    /// an assignment on any of them gets a revision no lamp holds yet).
    func allocateProgramRevision() async throws -> UInt32
    /// Sends a notice to every controller listening (this one too).
    func announce(_ notice: ClusterNotice) async throws
    /// Listens on the channel until `body` returns or the connection is lost (thrown);
    /// `listening` runs once the server has confirmed the LISTEN.
    func listen(listening: @Sendable () async -> Void, _ body: @Sendable (ClusterNotice) async -> Void) async throws
    /// The commands created at or after `since` (Unix ms), oldest first.
    func commands(createdSince since: UInt64) async throws -> [CommandRecord]
    /// Records that `instance` holds these lamps' links until `leaseUntil` (Unix ms),
    /// taking them from whichever instance held them; returns the claim's number, from a
    /// sequence every instance shares (one number for the whole batch, higher than every
    /// claim written before).
    func claimLamps(_ lamps: [LampID], instance: String, leaseUntil: UInt64) async throws -> Int64
    /// Gives up these lamps, where `instance` still holds them; returns those given up.
    func releaseLamps(_ lamps: [LampID], instance: String) async throws -> [LampID]
    /// The instance's heartbeat: renews its row's lease to `leaseUntil` (its lamps' ownerships
    /// live as long as it), and removes the ownerships whose instance's lease and own claim-time
    /// lease ran out before `now`, then those instances; returns the lamps whose ownership was
    /// removed.
    func heartbeat(instance: String, startedAt: UInt64, now: UInt64, leaseUntil: UInt64) async throws -> [LampID]
    /// These lamps as stored now (a lamp not registered is left out).
    func lamps(_ ids: [LampID]) async throws -> [StoredLamp]
    /// The ids of every registered lamp.
    func lampIDs() async throws -> [LampID]
    /// The highest lamp change number when the store was opened.
    var changeMarkAtOpen: Int64 { get }
    /// The lamps whose registration, groups or program changed after change number `mark`
    /// (any controller's change, notice or not), oldest first, at most `limit`; and the
    /// newest change number among them (`mark` for none).
    func lampsChanged(after mark: Int64, limit: Int) async throws -> (lamps: [LampID], newest: Int64)
    /// Every lamp some other instance than `instance` holds now.
    func lampsHeld(notBy instance: String) async throws -> [LampID]
    /// Which instance holds each of these lamps now (a lamp no one holds is left out).
    func owners(_ lamps: [LampID]) async throws -> [LampID: String]
}

/// Where a controller is in the shared event history while it streams the other
/// controllers' events (docs/cluster.md): the highest id read, and the ids skipped below it,
/// asked for again for ``ClusterLimits/eventGapWaitMilliseconds`` (ids are taken when a row
/// is inserted, so a transaction can commit a lower id after a higher one was read). A
/// value, no I/O.
public struct EventCursor: Sendable {
    /// The highest id read.
    public private(set) var last: Int64
    /// Skipped ids, with when they were first missed (Unix ms).
    private var gaps: [Int64: UInt64] = [:]
    /// Skipped ids given up: waited the whole time, or beyond ``ClusterLimits/maximumEventGaps``.
    public private(set) var givenUp = 0

    /// A cursor after `last` (the history's end when the first subscriber came).
    public init(after last: Int64) { self.last = last }

    /// The skipped ids still asked for, lowest first.
    public var gapIDs: [Int64] { gaps.keys.sorted() }

    /// Takes the ids of rows just read (any order); returns which are new (not read before).
    /// Ids skipped between them are asked for again until `now` + the wait; older ones are
    /// given up.
    public mutating func take(_ ids: [Int64], atMilliseconds now: UInt64) -> [Bool] {
        var isNew = [Bool](repeating: false, count: ids.count)
        for index in ids.indices.sorted(by: { ids[$0] < ids[$1] }) {
            let id = ids[index]
            if gaps.removeValue(forKey: id) != nil {
                isNew[index] = true
            } else if id > last {
                let first = max(last + 1, id - Int64(ClusterLimits.maximumEventGaps))
                givenUp += Int(first - (last + 1))
                for missing in first..<id { gaps[missing] = now }
                last = id
                isNew[index] = true
            }
        }
        for (id, missed) in gaps where now >= missed + ClusterLimits.eventGapWaitMilliseconds {
            gaps[id] = nil
            givenUp += 1
        }
        if gaps.count > ClusterLimits.maximumEventGaps {
            for id in gaps.keys.sorted().prefix(gaps.count - ClusterLimits.maximumEventGaps) {
                gaps[id] = nil
                givenUp += 1
            }
        }
        return isNew
    }
}

extension ClusterStoring {
    /// Takes the next control version from the counter every controller shares.
    public func allocateControlVersion() async throws -> UInt32 { try await allocateControlVersion(above: 0) }
}
