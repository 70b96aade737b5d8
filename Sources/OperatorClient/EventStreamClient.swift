import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import OperatorAPI
import Synchronization

/// A client of the live event stream (`/api/v1/stream`) on SwiftNIO: connects, upgrades with
/// the bearer token, sends the subscriptions, and yields every event the controller sends.
///
/// The sequence ends when the controller closes normally; it throws
/// ``OperatorClientError/refused(status:_:)`` when the controller refuses the stream (close
/// 4401: no valid token, as 401; 1013: full, as 503; or an HTTP error) and
/// ``EventStreamClosed`` when it closes with another reason (e.g. 1008, too slow) or the
/// connection ends without a close frame (1006).
public enum EventStreamClient {
    /// The largest message accepted from the controller.
    public static let maximumMessageSize = 1 << 20

    /// Connects to `server` and subscribes with `requests`.
    public static func connect(
        server: URL, token: String?, requests: [StreamRequest]
    ) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        guard let host = server.host else { throw OperatorClientError.badResponse("no host in \(server)") }
        guard server.scheme == "http" else {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "the event stream client speaks plain ws:// only")
        }
        let port = server.port ?? 80
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream(bufferingPolicy: .unbounded)
        let outcome = StreamOutcome(continuation: continuation)
        let payloads = try requests.map { try APICoding.encoder().encode($0) }
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let upgrader = NIOWebSocketClientUpgrader(
                        maxFrameSize: maximumMessageSize, automaticErrorHandling: true,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let sender = try channel.pipeline.syncOperations.context(name: StreamUpgradeRequest.name)
                                channel.pipeline.syncOperations.removeHandler(context: sender, promise: nil)
                                try channel.pipeline.syncOperations.addHandler(StreamFrameHandler(outcome: outcome, requests: payloads))
                            }
                        })
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes, withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                    try channel.pipeline.syncOperations.addHandler(
                        StreamUpgradeRequest(host: "\(host):\(port)", token: token, outcome: outcome), name: StreamUpgradeRequest.name)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: port).get()
        } catch {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "\(error)")
        }
        // A close frame finishes the stream first; a connection that ends without one was
        // cut (RFC 6455 §7.1.5: 1006), which is not a normal end.
        channel.closeFuture.whenComplete { _ in
            outcome.finish(EventStreamClosed(code: 1006, reason: "the connection closed without a close frame"))
        }
        continuation.onTermination = { _ in channel.close(promise: nil) }
        return stream
    }
}

/// The controller closed the stream with a code other than normal closure.
public struct EventStreamClosed: Error, CustomStringConvertible, Sendable {
    /// The WebSocket close code, e.g. 1008.
    public let code: Int
    /// The controller's reason.
    public let reason: String

    /// A one-line explanation.
    public var description: String { "the controller closed the event stream (\(code)): \(reason)" }
}

/// Finishes the stream once, with the first outcome. The first call wins, even when
/// finishing re-enters it: finishing runs the stream's termination handler, which closes the
/// channel, whose close future finishes again ("ended without a close frame").
final class StreamOutcome: Sendable {
    let continuation: AsyncThrowingStream<StreamEvent, any Error>.Continuation
    private let finished = Mutex(false)

    init(continuation: AsyncThrowingStream<StreamEvent, any Error>.Continuation) {
        self.continuation = continuation
    }

    func yield(_ event: StreamEvent) {
        continuation.yield(event)
    }

    func finish(_ error: (any Error)?) {
        let first = finished.withLock { finished in
            defer { finished = true }
            return !finished
        }
        guard first else { return }
        continuation.finish(throwing: error)
    }
}

/// Sends the upgrade request; a plain HTTP answer (no upgrade) ends the stream with it.
final class StreamUpgradeRequest: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    static let name = "stream-upgrade-request"

    let host: String
    let token: String?
    let outcome: StreamOutcome
    private var status = 0
    private var body = ByteBuffer()

    init(host: String, token: String?, outcome: StreamOutcome) {
        self.host = host
        self.token = token
        self.outcome = outcome
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Host", host), ("Content-Length", "0")])
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/api/v1/stream", headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            let data = Data(body.readableBytesView)
            let error = (try? APICoding.decoder().decode(APIError.self, from: data)) ?? APIError(error: "HTTP \(status)")
            outcome.finish(OperatorClientError.refused(status: status, error))
            context.close(promise: nil)
        }
    }
}

/// After the upgrade: sends the subscriptions, decodes text messages into events.
final class StreamFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let outcome: StreamOutcome
    let requests: [Data]
    private var partial: ByteBuffer?

    init(outcome: StreamOutcome, requests: [Data]) {
        self.outcome = outcome
        self.requests = requests
    }

    func handlerAdded(context: ChannelHandlerContext) {
        for request in requests {
            var buffer = context.channel.allocator.buffer(capacity: request.count)
            buffer.writeBytes(request)
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer)), promise: nil)
        }
        context.flush()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            partial = frame.unmaskedData
        case .continuation:
            var more = frame.unmaskedData
            partial?.writeBuffer(&more)
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            return
        case .connectionClose:
            var payload = frame.unmaskedData
            let code = payload.readInteger(as: UInt16.self).map(Int.init) ?? 1005
            let reason = payload.readString(length: payload.readableBytes) ?? ""
            // The outcome first: the echo's write can complete at once, close the channel and
            // run the close future's "ended without a close frame" before this line is reached.
            switch code {
            case 1000, 1001: outcome.finish(nil)
            case 4401: outcome.finish(OperatorClientError.refused(status: 401, APIError(error: reason)))
            case 1013: outcome.finish(OperatorClientError.refused(status: 503, APIError(error: reason)))
            default: outcome.finish(EventStreamClosed(code: code, reason: reason))
            }
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.writeInteger(UInt16(1000))
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)))
                .whenComplete { _ in context.close(promise: nil) }
            return
        default:
            return
        }
        guard frame.fin, let message = partial else { return }
        partial = nil
        do {
            outcome.yield(try APICoding.decoder().decode(StreamEvent.self, from: Data(message.readableBytesView)))
        } catch {
            outcome.finish(OperatorClientError.badResponse("an event that is not JSON: \(error)"))
            context.close(promise: nil)
        }
    }
}
