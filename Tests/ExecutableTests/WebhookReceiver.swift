import Foundation
import LampAuth
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A real HTTP receiver for webhook deliveries, on loopback: NIO's HTTP/1 server pipeline.
/// It checks each delivery's signature as the README tells receivers to, records it, and
/// answers as ``behaviour`` says at that moment.
final class WebhookReceiver: Sendable {
    /// How it answers.
    enum Behaviour: Sendable {
        /// This status, empty body.
        case status(Int)
        /// Never answers (the connection stays open).
        case stall
        /// 200 with a body of this many bytes, streamed.
        case huge(Int)
    }

    /// One request as received.
    struct Received: Sendable {
        let delivery: Int64
        let event: String
        let lamp: String?
        let type: String
        /// The signature was valid for the secret and its time within the replay window.
        let signatureValid: Bool
        /// What the receiver answered (nil: nothing).
        let answered: Int?
        let body: String
    }

    let port: Int
    let secret: String
    private let channel: any Channel
    private let state = Mutex<(behaviour: Behaviour, received: [Received])>((.status(200), []))

    init(secret: String, behaviour: Behaviour = .status(200)) async throws {
        self.secret = secret
        state.withLock { $0.behaviour = behaviour }
        let box = Box()
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(receiver: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress?.port ?? 0
        box.receiver.withLock { $0 = self }
    }

    /// The URL to give the daemon.
    var url: String { "http://127.0.0.1:\(port)/hooks/lamps" }

    /// Changes how it answers from now on.
    func set(_ behaviour: Behaviour) { state.withLock { $0.behaviour = behaviour } }

    /// Everything received so far.
    var received: [Received] { state.withLock { $0.received } }

    /// The deliveries it accepted (2xx), in the order they arrived.
    var accepted: [Received] { received.filter { ($0.answered ?? 0) / 100 == 2 } }

    func close() async {
        try? await channel.close()
    }

    /// The README's check: `t` within 300 s of now, `v1` the hex HMAC-SHA256 of "<t>.<body>".
    static func verify(signature: String, body: [UInt8], secret: String, now: Date = Date()) -> Bool {
        var t: String?
        var v1: String?
        for part in signature.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return false }
            if pair[0] == "t" { t = pair[1] }
            if pair[0] == "v1" { v1 = pair[1] }
        }
        guard let t, let v1, let seconds = Double(t), abs(now.timeIntervalSince1970 - seconds) <= 300 else { return false }
        let mac = HMACSHA256(key: Array(secret.utf8)).authenticationCode(Array("\(t).".utf8) + body)
        return mac.map { String(format: "%02x", $0) }.joined() == v1
    }

    fileprivate func handle(head: HTTPRequestHead, body: [UInt8]) -> Behaviour {
        let behaviour = state.withLock { $0.behaviour }
        var answered: Int?
        switch behaviour {
        case .status(let code): answered = code
        case .huge: answered = 200
        case .stall: answered = nil
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
        let received = Received(
            delivery: Int64(head.headers.first(name: "Lamplighter-Delivery") ?? "") ?? -1, event: head.headers.first(name: "Lamplighter-Event") ?? "",
            lamp: json?["lamp"] as? String, type: json?["type"] as? String ?? "",
            signatureValid: Self.verify(signature: head.headers.first(name: "Lamplighter-Signature") ?? "", body: body, secret: secret),
            answered: answered, body: String(decoding: body, as: UTF8.self))
        state.withLock { $0.received.append(received) }
        return behaviour
    }

    fileprivate final class Box: Sendable {
        let receiver = Mutex<WebhookReceiver?>(nil)
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let receiver: Box
        var head: HTTPRequestHead?
        var body: [UInt8] = []

        init(receiver: Box) { self.receiver = receiver }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
                body = []
            case .body(var buffer):
                body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end:
                guard let head, let receiver = receiver.receiver.withLock({ $0 }) else { return }
                let behaviour = receiver.handle(head: head, body: body)
                switch behaviour {
                case .stall:
                    return
                case .status(let code):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: "0")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: code), headers: headers))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                case .huge(let size):
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Length", value: "\(size)")
                    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
                    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 65536)
                    var left = size
                    while left > 0 {
                        let part = chunk.getSlice(at: 0, length: min(left, 65536)) ?? chunk
                        left -= part.readableBytes
                        context.write(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
                    }
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}
