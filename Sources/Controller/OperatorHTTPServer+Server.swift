import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The operator API's connection limits: the first request's header must arrive in time, a
/// connection idle between requests is closed, and only so many connections may be waiting
/// for their first header at once (slowloris and idle floods hold no file descriptors the
/// lamps need).
public struct OperatorConnectionLimits: Sendable {
    /// Connections still sending their first request's header: at most this many at once,
    /// each for at most this long.
    public var firstHeader = ConnectionLimits(maximumConnections: 1024, deadlineMilliseconds: 10_000)
    /// A connection with no request in progress for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(30)
    /// What the first-header limit closed, and how many wait now.
    public let counters = ConnectionPhaseCounters()

    /// The defaults.
    public init() {}
}

extension OperatorHTTPServer {
    /// The HTTP/1.1 server (the router's routes) with the event stream's WebSocket upgrade
    /// (``streamUpgrade(_:)``), behind the limits.
    /// With `tls`, the server speaks only `https://` (and the stream `wss://`): a connection
    /// that does not start a TLS handshake is closed.
    public static func server(
        service: FleetService, limits: OperatorConnectionLimits = OperatorConnectionLimits(), tls: ReloadableTLSContext? = nil
    ) -> HTTPServerBuilder {
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: .init(idleTimeout: limits.idleTimeout))
        let shouldUpgrade = streamUpgrade(service)
        return HTTPServerBuilder { responder in
            GuardedChannel(
                inner: HTTP1WebSocketUpgradeChannel(responder: responder, configuration: configuration, shouldUpgrade: shouldUpgrade),
                limits: limits.firstHeader, counters: limits.counters, tls: tls)
        }
    }
}

/// A child channel with a ``ConnectionGuard`` in front of everything the inner channel sets
/// up: Hummingbird's idle timeout starts only after a first request's header, so the guard
/// covers the time before it. With TLS, the TLS handler comes first and the guard after it, so
/// the guard finds the end of the header in plain text; its deadline, set when it is added,
/// covers the TLS handshake as well.
struct GuardedChannel<Inner: ServerChildChannel & HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    let inner: Inner
    let limits: ConnectionLimits
    let counters: ConnectionPhaseCounters
    let tls: ReloadableTLSContext?

    var responder: HTTPChannelHandler.Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        do {
            // In front of the HTTP decoder, behind the guard (and TLS): plain bytes.
            try channel.pipeline.syncOperations.addHandler(StreamFramingCheck(), position: .first)
            try channel.pipeline.syncOperations.addHandler(
                ConnectionGuard(limits: limits, counters: counters, endsAtFirstHeader: true), position: .first)
            if let tls {
                try channel.pipeline.syncOperations.addHandler(tls.makeHandler(), position: .first)
            }
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(MalformedRequestAnswer(), position: .after(decoder))
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Answers a request the HTTP parser refused (e.g. a raw 0xFF byte in the path) with 400 and
/// closes the connection: before, the API never answered and kept it open (issue 12). Sits
/// after the request decoder; writes its raw answer below the response encoder, since no
/// response has begun.
final class MalformedRequestAnswer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Any

    static let body = #"{"error":"the request is not valid HTTP/1.1"}"# + "\n"
    static let answer = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\n"
        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self)
        else { return context.fireErrorCaught(error) }
        let buffer = context.channel.allocator.buffer(string: Self.answer)
        encoder.writeAndFlush(NIOAny(buffer)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
