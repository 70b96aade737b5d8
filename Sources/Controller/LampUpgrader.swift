import LampAuth
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The lamp port's WebSocket upgrade (RFC 6455 §4.2.2), which leaves only the link handler in
/// the pipeline.
///
/// NIO's own upgrader adds its frame encoder and decoder. The link handler reads the lamp's
/// frames from the bytes and writes whole frames itself, so the decoder had to be taken out
/// again after every upgrade, and the encoder stayed: it cannot be removed. It cost each link
/// a pipeline context, the encoder and its header buffer, about 0.3 KiB of a link's 4.2 KiB
/// (BENCHMARKS.md, "What the 4.22 KiB are"). The checks are NIO's: exactly one
/// `Sec-WebSocket-Key` and one `Sec-WebSocket-Version`, which must be 13, then the
/// controller's own (path and subprotocol); a request that fails them is not upgraded, and
/// the HTTP handler after the upgrader refuses it.
struct LampUpgrader: HTTPServerProtocolUpgrader {
    let supportedProtocol = "websocket"
    /// None: RFC 6455 does not make clients list them in `Connection`; checked by hand.
    let requiredUpgradeHeaders: [String] = []
    /// The response's own headers for a request this controller takes, or nil.
    let accept: @Sendable (HTTPRequestHead) -> HTTPHeaders?
    /// Adds the link's handler to the upgraded pipeline (on its event loop).
    let link: @Sendable (any Channel) throws -> Void

    /// Why a request is not upgraded.
    enum Refusal: Error {
        /// A missing, repeated or wrong `Sec-WebSocket-Key` or `Sec-WebSocket-Version`.
        case invalidHandshake
        /// Not the lamp path, or without the lamp subprotocol.
        case notALampLink
    }

    /// The upgrade's response headers for `head`, or the refusal.
    static func responseHeaders(for head: HTTPRequestHead, accepting accept: (HTTPRequestHead) -> HTTPHeaders?) throws -> HTTPHeaders {
        let keys = head.headers[canonicalForm: "Sec-WebSocket-Key"]
        let versions = head.headers[canonicalForm: "Sec-WebSocket-Version"]
        guard keys.count == 1, versions.count == 1, versions[0] == "13" else { throw Refusal.invalidHandshake }
        guard var headers = accept(head) else { throw Refusal.notALampLink }
        headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        headers.add(name: "Sec-WebSocket-Accept", value: WebSocketAccept.value(forKey: String(keys[0])))
        headers.replaceOrAdd(name: "Connection", value: "upgrade")
        return headers
    }

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        channel.eventLoop.makeCompletedFuture { try LampUpgrader.responseHeaders(for: upgradeRequest, accepting: accept) }
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let channel = context.channel
        return context.eventLoop.makeCompletedFuture { try link(channel) }
    }
}
