import LampProtocol

/// One authenticated link's request logic (SPEC.md §8.0): brings the lamp to the desired
/// state, one request in flight, retries on timeout, and only ever the latest desired state.
/// What it sends follows the lamp's capabilities (§5.2): `switch` for a lamp that cannot
/// dim, no program frames for one without programs (or minor 0, or that refused them with
/// `unknownType` on this link). `nack(busy)` retries the same request with backoff;
/// `nack(unexpected)` on a page restarts the transfer from its header, at most
/// ``maximumTransferRestarts`` times.
///
/// A value type with no I/O: the caller feeds it events with the current time and carries out
/// the actions it returns. It is confined to whoever owns the link.
///
/// Model: Protocol/model/link.pml (spin): `c_infl` = `inFlight`, `c_send_next` = `sendNext`,
/// `c_ack` = `received(.ack)`, the timeout branch = `tick`, `c_applied` = `appliedControl`.
/// Protocol/model/README.md has the correspondence; a change of a rule here is a change there.
public struct LinkStateMachine: Sendable {
    /// What the caller must do.
    public enum Action: Hashable, Sendable {
        /// Send this message to the lamp.
        case send(LampMessage)
        /// The lamp applied this control version (ack or report).
        case controlApplied(UInt32)
        /// The lamp applied this config version.
        case configApplied(UInt32)
        /// The lamp applied (holds) this program revision.
        case programApplied(UInt32)
        /// The lamp refused this request; it will not be sent again for this version.
        case refused(type: MessageType, ref: UInt32, reason: NackReason)
        /// A request timed out and is being sent again.
        case retrying(type: MessageType, ref: UInt32, attempt: Int)
        /// An ack or nack that matches no request in flight on this link (type and ref):
        /// ignored (logged, counted), the link kept (SPEC.md §8.1).
        case ignored(type: MessageType, ref: UInt32)
        /// The lamp answered `busy`: nothing is sent for `retryInMilliseconds`, then the
        /// request (or a newer desired state) goes again (SPEC.md §8.2).
        case deferred(type: MessageType, ref: UInt32, retryInMilliseconds: UInt64)
        /// A program transfer was restarted ``LinkStateMachine/maximumTransferRestarts``
        /// times after `nack(unexpected)` and given up: the lamp keeps what it holds.
        case programGaveUp(revision: UInt32)
        /// A once request (identify, reboot) was answered: acknowledged, refused, or not
        /// answered within the timeout (`accepted` false; it is not sent again).
        case onceAnswered(type: MessageType, ref: UInt32, accepted: Bool)
    }

    /// Once requests waiting for their turn, at most this many (more are refused at once).
    public static let maximumQueuedOnce = 8
    /// Restarts of one program transfer after `nack(unexpected)` on a page before giving up.
    public static let maximumTransferRestarts = 3

    struct InFlight: Hashable, Sendable {
        var type: MessageType
        var ref: UInt32
        var sentAtMilliseconds: UInt64
        var attempt: Int
    }

    /// How long to wait for an ack before sending again.
    public let requestTimeoutMilliseconds: UInt64
    /// The latest desired state known.
    public private(set) var desired: DesiredState
    /// The control version the lamp has applied, as far as we know.
    public private(set) var appliedControl: UInt32
    /// The config version the lamp has applied, as far as we know.
    public private(set) var appliedConfig: UInt32
    /// The program revision the lamp holds, as far as we know.
    public private(set) var appliedProgram: UInt32
    /// Versions the lamp refused: never sent again.
    private var refusedControl: UInt32 = 0
    private var refusedConfig: UInt32 = 0
    private var refusedProgram: UInt32 = 0
    /// A program being transferred: its revision, and the next page to send once the
    /// header is acknowledged (nil until then).
    private var transfer: (revision: UInt32, nextPage: Int?)?
    private var inFlight: InFlight?
    /// Once requests (identify, reboot) not yet sent: sent before any desired state, one at
    /// a time like every request, and never sent again.
    private var onceQueue: [LampMessage] = []
    /// Whether the lamp dims (else a level goes out as `switch`).
    public let dimmable: Bool
    /// Whether program frames go to this lamp: it announced programs at minor 1 or later and
    /// has not refused them with `unknownType` on this link.
    public private(set) var sendsPrograms: Bool
    /// Restarts of the current program transfer after `nack(unexpected)`.
    private var transferRestarts = 0
    /// After `nack(busy)`: nothing is sent before this time.
    public private(set) var retryAtMilliseconds: UInt64?
    /// The waits after `busy`: 1 s doubling to 60 s, plus up to 1 s of jitter.
    private var busyBackoff = Backoff(minimumMilliseconds: 1000, jitterMilliseconds: 1000, capMilliseconds: 60_000)
    /// The jitter's source, seeded from the link's client nonce (fresh per link, and
    /// repeatable in tests).
    private var random: SplitMix64

    /// A link that just authenticated with `hello`, whose lamp should reach `desired`,
    /// starting from `reported` (default: the hello's versions; see ``FleetModel/linkUp(_:atMilliseconds:)``).
    public init(hello: Hello, desired: DesiredState, reported: ReportedVersions? = nil, requestTimeoutMilliseconds: UInt64 = 10_000) {
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.desired = desired
        let reported = reported ?? ReportedVersions(control: hello.appliedVersion, config: hello.configVersion, program: hello.programRevision)
        self.appliedControl = reported.control
        self.appliedConfig = reported.config
        self.appliedProgram = reported.program
        self.dimmable = hello.capabilities.contains(.dimmable)
        self.sendsPrograms = hello.capabilities.contains(.programs) && hello.minorVersion >= 1
        self.random = SplitMix64(seed: hello.clientNonce.high ^ hello.clientNonce.low)
    }

    /// Whether a request is awaiting its answer.
    public var hasRequestInFlight: Bool { inFlight != nil }

    /// Whether the lamp has applied everything desired (or refused it).
    public var isConverged: Bool { nextRequest(atMilliseconds: 0) == nil && inFlight == nil && onceQueue.isEmpty }

    // Every event has two forms: one that hands each action to `emit` as it arises (the
    // gateway's hot path: no array per event), and one that returns them (tests, tools).

    /// The handshake finished: send what the lamp lacks.
    public mutating func start(atMilliseconds now: UInt64, emit: (Action) -> Void) {
        sendNext(atMilliseconds: now, emit)
    }

    /// The operator changed the desired state. Only the newest is kept; an older one (which
    /// can arrive late from another thread) is ignored.
    public mutating func desiredChanged(_ newDesired: DesiredState, atMilliseconds now: UInt64, emit: (Action) -> Void) {
        if newDesired.control.version >= desired.control.version {
            desired.control = newDesired.control
        }
        if newDesired.config.version >= desired.config.version {
            desired.config = newDesired.config
        }
        if newDesired.program.revision >= desired.program.revision {
            desired.program = newDesired.program
        }
        sendNext(atMilliseconds: now, emit)
    }

    /// The operator asked for a once request (identify, reboot): it goes out when no other
    /// request is in flight, ahead of desired state. A full queue refuses it at once.
    public mutating func requestOnce(_ message: LampMessage, atMilliseconds now: UInt64, emit: (Action) -> Void) {
        guard onceQueue.count < Self.maximumQueuedOnce else {
            emit(.onceAnswered(type: message.type, ref: Self.ref(of: message), accepted: false))
            return
        }
        onceQueue.append(message)
        sendNext(atMilliseconds: now, emit)
    }

    /// A message from the lamp after the handshake.
    public mutating func received(_ message: LampMessage, atMilliseconds now: UInt64, emit: (Action) -> Void) {
        switch message {
        case .ack(let ack) where Self.onceTypes.contains(ack.ackedType):
            if inFlight?.type == ack.ackedType && inFlight?.ref == ack.ref {
                inFlight = nil
                emit(.onceAnswered(type: ack.ackedType, ref: ack.ref, accepted: true))
            }
        case .nack(let nack) where Self.onceTypes.contains(nack.ackedType):
            if inFlight?.type == nack.ackedType && inFlight?.ref == nack.ref {
                inFlight = nil
                emit(.onceAnswered(type: nack.ackedType, ref: nack.ref, accepted: false))
            }
        case .ack(let ack):
            // An ack proves only the request in flight on this link (type and ref): any other
            // is ignored, so a lamp cannot make the controller claim a version it never sent.
            guard inFlight?.type == ack.ackedType && inFlight?.ref == ack.ref else {
                emit(.ignored(type: ack.ackedType, ref: ack.ref))
                return
            }
            busyBackoff.reset()
            if ack.ackedType == .config {
                noteConfigApplied(ack.ref, emit)
            } else if Self.controlTypes.contains(ack.ackedType) {
                noteControlApplied(ack.ref, emit)
            } else if Self.programTypes.contains(ack.ackedType) {
                programFrameAcknowledged(ack.ackedType, revision: ack.ref, emit)
            }
            clearInFlight(type: ack.ackedType, ref: ack.ref)
        case .nack(let nack):
            // Like an ack, a nack speaks only for the request in flight (SPEC.md §8.1).
            guard inFlight?.type == nack.ackedType && inFlight?.ref == nack.ref else {
                emit(.ignored(type: nack.ackedType, ref: nack.ref))
                return
            }
            let isProgram = Self.programTypes.contains(nack.ackedType)
            if nack.reason == .busy {
                // Not final: the same request goes again after a wait (SPEC.md §8.2).
                inFlight = nil
                let delay = busyBackoff.nextDelay(using: &random)
                retryAtMilliseconds = now &+ delay
                emit(.deferred(type: nack.ackedType, ref: nack.ref, retryInMilliseconds: delay))
                return
            }
            if nack.reason == .unexpected && nack.ackedType == .programPage {
                // The lamp lost the transfer (it rebooted, or took another header): start it
                // again from the header, a bounded number of times (SPEC.md §8.11).
                inFlight = nil
                transfer = nil
                transferRestarts += 1
                if transferRestarts > Self.maximumTransferRestarts {
                    transferRestarts = 0
                    refusedProgram = max(refusedProgram, nack.ref)
                    emit(.refused(type: nack.ackedType, ref: nack.ref, reason: nack.reason))
                    emit(.programGaveUp(revision: nack.ref))
                }
                sendNext(atMilliseconds: now, emit)
                return
            }
            if isProgram {
                transfer = nil
                if nack.reason == .unknownType { sendsPrograms = false }
            }
            if nack.reason == .staleVersion {
                // The lamp holds something newer than this: never send this version again.
                if nack.ackedType == .config {
                    appliedConfig = max(appliedConfig, nack.ref)
                } else if isProgram {
                    appliedProgram = max(appliedProgram, nack.ref)
                } else {
                    appliedControl = max(appliedControl, nack.ref)
                }
            } else if nack.ackedType == .config {
                refusedConfig = max(refusedConfig, nack.ref)
            } else if isProgram {
                refusedProgram = max(refusedProgram, nack.ref)
            } else if Self.controlTypes.contains(nack.ackedType) {
                refusedControl = max(refusedControl, nack.ref)
            }
            emit(.refused(type: nack.ackedType, ref: nack.ref, reason: nack.reason))
            clearInFlight(type: nack.ackedType, ref: nack.ref)
        case .statusReport(let report):
            // A report proves only the desired version itself, never one above it (§8.0).
            if report.appliedVersion == desired.control.version {
                noteControlApplied(report.appliedVersion, emit)
            }
            if report.programRevision > appliedProgram && report.programRevision == desired.program.revision {
                appliedProgram = report.programRevision
                emit(.programApplied(report.programRevision))
            }
        default:
            return
        }
        sendNext(atMilliseconds: now, emit)
    }

    /// Time passed: a request without an answer for the timeout is sent again, with the
    /// latest desired state (which may have moved on meanwhile).
    public mutating func tick(atMilliseconds now: UInt64, emit: (Action) -> Void) {
        if let retryAt = retryAtMilliseconds, now >= retryAt {
            retryAtMilliseconds = nil
            sendNext(atMilliseconds: now, emit)
            return
        }
        guard let pending = inFlight, now >= pending.sentAtMilliseconds &+ requestTimeoutMilliseconds else { return }
        inFlight = nil
        if Self.onceTypes.contains(pending.type) {
            // Never sent twice: a second reboot an hour late is a surprise.
            emit(.onceAnswered(type: pending.type, ref: pending.ref, accepted: false))
            sendNext(atMilliseconds: now, emit)
            return
        }
        // A program transfer that stalled starts again from its header (SPEC.md §8.10).
        if Self.programTypes.contains(pending.type) { transfer = nil }
        guard let message = nextRequest(atMilliseconds: now) else { return }
        if case .programHeader(let header) = message { transfer = (header.revision, nil) }
        let ref = LinkStateMachine.ref(of: message)
        let attempt = (message.type == pending.type && ref == pending.ref) ? pending.attempt + 1 : 1
        inFlight = InFlight(type: message.type, ref: ref, sentAtMilliseconds: now, attempt: attempt)
        if attempt > 1 {
            emit(.retrying(type: message.type, ref: ref, attempt: attempt))
        }
        emit(.send(message))
    }

    /// ``start(atMilliseconds:emit:)``, returning the actions.
    public mutating func start(atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        start(atMilliseconds: now) { actions.append($0) }
        return actions
    }

    /// ``desiredChanged(_:atMilliseconds:emit:)``, returning the actions.
    public mutating func desiredChanged(_ newDesired: DesiredState, atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        desiredChanged(newDesired, atMilliseconds: now) { actions.append($0) }
        return actions
    }

    /// ``requestOnce(_:atMilliseconds:emit:)``, returning the actions.
    public mutating func requestOnce(_ message: LampMessage, atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        requestOnce(message, atMilliseconds: now) { actions.append($0) }
        return actions
    }

    /// ``received(_:atMilliseconds:emit:)``, returning the actions.
    public mutating func received(_ message: LampMessage, atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        received(message, atMilliseconds: now) { actions.append($0) }
        return actions
    }

    /// ``tick(atMilliseconds:emit:)``, returning the actions.
    public mutating func tick(atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        tick(atMilliseconds: now) { actions.append($0) }
        return actions
    }

    /// The requests that carry a control version.
    public static let controlTypes: Set<MessageType> = [.setLevel, .switch, .override, .resumeProgram]
    static let programTypes: Set<MessageType> = [.programHeader, .programPage]
    static let onceTypes: Set<MessageType> = [.identify, .reboot, .rekey]

    /// The header or a page of the transfer was acknowledged: move on, and after the last
    /// page the lamp holds the program.
    private mutating func programFrameAcknowledged(_ type: MessageType, revision: UInt32, _ emit: (Action) -> Void) {
        guard let current = transfer, current.revision == revision, let frames = desired.program.frames,
            frames.revision == revision
        else { return }
        let next = type == .programHeader ? 0 : (current.nextPage ?? 0) + 1
        guard next >= frames.pages.count else {
            transfer = (revision, next)
            return
        }
        transfer = nil
        transferRestarts = 0
        guard revision > appliedProgram else { return }
        appliedProgram = revision
        emit(.programApplied(revision))
    }

    private mutating func noteControlApplied(_ version: UInt32, _ emit: (Action) -> Void) {
        guard version > appliedControl else { return }
        appliedControl = version
        emit(.controlApplied(version))
    }

    private mutating func noteConfigApplied(_ version: UInt32, _ emit: (Action) -> Void) {
        guard version > appliedConfig else { return }
        appliedConfig = version
        emit(.configApplied(version))
    }

    private mutating func clearInFlight(type: MessageType, ref: UInt32) {
        if inFlight?.type == type && inFlight?.ref == ref {
            inFlight = nil
        }
    }

    private mutating func sendNext(atMilliseconds now: UInt64, _ emit: (Action) -> Void) {
        guard inFlight == nil, retryAtMilliseconds.map({ now >= $0 }) ?? true else { return }
        retryAtMilliseconds = nil
        if !onceQueue.isEmpty {
            let message = onceQueue.removeFirst()
            inFlight = InFlight(type: message.type, ref: LinkStateMachine.ref(of: message), sentAtMilliseconds: now, attempt: 1)
            emit(.send(message))
            return
        }
        guard let message = nextRequest(atMilliseconds: now) else { return }
        if case .programHeader(let header) = message { transfer = (header.revision, nil) }
        inFlight = InFlight(type: message.type, ref: LinkStateMachine.ref(of: message), sentAtMilliseconds: now, attempt: 1)
        emit(.send(message))
    }

    /// Configuration first (it bounds the levels), then the program (which the control
    /// state may refer to), then control.
    private func nextRequest(atMilliseconds now: UInt64) -> LampMessage? {
        if desired.config.version > appliedConfig && desired.config.version > refusedConfig, let config = desired.config.message {
            return config
        }
        let program = desired.program
        if sendsPrograms, program.revision > appliedProgram && program.revision > refusedProgram, let frames = program.frames,
            frames.revision == program.revision
        {
            if let current = transfer, current.revision == program.revision, let page = current.nextPage, page < frames.pages.count {
                return .programPage(frames.pages[page])
            }
            return .programHeader(frames.header)
        }
        if desired.control.version > appliedControl && desired.control.version > refusedControl {
            return desired.control.message(atMilliseconds: now, dimmable: dimmable)
        }
        return nil
    }

    static func ref(of message: LampMessage) -> UInt32 {
        switch message {
        case .setLevel(let m): m.version
        case .switch(let m): m.version
        case .override(let m): m.version
        case .resumeProgram(let m): m.version
        case .config(let m): m.configVersion
        case .identify(let m): m.ref
        case .reboot(let m): m.ref
        case .rekey(let m): m.ref
        case .programHeader(let m): m.revision
        case .programPage(let m): m.revision
        default: 0
        }
    }
}
