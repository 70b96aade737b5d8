import LampAuth
import LampProtocol

/// One lamp link's whole life (SPEC.md §3 to §11) as one value: the challenge, the hello,
/// the key lookup, the link's requests, pings, idle detection and the close handshake. It
/// does no I/O and reads no clock: the gateway's channel handler feeds it what happened with
/// the time, and carries out the actions it returns (`let actions = machine.x(...);
/// run(actions)`), in the manner of postgres-nio's `ConnectionStateMachine`.
///
/// ```
/// awaitingHello ──hello──▶ lookingUpKey ──key──▶ authenticated ──established──▶ linked
///       │                        │                    │                           │
///       └──── deadline, bad hello, unknown id, wrong MAC, refusal ─────▶ closing ◀─┘ idle, replaced,
///                                                                          │          shutdown, error
///                                                                  peer closed ▼
///                                                                        closed
/// ```
///
/// Model: Protocol/model/link.pml (Promela, checked by spin in CI) models this machine's
/// linked life with LinkStateMachine and FleetModel's link rules: proctype `Controller`,
/// `c_hello` = `keyLookedUp`/`established` + `FleetModel.linkUp`, `c_restart` = a new process.
/// Protocol/model/README.md has the correspondence; a change of a rule here is a change there.
public struct ConnectionStateMachine: Sendable {
    /// What the caller must do, in order.
    public enum Action: Sendable, Hashable {
        /// Send this protocol message.
        case send(LampMessage)
        /// Send a WebSocket ping.
        case ping
        /// Answer the peer's WebSocket ping with a pong carrying its payload.
        case pong
        /// Send a close frame with this code and close the connection once it is out.
        case close(code: UInt16, reason: String)
        /// Find the key of this lamp id (off the event loop if it needs the store) and call
        /// ``keyLookedUp(_:welcome:atMilliseconds:)`` with it, nil if the id is unknown.
        case lookUpKey(LampID)
        /// The hello proved the lamp's identity: make it the lamp's current link and call
        /// ``established(desired:atMilliseconds:)`` (or ``refuse(code:reason:)``).
        case authenticated(Hello)
        /// A hello's MAC was computed and compared (for every hello that reached the check,
        /// registered id or not: counted, so tests can see both take one path).
        case helloMACCompared
        /// The handshake was refused (counted, logged; `lampID` if the hello named one).
        case handshakeRefused(code: UInt16, reason: String, lampID: LampID?)
        /// A link's request logic asks for this (apply versions, count refusals, log retries).
        case link(LinkStateMachine.Action)
        /// A status report arrived: note it in the fleet, then record and publish it.
        case statusReported(StatusReport)
        /// Record and publish this event.
        case emit(FleetEvent)
        /// The lamp sent this event (SPEC.md §7.2): make it durable (once per lamp and
        /// sequence), then call ``eventStored(sequence:)``, or ``eventRefused(sequence:)`` if
        /// it cannot be stored. The lamp is answered only then: it forgets an acknowledged
        /// event, so an ack before the commit could lose it.
        case storeEvent(LampEvent)
        /// The authenticated link is gone: take it out of the registry, mark the lamp offline.
        case unlinked(LampID)
        /// The lamp uses this link: its first message after the welcome arrived, or the link
        /// stayed open ``proofWaitMilliseconds`` after it. Once per link. Several controllers
        /// claim the lamp only then (docs/cluster.md): a link the lamp gave up during the
        /// handshake (its deadline passed before the welcome came) never proves itself, so it
        /// cannot take the lamp from the controller the lamp moved on to.
        case proven(LampID)
    }

    /// How long a link that says nothing after the welcome waits before it counts as proven
    /// (a lamp MUST send a status report right after the welcome, SPEC.md §7.1; a lamp that
    /// gave up on the link has closed its socket long before).
    public static let proofWaitMilliseconds: UInt64 = 2_000

    /// The link's settings.
    public struct Configuration: Sendable, Hashable {
        /// How long a lamp has from the challenge to a valid hello.
        public var handshakeDeadlineMilliseconds: UInt64
        /// Time between pings on a quiet link; a link silent for two intervals is dead.
        public var pingIntervalMilliseconds: UInt64
        /// How long to wait for an answer before a request is sent again.
        public var requestTimeoutMilliseconds: UInt64
        /// The lowest minor a lamp's hello may announce (SPEC.md §4.3): 2 refuses lamps that
        /// cannot authenticate frames, with 4007.
        public var minimumLampMinorVersion: UInt8

        /// Settings.
        public init(
            handshakeDeadlineMilliseconds: UInt64, pingIntervalMilliseconds: UInt64, requestTimeoutMilliseconds: UInt64,
            minimumLampMinorVersion: UInt8 = 0
        ) {
            self.handshakeDeadlineMilliseconds = handshakeDeadlineMilliseconds
            self.pingIntervalMilliseconds = pingIntervalMilliseconds
            self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
            self.minimumLampMinorVersion = minimumLampMinorVersion
        }
    }

    /// An authenticated link.
    public struct Linked: Sendable {
        /// The lamp.
        public let lampID: LampID
        /// The minor protocol version it speaks.
        public let minorVersion: UInt8
        /// Its requests.
        public var requests: LinkStateMachine
        /// When the welcome went out.
        let establishedAt: UInt64
        /// Whether ``Action/proven(_:)`` was given.
        var proven = false

        /// Marks the link proven; true the first time.
        mutating func prove() -> Bool {
            defer { proven = true }
            return !proven
        }
    }

    enum State: Sendable {
        case awaitingHello(HandshakeStateMachine)
        case lookingUpKey(HandshakeStateMachine, Hello)
        case authenticated(Hello, welcome: Welcome)
        case linked(Linked)
        case closing(LampID?)
        case closed
    }

    private var state: State
    private let configuration: Configuration
    private var lastReceivedMilliseconds: UInt64
    private var lastPingMilliseconds: UInt64

    /// A new connection at `now` whose challenge carries `serverNonce`; send ``challenge`` first.
    public init(serverNonce: Block16, configuration: Configuration, atMilliseconds now: UInt64) {
        self.configuration = configuration
        self.state = .awaitingHello(
            HandshakeStateMachine(
                serverNonce: serverNonce, atMilliseconds: now, deadlineMilliseconds: configuration.handshakeDeadlineMilliseconds,
                minimumMinorVersion: configuration.minimumLampMinorVersion))
        self.lastReceivedMilliseconds = now
        self.lastPingMilliseconds = now
    }

    /// The challenge to send when the connection opens.
    public var challenge: Challenge? {
        if case .awaitingHello(let handshake) = state { return handshake.challenge }
        return nil
    }

    /// The lamp, once its hello has arrived.
    public var lampID: LampID? {
        switch state {
        case .awaitingHello, .closed: nil
        case .lookingUpKey(_, let hello), .authenticated(let hello, _): hello.lampID
        case .linked(let linked): linked.lampID
        case .closing(let id): id
        }
    }

    /// The minor version to decode the peer's messages with (0 until the hello).
    public var peerMinorVersion: UInt8 {
        if case .linked(let linked) = state { return linked.minorVersion }
        return 0
    }

    /// Whether the link is authenticated and running.
    public var isLinked: Bool {
        if case .linked = state { return true }
        return false
    }

    /// Whether a close was started or the connection is gone: nothing more is processed.
    public var isClosing: Bool {
        switch state {
        case .closing, .closed: true
        default: false
        }
    }

    /// The link's request machine, while linked (for tests and views).
    public var requests: LinkStateMachine? {
        if case .linked(let linked) = state { return linked.requests }
        return nil
    }

    /// The earliest time ``tick(atMilliseconds:)`` has anything to do.
    public var nextDueMilliseconds: UInt64 {
        switch state {
        case .awaitingHello(let handshake), .lookingUpKey(let handshake, _):
            return handshake.deadlineMilliseconds + 1
        case .authenticated:
            return lastReceivedMilliseconds + configuration.handshakeDeadlineMilliseconds
        case .linked(let linked):
            let ping = configuration.pingIntervalMilliseconds
            var due = min(lastPingMilliseconds + ping, lastReceivedMilliseconds + 2 * ping + 1)
            if linked.requests.hasRequestInFlight {
                due = min(due, lastReceivedMilliseconds + min(configuration.requestTimeoutMilliseconds, 1000))
            }
            if let retryAt = linked.requests.retryAtMilliseconds {
                due = min(due, retryAt)
            }
            if !linked.proven {
                due = min(due, linked.establishedAt + Self.proofWaitMilliseconds)
            }
            return due
        case .closing, .closed:
            return .max
        }
    }

    // MARK: Events

    /// A whole protocol message arrived.
    public mutating func received(_ message: LampMessage, atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        received(message, atMilliseconds: now, into: &actions)
        return actions
    }

    /// A whole protocol message arrived; the actions are appended to `actions` (the
    /// gateway's hot path: one buffer per event, no array per step).
    public mutating func received(_ message: LampMessage, atMilliseconds now: UInt64, into actions: inout [Action]) {
        lastReceivedMilliseconds = now
        switch state {
        case .awaitingHello(var handshake):
            switch handshake.helloReceived(message, atMilliseconds: now) {
            case .lookUpKey(let hello):
                state = .lookingUpKey(handshake, hello)
                actions.append(.lookUpKey(hello.lampID))
            case .close(let code, let reason, let id):
                actions += refuse(code: code, reason: reason, lampID: id)
            case .none:
                state = .awaitingHello(handshake)
            }
        case .lookingUpKey(_, let hello), .authenticated(let hello, _):
            actions += refuse(code: LampCloseCode.policyViolation, reason: "\(message.type) before the welcome", lampID: hello.lampID)
        case .linked(var linked):
            let lampID = linked.lampID
            switch message {
            case .statusReport, .event, .ack, .nack:
                if linked.prove() { actions.append(.proven(lampID)) }
            default:
                break
            }
            switch message {
            case .statusReport(let report):
                linked.requests.received(message, atMilliseconds: now) { actions.append(Self.translate($0)) }
                appendRefusalEvents(&actions, lampID: lampID)
                actions.append(.statusReported(report))
                state = .linked(linked)
            case .event(let event):
                // No ack yet: it goes out once the event is durable (eventStored).
                actions.append(.storeEvent(event))
                state = .linked(linked)
            case .ack, .nack:
                linked.requests.received(message, atMilliseconds: now) { actions.append(Self.translate($0)) }
                appendRefusalEvents(&actions, lampID: lampID)
                state = .linked(linked)
            default:
                state = .closing(lampID)
                actions.append(.close(code: LampCloseCode.policyViolation, reason: "\(message.type) is not a lamp's message after the handshake"))
            }
        case .closing, .closed:
            break
        }
    }

    /// A message could not be decoded (SPEC.md §8.2, §10): `type` and `ref` as far as the
    /// bytes tell.
    public mutating func undecodable(_ error: LampProtocolError, type: MessageType, ref: UInt32, atMilliseconds now: UInt64) -> [Action] {
        lastReceivedMilliseconds = now
        switch state {
        case .linked(let linked):
            if error.code == "unknownType" {
                // Forward compatibility: refuse, keep the link (never nack an ack or a nack).
                return type == .ack || type == .nack ? [] : [.send(.nack(Nack(ackedType: type, ref: ref, reason: .unknownType)))]
            }
            state = .closing(linked.lampID)
            return [
                .send(.nack(Nack(ackedType: type, ref: ref, reason: .malformed))),
                .close(code: LampCloseCode.malformedMessage, reason: error.description),
            ]
        case .awaitingHello, .lookingUpKey, .authenticated:
            let id = lampID
            state = .closing(id)
            return [.close(code: LampCloseCode.malformedMessage, reason: error.description)]
        case .closing, .closed:
            return []
        }
    }

    /// The key lookup answered: `key` is nil for an unknown id. `welcome` carries this
    /// link's parameters; the machine adds the proof.
    public mutating func keyLookedUp(_ key: LampKey?, welcome: Welcome, atMilliseconds now: UInt64) -> [Action] {
        keyLookedUp(key ?? HandshakeStateMachine.unregisteredKey, registered: key != nil, welcome: welcome, atMilliseconds: now)
    }

    /// The key lookup answered with `key`: the lamp's, or for an unknown or revoked id
    /// (`registered` false) a stand-in derived the same way, so both take the same path:
    /// the MAC is checked (``Action/helloMACCompared``), then the link is welcomed or refused
    /// with 4001.
    public mutating func keyLookedUp(_ key: LampKey, registered: Bool, welcome: Welcome, atMilliseconds now: UInt64) -> [Action] {
        guard case .lookingUpKey(var handshake, let hello) = state else { return [] }
        return concluded(handshake.verify(hello, key: key, registered: registered, atMilliseconds: now, welcome: welcome))
    }

    /// The handshake's verdict on a hello whose key was looked up: welcome or refusal.
    private mutating func concluded(_ verdict: HandshakeStateMachine.Action, withAlternate: Bool = false) -> [Action] {
        switch verdict {
        case .authenticated(let hello, let proven):
            authenticatedWithAlternate = withAlternate
            state = .authenticated(hello, welcome: proven)
            return [.helloMACCompared, .authenticated(hello)]
        case .close(let code, let reason, let id):
            return [.helloMACCompared] + refuse(code: code, reason: reason, lampID: id)
        case .none:
            return []
        }
    }

    /// Whether the lamp authenticated with the pending rekey's key (SPEC.md §8.12), not its
    /// current one: ``keyLookedUp(_:alternate:alternateAccepted:registered:welcome:atMilliseconds:)``.
    public private(set) var authenticatedWithAlternate = false

    /// The key lookup answered with the lamp's current key and a second one: a pending
    /// rekey's (`alternateAccepted`) or a stand-in. Both MACs are computed whatever the id
    /// (SPEC.md §8.12); otherwise as ``keyLookedUp(_:registered:welcome:atMilliseconds:)``.
    public mutating func keyLookedUp(
        _ key: LampKey, alternate: LampKey, alternateAccepted: Bool, registered: Bool, welcome: Welcome, atMilliseconds now: UInt64
    ) -> [Action] {
        guard case .lookingUpKey(var handshake, let hello) = state else { return [] }
        let verdict = handshake.verify(
            hello, key: key, alternate: alternate, alternateAccepted: alternateAccepted, registered: registered, atMilliseconds: now,
            welcome: welcome)
        return concluded(verdict, withAlternate: handshake.verifiedWithAlternate)
    }

    /// The lamp is now the link's lamp (with this desired state): welcome it, then bring it
    /// to the desired state from `reported` (default: the hello's versions).
    public mutating func established(desired: DesiredState, reported: ReportedVersions? = nil, atMilliseconds now: UInt64) -> [Action] {
        guard case .authenticated(let hello, let welcome) = state else { return [] }
        var linked = Linked(
            lampID: hello.lampID, minorVersion: hello.minorVersion,
            requests: LinkStateMachine(
                hello: hello, desired: desired, reported: reported, requestTimeoutMilliseconds: configuration.requestTimeoutMilliseconds),
            establishedAt: now)
        lastPingMilliseconds = now
        var actions: [Action] = [.send(.welcome(welcome)), .emit(.online(hello.lampID, firmware: hello.firmware.value))]
        linked.requests.start(atMilliseconds: now) { actions.append(Self.translate($0)) }
        state = .linked(linked)
        wasEstablished = true
        return actions
    }

    /// The operator changed the lamp's desired state.
    public mutating func desiredChanged(_ desired: DesiredState, atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        desiredChanged(desired, atMilliseconds: now, into: &actions)
        return actions
    }

    /// The operator changed the lamp's desired state; the actions are appended to `actions`.
    public mutating func desiredChanged(_ desired: DesiredState, atMilliseconds now: UInt64, into actions: inout [Action]) {
        guard case .linked(var linked) = state else { return }
        linked.requests.desiredChanged(desired, atMilliseconds: now) { actions.append(Self.translate($0)) }
        state = .linked(linked)
    }

    /// The lamp's event `sequence` is durable (stored now, or stored before: a duplicate is
    /// acknowledged again, SPEC.md §7.2). Acknowledged if this link is still up; if it is
    /// gone the lamp sends the event again on its next link, and the store keeps it once.
    public mutating func eventStored(sequence: UInt32) -> [Action] {
        guard case .linked = state else { return [] }
        return [.send(.ack(Ack(ackedType: .event, ref: sequence)))]
    }

    /// The lamp's event `sequence` could not be stored (the store failed, or too many
    /// events wait for it): refused with `busy` (SPEC.md §8.2) so the lamp keeps it and
    /// sends it again.
    public mutating func eventRefused(sequence: UInt32) -> [Action] {
        guard case .linked = state else { return [] }
        return [.send(.nack(Nack(ackedType: .event, ref: sequence, reason: .busy)))]
    }

    /// The operator asked for identify or reboot.
    public mutating func requestOnce(_ message: LampMessage, atMilliseconds now: UInt64) -> [Action] {
        guard case .linked(var linked) = state else {
            return [.link(.onceAnswered(type: message.type, ref: LinkStateMachine.ref(of: message), accepted: false))]
        }
        var actions: [Action] = []
        linked.requests.requestOnce(message, atMilliseconds: now) { actions.append(Self.translate($0)) }
        state = .linked(linked)
        return actions
    }

    /// Time passed: handshake deadline, idle detection, pings, request timeouts.
    public mutating func tick(atMilliseconds now: UInt64) -> [Action] {
        var actions: [Action] = []
        tick(atMilliseconds: now, into: &actions)
        return actions
    }

    /// Time passed; the actions are appended to `actions`.
    public mutating func tick(atMilliseconds now: UInt64, into actions: inout [Action]) {
        switch state {
        case .awaitingHello(let handshake), .lookingUpKey(let handshake, _):
            guard now > handshake.deadlineMilliseconds else { return }
            actions += refuse(code: LampCloseCode.handshakeTimeout, reason: "no valid hello within the deadline", lampID: lampID)
        case .authenticated, .closing, .closed:
            return
        case .linked(var linked):
            let ping = configuration.pingIntervalMilliseconds
            if now > lastReceivedMilliseconds + 2 * ping {
                state = .closing(linked.lampID)
                actions.append(.close(code: LampCloseCode.pingTimeout, reason: "no answer to pings"))
                return
            }
            if now >= lastPingMilliseconds + ping {
                lastPingMilliseconds = now
                actions.append(.ping)
            }
            if now >= linked.establishedAt + Self.proofWaitMilliseconds, linked.prove() {
                actions.append(.proven(linked.lampID))
            }
            linked.requests.tick(atMilliseconds: now) { actions.append(Self.translate($0)) }
            state = .linked(linked)
        }
    }

    /// A WebSocket pong, or a frame that completes no message yet, arrived: the link is alive.
    public mutating func frameReceived(atMilliseconds now: UInt64) {
        lastReceivedMilliseconds = now
    }

    /// The peer pinged.
    public mutating func pingReceived(atMilliseconds now: UInt64) -> [Action] {
        lastReceivedMilliseconds = now
        return isClosing ? [] : [.pong]
    }

    /// The peer sent a close frame: answer it (RFC 6455 §5.5.1), then the connection closes.
    public mutating func closeReceived() -> [Action] {
        guard !isClosing else { return [] }
        state = .closing(lampID)
        return [.close(code: 1000, reason: "closed by the lamp")]
    }

    /// Close the link for a framing or policy reason found outside the machine (oversize,
    /// fragments, text frames, too many pending handshakes).
    public mutating func refuse(code: UInt16, reason: String) -> [Action] {
        guard !isClosing else { return [] }
        if case .linked(let linked) = state {
            state = .closing(linked.lampID)
            return [.close(code: code, reason: reason)]
        }
        return refuse(code: code, reason: reason, lampID: lampID)
    }

    /// A message after the welcome had a wrong or missing tag (SPEC.md §4.3): it is not acted
    /// on, and the link closes with 4006.
    public mutating func frameAuthenticationFailed() -> [Action] {
        refuse(code: LampCloseCode.frameAuthenticationFailed, reason: "frame authentication failed")
    }

    /// A newer link of the same lamp authenticated.
    public mutating func replaced() -> [Action] {
        guard !isClosing else { return [] }
        state = .closing(lampID)
        return [.close(code: LampCloseCode.replaced, reason: "replaced by a newer link")]
    }

    /// The controller shuts down.
    public mutating func shutdown() -> [Action] {
        guard !isClosing else { return [] }
        state = .closing(lampID)
        return [.close(code: LampCloseCode.goingAway, reason: "controller shutting down")]
    }

    /// The connection is gone. A link that was established reports `unlinked`; the caller
    /// checks it is still the lamp's current link (a replaced link's close must not take the
    /// lamp offline).
    public mutating func connectionClosed() -> [Action] {
        let id = lampID
        state = .closed
        guard wasEstablished, let id else { return [] }
        return [.unlinked(id)]
    }

    // MARK: Internals

    /// Whether the link reached `linked` before it started closing.
    private var wasEstablished = false

    private mutating func refuse(code: UInt16, reason: String, lampID: LampID?) -> [Action] {
        state = .closing(lampID)
        return [.handshakeRefused(code: code, reason: reason, lampID: lampID), .close(code: code, reason: reason)]
    }

    /// A refusal of a request becomes an event too (after the link action that notes it),
    /// and a program transfer given up a program mismatch.
    private func appendRefusalEvents(_ actions: inout [Action], lampID: LampID) {
        for action in actions {
            switch action {
            case .link(.refused(let type, let ref, let reason)):
                actions.append(.emit(.refused(lampID, type: type, ref: ref, reason: reason)))
            case .link(.programGaveUp(let revision)):
                actions.append(.emit(.program(lampID, mismatch: "program revision \(revision) not accepted: transfer restarted \(LinkStateMachine.maximumTransferRestarts) times")))
            default:
                break
            }
        }
    }

    /// The request machine's action as the connection's.
    private static func translate(_ action: LinkStateMachine.Action) -> Action {
        if case .send(let message) = action { return .send(message) }
        return .link(action)
    }
}
