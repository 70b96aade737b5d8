import FleetCore
import LampProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The lamp gateway's settings and explicit limits.
public struct GatewayConfiguration: Sendable {
    /// Address to listen on for lamps.
    public var host: String
    /// Port to listen on for lamps (0: any free port).
    public var port: Int
    /// Largest message accepted, bytes (SPEC.md §10).
    public var maximumMessageSize = LampProtocolLimits.maximumMessageSize
    /// Time a lamp has to authenticate, milliseconds (SPEC.md §4.2: at most 5 s).
    public var handshakeDeadlineMilliseconds: UInt64 = UInt64(LampProtocolLimits.handshakeDeadlineSeconds) * 1000
    /// Links allowed to be in their handshake at once; more are closed with 1013. Bounds the
    /// cost of a connection flood (each pending link holds a socket and a little memory).
    public var maximumPendingHandshakes = 2048
    /// Connections on the lamp port at once, in any phase (before the upgrade, in the
    /// handshake, linked): one more is closed as soon as it is accepted, and the lamp moves on
    /// to another controller (SPEC.md §13). Every link is an open file; a process at its
    /// open-file limit cannot open anything else: its operator API stops answering, and the
    /// Swift runtime's thread pool (libdispatch, which reads /proc for each worker) ends the
    /// process. The default keeps ``reservedFiles`` of the limit for everything else.
    public var maximumLinks = GatewayConfiguration.defaultMaximumLinks()
    /// Open files kept for what is not a lamp link (the database, the operator API and the
    /// event stream, the thread pool's reads of /proc) when ``maximumLinks`` is derived from
    /// the open-file limit: one process still holds 19,936 links under a limit of 20,000.
    public static let reservedFiles = 64

    /// The process's open-file limit (the soft one) less ``reservedFiles``, at least 1.
    public static func defaultMaximumLinks() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else { return 1_000_000 }
        return max(1, Int(clamping: limit.rlim_cur) - reservedFiles)
    }
    /// Connections on the lamp port not yet upgraded to WebSocket: at most this many at once
    /// (more are closed at once), each for at most this long (then closed). Bounds what a
    /// flood of idle or slow strangers holds before the handshake's own deadline applies.
    public var upgradeLimits = ConnectionLimits(maximumConnections: 4096, deadlineMilliseconds: 10_000)
    /// Failed handshakes allowed from one source address before its new connections are
    /// refused for a doubling backoff (see ``HandshakeFailureLimits``).
    public var handshakeFailureLimits = HandshakeFailureLimits()
    /// TLS for the lamp port (`wss://`): nil serves plain `ws://`. With TLS, a connection that
    /// does not start a TLS handshake is closed (no plain text on a TLS port).
    public var tls: ReloadableTLSContext?
    /// Seconds between pings; a link silent for twice this is closed with 4004 (SPEC.md §2).
    public var pingIntervalSeconds: UInt16 = 20
    /// Report interval announced in the welcome, seconds.
    public var reportIntervalSeconds: UInt16 = 60
    /// How long to wait for an ack before sending a request again, milliseconds.
    public var requestTimeoutMilliseconds: UInt64 = 10_000
    /// The lowest protocol minor a lamp's hello may announce, 0 to 2 (SPEC.md §4.3): 2 refuses
    /// lamps that cannot authenticate frames (and downgraded links) with 4007.
    public var minimumLampMinorVersion: UInt8 = 0

    /// Checks every limit against SPEC.md's ranges; the gateway refuses to start otherwise.
    public func validate() throws(GatewayError) {
        guard LampProtocolLimits.pingIntervalSeconds.contains(pingIntervalSeconds) else {
            throw GatewayError(description: "ping interval \(pingIntervalSeconds) s is outside 1...3600")
        }
        guard LampProtocolLimits.reportIntervalSeconds.contains(reportIntervalSeconds) else {
            throw GatewayError(description: "report interval \(reportIntervalSeconds) s is outside 1...3600")
        }
        guard (1...LampProtocolLimits.maximumMessageSize).contains(maximumMessageSize) else {
            throw GatewayError(description: "maximum message size \(maximumMessageSize) is outside 1...1024")
        }
        guard upgradeLimits.maximumConnections >= 1, (upgradeLimits.deadlineMilliseconds ?? 1) >= 1 else {
            throw GatewayError(description: "the limits on connections before the upgrade must be positive")
        }
        guard handshakeFailureLimits.isValid else {
            throw GatewayError(description: "the limits on failed handshakes must be positive, the maximum backoff at least the first")
        }
        guard minimumLampMinorVersion <= LampProtocolVersion.minor else {
            throw GatewayError(description: "lamp minimum minor \(minimumLampMinorVersion) is outside 0...\(LampProtocolVersion.minor)")
        }
        guard maximumLinks >= 1 else {
            throw GatewayError(description: "the maximum of lamp links must be positive")
        }
        guard maximumPendingHandshakes >= 1, handshakeDeadlineMilliseconds >= 1, requestTimeoutMilliseconds >= 1 else {
            throw GatewayError(description: "pending handshakes, handshake deadline and request timeout must be positive")
        }
    }

    /// The settings each link's connection state machine runs with.
    public var connection: ConnectionStateMachine.Configuration {
        ConnectionStateMachine.Configuration(
            handshakeDeadlineMilliseconds: handshakeDeadlineMilliseconds, pingIntervalMilliseconds: UInt64(pingIntervalSeconds) * 1000,
            requestTimeoutMilliseconds: requestTimeoutMilliseconds, minimumLampMinorVersion: minimumLampMinorVersion)
    }

    /// Settings for lamps on `host:port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
