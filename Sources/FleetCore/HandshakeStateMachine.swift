import LampAuth
import LampProtocol

/// The controller's side of the authentication exchange (SPEC.md §4), with no I/O.
///
/// Created when the WebSocket opens; the caller sends ``challenge`` at once, feeds every
/// received message to ``received(_:atMilliseconds:welcomeTime:)`` and calls
/// ``tick(atMilliseconds:)`` now and then to enforce the deadline.
public struct HandshakeStateMachine: Sendable {
    /// What the caller must do.
    public enum Action: Sendable {
        /// The lamp proved its identity: send this welcome, then run the link.
        case authenticated(Hello, welcome: Welcome)
        /// Close the link with this code; `reason` is for the log.
        case close(code: UInt16, reason: String, lampID: LampID?)
        /// Nothing to do.
        case none
    }

    enum State: Sendable {
        case awaitingHello
        case authenticated
        case closed
    }

    /// The challenge to send first.
    public let challenge: Challenge
    /// When the lamp's time to send a valid hello runs out.
    public let deadlineMilliseconds: UInt64
    /// The lowest minor a hello may announce (SPEC.md §4.3, `lamp-minimum-minor`); lower is
    /// closed with 4007 before any key is looked up.
    public let minimumMinorVersion: UInt8
    private var state = State.awaitingHello
    /// Whether the hello verified with the second key of
    /// ``verify(_:key:alternate:alternateAccepted:registered:atMilliseconds:welcome:)``
    /// (a pending rekey's, SPEC.md §8.12): the welcome's proof and the session keys then
    /// derive from it.
    public private(set) var verifiedWithAlternate = false

    /// A new handshake with a fresh nonce, starting at `now`.
    public init(
        serverNonce: Block16, atMilliseconds now: UInt64,
        deadlineMilliseconds: UInt64 = UInt64(LampProtocolLimits.handshakeDeadlineSeconds) * 1000, minimumMinorVersion: UInt8 = 0
    ) {
        self.challenge = Challenge(serverNonce: serverNonce)
        self.deadlineMilliseconds = now + deadlineMilliseconds
        self.minimumMinorVersion = minimumMinorVersion
    }

    /// Whether the lamp has authenticated.
    public var isAuthenticated: Bool {
        if case .authenticated = state { return true }
        return false
    }

    /// What ``helloReceived(_:atMilliseconds:)`` asks for.
    public enum HelloOutcome: Sendable {
        /// A hello in time: look up this lamp's key, then call ``verify(_:key:atMilliseconds:welcome:)``.
        case lookUpKey(Hello)
        /// Close the link with this code; `reason` is for the log.
        case close(code: UInt16, reason: String, lampID: LampID?)
        /// Nothing to do.
        case none
    }

    /// The first message arrived: it must be a hello, in time.
    public mutating func helloReceived(_ message: LampMessage, atMilliseconds now: UInt64) -> HelloOutcome {
        guard case .awaitingHello = state else { return .none }
        guard now <= deadlineMilliseconds else {
            state = .closed
            return .close(code: LampCloseCode.handshakeTimeout, reason: "hello after the deadline", lampID: nil)
        }
        guard case .hello(let hello) = message else {
            state = .closed
            return .close(code: LampCloseCode.policyViolation, reason: "\(message.type) before hello", lampID: nil)
        }
        return .lookUpKey(hello)
    }

    /// The key an unregistered id's hello is checked against: random per process, so no
    /// hello can match it, and checking it costs what checking a registered lamp's costs.
    public static let unregisteredKey = LampKey(bytes: (0..<32).map { _ in UInt8.random(in: .min ... .max) })

    /// Checks a hello against the lamp's key (nil: the id is unknown, checked against
    /// ``unregisteredKey`` all the same). See ``verify(_:key:registered:atMilliseconds:welcome:)``.
    public mutating func verify(_ hello: Hello, key: LampKey?, atMilliseconds now: UInt64, welcome: Welcome) -> Action {
        verify(hello, key: key ?? Self.unregisteredKey, registered: key != nil, atMilliseconds: now, welcome: welcome)
    }

    /// Checks a hello's MAC against `key`; `registered` false means the id is unknown (or
    /// revoked) and `key` a stand-in derived like a real one. The MAC is computed and compared
    /// in constant time either way, and both refusals are the same close (4001), so neither
    /// the answer nor its time tells an attacker whether an id is registered (issue 12: a
    /// 10x faster refusal for registered ids classified 20 of 20 candidates).
    public mutating func verify(_ hello: Hello, key: LampKey, registered: Bool, atMilliseconds now: UInt64, welcome: Welcome) -> Action {
        guard case .awaitingHello = state else { return .none }
        return conclude(hello, key: key, macMatches: key.verify(hello, serverNonce: challenge.serverNonce), registered: registered, welcome: welcome)
    }

    /// The verdict once the MAC has been compared: welcome (with a proof under `key`) or 4001.
    private mutating func conclude(_ hello: Hello, key: LampKey, macMatches: Bool, registered: Bool, welcome: Welcome) -> Action {
        guard registered, macMatches else {
            state = .closed
            return .close(code: LampCloseCode.authenticationFailed, reason: registered ? "wrong MAC" : "unknown lamp", lampID: hello.lampID)
        }
        // After the MAC: a stranger learns nothing, and the refusal names a proven lamp. The
        // hello's minor is covered by the MAC, so a downgrade on the path ends here (§4.3).
        guard hello.minorVersion >= minimumMinorVersion else {
            state = .closed
            return .close(
                code: LampCloseCode.versionBelowMinimum,
                reason: "protocol minor \(hello.minorVersion) below the controller's minimum \(minimumMinorVersion)", lampID: hello.lampID)
        }
        state = .authenticated
        var proven = welcome
        // The welcome has the layout of the lower of our minor and the lamp's (SPEC.md §5.3):
        // a lamp before minor 2 gets no epoch, the 29 bytes it knows.
        if !hello.carriesFleetEpoch { proven.fleetEpoch = nil }
        proven.proof = key.welcomeProof(for: proven, clientNonce: hello.clientNonce, serverNonce: challenge.serverNonce)
        return .authenticated(hello, welcome: proven)
    }

    /// Checks a hello's MAC against two keys: the lamp's current one and `alternate`, a
    /// pending rekey's key (SPEC.md §8.12) when `alternateAccepted`, else a stand-in. Both
    /// MACs are always computed and compared in constant time, so the time taken says
    /// nothing about whether the id is registered or a rekey is pending. A hello that
    /// matches the accepted alternate is welcomed with a proof under it
    /// (``verifiedWithAlternate``).
    public mutating func verify(
        _ hello: Hello, key: LampKey, alternate: LampKey, alternateAccepted: Bool, registered: Bool, atMilliseconds now: UInt64,
        welcome: Welcome
    ) -> Action {
        guard case .awaitingHello = state else { return .none }
        let currentMatches = key.verify(hello, serverNonce: challenge.serverNonce)
        let alternateMatches = alternate.verify(hello, serverNonce: challenge.serverNonce)
        let useAlternate = !currentMatches && alternateMatches && alternateAccepted
        // Two MAC computations for every hello: the verdict reuses them.
        let action = conclude(
            hello, key: useAlternate ? alternate : key, macMatches: currentMatches || useAlternate, registered: registered, welcome: welcome)
        if case .authenticated = action { verifiedWithAlternate = useAlternate }
        return action
    }

    /// A message arrived before authentication completed, with the key at hand.
    ///
    /// - Parameters:
    ///   - keyFor: the lamp's key if the id is registered, else nil.
    ///   - welcome: the welcome to send (without proof); this machine adds the proof.
    public mutating func received(
        _ message: LampMessage, atMilliseconds now: UInt64, keyFor: (LampID) -> LampKey?, welcome: Welcome
    ) -> Action {
        switch helloReceived(message, atMilliseconds: now) {
        case .lookUpKey(let hello):
            return verify(hello, key: keyFor(hello.lampID), atMilliseconds: now, welcome: welcome)
        case .close(let code, let reason, let id):
            return .close(code: code, reason: reason, lampID: id)
        case .none:
            return .none
        }
    }

    /// Time passed: close a link that has not authenticated by the deadline.
    public mutating func tick(atMilliseconds now: UInt64) -> Action {
        guard case .awaitingHello = state, now > deadlineMilliseconds else { return .none }
        state = .closed
        return .close(code: LampCloseCode.handshakeTimeout, reason: "no hello within the deadline", lampID: nil)
    }
}
