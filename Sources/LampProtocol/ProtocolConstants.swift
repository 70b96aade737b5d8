/// Version numbers, limits and close codes of protocol v1 (SPEC.md §2, §10, §11).
public enum LampProtocolVersion {
    /// The WebSocket subprotocol token that selects this major version.
    public static let subprotocol = "lamplighter.v1"
    /// The HTTP path lamps connect to.
    public static let path = "/lamp/v1"
    /// This implementation's minor version: 1 added the lighting-program frames, 2 the fleet
    /// epoch in hello and welcome (and the rules of SPEC.md's "1.2 changes"). A peer with a
    /// higher minor version may append fields to any message (before the tag of a hello or
    /// welcome); we ignore them (SPEC.md §9).
    public static let minor: UInt8 = 2
}

/// The explicit limits of protocol v1 (SPEC.md §10).
public enum LampProtocolLimits {
    /// The largest message either side may send, in bytes. Chosen to hold one program
    /// page with room to spare while keeping a hostile peer's cost per message tiny.
    public static let maximumMessageSize = 1024
    /// How long a lamp has, from the challenge, to send a valid hello: 5 seconds.
    public static let handshakeDeadlineSeconds = 5
    /// The longest override: 30 days, in seconds.
    public static let maximumOverrideSeconds: UInt32 = 2_592_000
    /// The longest identify (blink) period, in seconds.
    public static let maximumIdentifySeconds: UInt16 = 600
    /// The allowed report interval, in seconds (config and welcome).
    public static let reportIntervalSeconds: ClosedRange<UInt16> = 1...3600
    /// The allowed ping interval announced in the welcome, in seconds.
    public static let pingIntervalSeconds: ClosedRange<UInt16> = 1...3600
    /// How far (2^24) above the controller's version sequence a lamp's reported version may
    /// lie before the controller refuses to follow it (SPEC.md §8.0, close 4005): 16 million
    /// changes is more than a fleet makes in decades, and the u32 space holds 256 such jumps.
    public static let maximumVersionJump: UInt32 = 1 << 24
}

/// WebSocket close codes used by protocol v1 (SPEC.md §11).
public enum LampCloseCode {
    /// Normal closure.
    public static let normal: UInt16 = 1000
    /// The controller is shutting down; reconnect with backoff.
    public static let goingAway: UInt16 = 1001
    /// A WebSocket-level protocol violation.
    public static let protocolError: UInt16 = 1002
    /// A text frame was received; only binary messages are allowed.
    public static let unsupportedData: UInt16 = 1003
    /// A valid message that is not allowed now (e.g. a command before authentication).
    public static let policyViolation: UInt16 = 1008
    /// A message larger than ``LampProtocolLimits/maximumMessageSize``.
    public static let messageTooBig: UInt16 = 1009
    /// The controller has too many handshakes in progress; reconnect with backoff.
    public static let tryAgainLater: UInt16 = 1013
    /// A newer authenticated link for the same lamp replaced this one.
    public static let replaced: UInt16 = 4000
    /// Unknown lamp id or wrong MAC.
    public static let authenticationFailed: UInt16 = 4001
    /// No valid hello within the handshake deadline.
    public static let handshakeTimeout: UInt16 = 4002
    /// A message that could not be decoded (other than an unknown type).
    public static let malformedMessage: UInt16 = 4003
    /// The peer did not answer pings in time (the controller), or sent nothing for three ping
    /// intervals (the lamp).
    public static let pingTimeout: UInt16 = 4004
    /// The lamp reported a version more than ``LampProtocolLimits/maximumVersionJump`` above
    /// the controller's sequence (SPEC.md §8.0): following it would exhaust the u32 space.
    public static let versionTooFarAhead: UInt16 = 4005
    /// A message after the welcome on a link of minor 2 or later whose tag is wrong or missing
    /// (SPEC.md §4.3): forged, replayed, reordered or after a dropped one. Not acted on.
    public static let frameAuthenticationFailed: UInt16 = 4006
    /// The lamp's hello announced a minor version below the controller's configured minimum
    /// (`lamp-minimum-minor`, SPEC.md §4.3): e.g. a lamp that cannot authenticate frames.
    public static let versionBelowMinimum: UInt16 = 4007
}
