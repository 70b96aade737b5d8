import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import OperatorAPI

extension OperatorHTTPServer {
    /// How long a refused stream waits for the client's close frame.
    static let closeHandshakeTimeout: Duration = .seconds(2)
    /// How long a refused stream waits for the client's first frame before it sends the close.
    static let refusalFirstFrameWait: Duration = .seconds(1)

    /// Refuses an upgraded stream connection with `code` and `reason` (4401: no valid token;
    /// 1013: full), so that every client reads the reason.
    ///
    /// The close frame waits for the client's first frame (its subscriptions), at most
    /// ``refusalFirstFrameWait``. Sent at once, it and the server's end of the connection
    /// could arrive in the same read as the 101 answer, while the client was still setting
    /// up its WebSocket. swift-websocket's client then saw the end before the buffered close
    /// frame, lost the frame, and `lampctl watch --token nope` waited 10 s in 1 run of 20
    /// instead of saying 401. Once the client has sent a frame, its upgrade is done.
    ///
    /// Then it reads (and drops) what the client sends until the client's close frame, at
    /// most ``closeHandshakeTimeout``. Closing the socket while the client's subscriptions
    /// are still unread makes the kernel answer with a reset, which can destroy the close
    /// frame before the client reads it (RFC 6455 §7.1.1: the server closes the TCP connection
    /// after the closing handshake). Then it closes the connection itself, so a client that
    /// never answers the close frame is not waited for.
    static func refuse(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, _ channel: any Channel,
        code: WebSocketErrorCode, reason: String
    ) async {
        let closeOnce = ResumeOnce()
        @Sendable func sendClose() async {
            guard closeOnce.claim() else { return }
            try? await outbound.close(code, reason: reason)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await _ in inbound {
                        await sendClose()
                    }
                } catch {}
            }
            group.addTask {
                try? await Task.sleep(for: refusalFirstFrameWait)
                await sendClose()
                try? await Task.sleep(for: closeHandshakeTimeout)
            }
            await group.next()
            channel.close(promise: nil)
            group.cancelAll()
        }
    }

    /// The stream's upgrade decision and handler, for the server channel itself
    /// (``server(_:service:limits:)``), not the router: hummingbird-websocket's router upgrade
    /// keeps its request context in a box the context itself holds, a reference cycle that
    /// leaked each upgraded connection's whole channel (about 5 KB, also for refused tokens;
    /// issue 12, hole 1). Here the handler captures only what it needs.
    ///
    /// `GET /api/v1/stream`: the live event stream, a WebSocket carrying JSON text.
    ///
    /// The client sends `{"op": "subscribe", "channels": ["fleet"]}` (or `unsubscribe`); each
    /// request is answered with `subscribed` and the channels now held, in order with the
    /// events. Each connection has its own bounded queue (``EventHub/bufferLimit``): a client
    /// that falls that far behind is closed with 1008 and the reason, and the controller never
    /// waits for it. If even the close frame cannot leave (the client stopped reading), the
    /// connection is cut five seconds later.
    ///
    /// An upgrade request without a valid token is upgraded and closed at once with 4401 and
    /// the reason; with the stream full, with 1013 (try again later). (A refused upgrade would
    /// reach the client as a bare 400.) Any other path asking to upgrade is refused (400).
    static func streamUpgrade(
        _ service: FleetService
    ) -> @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let hub = service.events.hub
        let logger = service.logger
        let tokens = service.tokenCache
        return { head, channel, _ in
            let uri = URI(head.path ?? "")
            guard head.method == .get, uri.path == TokenAuthenticator.streamPath else { return .dontUpgrade }
            let authorization = head.headerFields[.authorization]
            let caller = await TokenAuthenticator.caller(
                authorization: authorization, queryToken: authorization == nil ? uri.queryParameters.get("token") : nil,
                tokens: tokens, logger: logger)
            guard case .success(let caller) = caller else {
                return .upgrade([:]) { inbound, outbound, _ in
                    await refuse(
                        inbound, outbound, channel, code: .unknown(4401),
                        reason: "a valid token is required: Authorization: Bearer TOKEN or ?token=")
                }
            }
            return .upgrade([:]) { inbound, outbound, _ in
                try await stream(inbound, outbound, caller: caller.name, channel: channel, hub: hub, logger: logger)
            }
        }
    }

    /// One subscriber's life on an upgraded stream connection.
    static func stream(
        _ inbound: WebSocketInboundStream, _ outbound: WebSocketOutboundWriter, caller: String, channel: any Channel, hub: EventHub,
        logger: Logger
    ) async throws {
        guard hub.subscriberCount < maximumStreamSubscribers else {
            await refuse(
                inbound, outbound, channel, code: .unknown(1013), reason: "too many stream connections (\(maximumStreamSubscribers)); try later")
            return
        }
        let subscriber = hub.subscribe {
            logger.notice("stream subscriber too slow, disconnecting", metadata: ["api.caller": "\(caller)"])
            channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        }
        defer { hub.unsubscribe(subscriber) }
        logger.info("stream subscriber connected", metadata: ["api.caller": "\(caller)"])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { subscriber.finish() }
                for try await message in inbound.messages(maxSize: maximumStreamRequestSize) {
                    subscriber.offer(EventHub.encode(answer(message, subscriber)))
                }
            }
            group.addTask {
                while true {
                    switch await subscriber.next() {
                    case .messages(let batch):
                        for text in batch {
                            try await outbound.write(.text(text))
                        }
                    case .overflowed:
                        try await outbound.close(.policyViolation, reason: subscriber.overflowReason)
                        return
                    case .finished:
                        return
                    }
                }
            }
            try await group.next()
            subscriber.finish()
            group.cancelAll()
        }
        logger.info("stream subscriber disconnected", metadata: ["api.caller": "\(caller)"])
    }

    /// The stream's route in the router: what a request that does not upgrade gets (426 with
    /// a valid token; the upgrade itself is the server channel's, ``streamUpgrade(_:)``).
    static func streamRoute(_ api: RouterGroup<Context>, _ service: FleetService) {
        route(api, .get, "stream", .viewer, service) { _, _, _ in
            OperatorHTTPServer.failure(APIFailure(status: 426, APIError(error: "the event stream is a WebSocket: upgrade to it")))
        }
    }

    /// The answer to one client message: `subscribed` with the channels now held, or `error`.
    static func answer(_ message: WebSocketMessage, _ subscriber: StreamSubscriber) -> StreamEvent {
        var reply = StreamEvent(type: "error", at: Date())
        guard case .text(let text) = message else {
            reply.error = "send JSON text, e.g. {\"op\": \"subscribe\", \"channels\": [\"fleet\"]}"
            return reply
        }
        let request: StreamRequest
        do {
            request = try APICoding.decoder().decode(StreamRequest.self, from: Data(text.utf8))
        } catch {
            reply.error = "not a stream request: send {\"op\": \"subscribe\" or \"unsubscribe\", \"channels\": [...]}"
            return reply
        }
        if let bad = request.channels.first(where: { !StreamChannel.isValid($0) }) {
            reply.error = "channel \(bad) is not fleet, group:NAME or lamp:ID"
            return reply
        }
        switch request.op {
        case "subscribe":
            var interval: UInt64?
            if let seconds = request.statusIntervalSeconds {
                guard seconds.isFinite, (0...3600).contains(seconds) else {
                    reply.error = "statusIntervalSeconds must be from 0 to 3600"
                    return reply
                }
                interval = UInt64(seconds * 1000)
            }
            guard let channels = subscriber.subscribe(request.channels, statusIntervalMilliseconds: interval, limit: maximumStreamChannels)
            else {
                reply.error = "at most \(maximumStreamChannels) channels per connection"
                return reply
            }
            reply.channels = channels
        case "unsubscribe":
            reply.channels = subscriber.unsubscribe(request.channels)
        default:
            reply.error = "op must be subscribe or unsubscribe"
            return reply
        }
        reply.type = "subscribed"
        return reply
    }
}
