import NIOCore
import Synchronization

/// The limits on connections that have not yet proved anything: how many may be open at once
/// and how long one may stay in that phase. A stranger's connection costs a socket and a few
/// KiB until it is closed; without these, slow or idle strangers (slowloris) hold the process's
/// file descriptors, which the lamps' links need, for ever.
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections allowed in the phase at once; the next one is closed at once.
    public var maximumConnections: Int
    /// How long a connection may stay in the phase, milliseconds; then it is closed. Nil: no
    /// deadline (another part of the pipeline bounds the time, e.g. an idle timeout).
    public var deadlineMilliseconds: Int64?

    /// Limits of `maximumConnections` at once, each for at most `deadlineMilliseconds`.
    public init(maximumConnections: Int, deadlineMilliseconds: Int64?) {
        self.maximumConnections = maximumConnections
        self.deadlineMilliseconds = deadlineMilliseconds
    }
}

/// How many connections are in a guarded phase now, and how many were closed by its limits.
public final class ConnectionPhaseCounters: Sendable {
    let open = AtomicCount()
    let refusedOverLimit = AtomicCount()
    let closedAtDeadline = AtomicCount()

    init() {}

    /// Connections in the phase now.
    public var current: Int { open.current }
    /// Connections closed at once because the phase was full.
    public var refused: Int { refusedOverLimit.current }
    /// Connections closed because they stayed in the phase past its deadline.
    public var expired: Int { closedAtDeadline.current }
}

/// Guards the first phase of a connection: counts it, closes it at once when the phase is
/// full, and closes it when it is still in the phase at the deadline. It sits first in the
/// pipeline and passes every byte on. The phase ends when the handler is removed (the lamp
/// port's upgrade completion does that), when the channel closes, or, with
/// `endsAtFirstHeader`, when the bytes of a first complete HTTP header block have passed
/// (the operator API: from then on the server's idle timeout applies).
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let limits: ConnectionLimits
    private let counters: ConnectionPhaseCounters
    private let endsAtFirstHeader: Bool
    private var started = false
    private var counted = false
    private var deadline: Scheduled<Void>?
    /// The last bytes seen, for finding CR LF CR LF across reads.
    private var tail: UInt32 = 0

    init(limits: ConnectionLimits, counters: ConnectionPhaseCounters, endsAtFirstHeader: Bool = false) {
        self.limits = limits
        self.counters = counters
        self.endsAtFirstHeader = endsAtFirstHeader
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard endsAtFirstHeader, counted else { return context.fireChannelRead(data) }
        let bytes = unwrapInboundIn(data)
        var ended = false
        for byte in bytes.readableBytesView {
            tail = tail << 8 | UInt32(byte)
            if tail == 0x0D0A_0D0A {
                ended = true
                break
            }
        }
        context.fireChannelRead(data)
        if ended {
            leave()
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A connection refused over the limit goes no further.
        if start(context) { context.fireChannelActive() }
    }

    /// Enters the phase once: counted, refused over the limit (false), the deadline set.
    @discardableResult
    private func start(_ context: ChannelHandlerContext) -> Bool {
        guard !started else { return true }
        started = true
        counted = true
        if !counters.open.add(within: limits.maximumConnections) {
            counters.refusedOverLimit.add()
            leave()
            context.close(promise: nil)
            return false
        }
        guard let milliseconds = limits.deadlineMilliseconds else { return true }
        let channel = context.channel
        let counters = self.counters
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(milliseconds)) {
            counters.closedAtDeadline.add()
            channel.close(promise: nil)
        }
        return true
    }

    /// The upgrade removed it, or the channel closed (which removes every handler).
    func handlerRemoved(context: ChannelHandlerContext) {
        leave()
    }

    /// Ends the phase once: uncounted, deadline cancelled.
    private func leave() {
        deadline?.cancel()
        deadline = nil
        if counted {
            counted = false
            counters.open.subtract()
        }
    }
}
