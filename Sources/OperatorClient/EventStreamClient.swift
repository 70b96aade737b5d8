import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOWebSocket
import OperatorAPI
import Synchronization
import WSClient

/// A client of the live event stream (`/api/v1/stream`) on swift-websocket's `WebSocketClient`:
/// connects (`ws://`, or `wss://` for an `https://` server, e.g. behind a TLS proxy), upgrades
/// with the bearer token, sends the subscriptions, and yields every event the controller sends.
///
/// The sequence ends when the controller closes normally (1000, or 1001 when it stops); it
/// throws ``OperatorClientError/unreachable(server:reason:)`` when there is no connection,
/// ``OperatorClientError/refused(status:_:)`` when the controller refuses the stream (close
/// 4401: no valid token, as 401; 1013: full, as 503), ``OperatorClientError/notTheAPI(server:status:)``
/// when what answered does not upgrade, and ``EventStreamClosed`` when it closes with another
/// reason (e.g. 1008, too slow) or the connection ends without a close frame (1006).
public enum EventStreamClient {
    /// The largest message accepted from the controller.
    public static let maximumMessageSize = 1 << 20
    /// How long the controller has to answer the subscriptions (its first message) before
    /// the server counts as unreachable: a server that is not a WebSocket endpoint may say
    /// nothing at all (a TLS handshake to plain HTTP, say).
    public static let answerTimeout = Duration.seconds(10)

    /// The stream's WebSocket URL for an API server URL: `http` becomes `ws`, `https` `wss`.
    public static func streamURL(server: URL) throws -> String {
        guard var components = URLComponents(url: server, resolvingAgainstBaseURL: false), components.host != nil,
            let scheme = components.scheme, scheme == "http" || scheme == "https"
        else {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "not an http:// or https:// URL")
        }
        if scheme == "https", let host = components.host, host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) {
            throw OperatorClientError.unreachable(
                server: server.absoluteString,
                reason: "an https:// server needs its host name (the one its TLS certificate names), not an IP address")
        }
        components.scheme = scheme == "https" ? "wss" : "ws"
        components.path = "/api/v1/stream"
        components.query = nil
        guard let url = components.string else {
            throw OperatorClientError.unreachable(server: server.absoluteString, reason: "cannot build the stream's URL")
        }
        return url
    }

    /// Connects to `server` and subscribes with `requests`; connection failures arrive as the
    /// sequence's error.
    public static func connect(
        server: URL, token: String?, caFile: String? = nil, requests: [StreamRequest]
    ) async throws -> AsyncThrowingStream<StreamEvent, any Error> {
        let url = try streamURL(server: server)
        var tls: TLSConfiguration?
        if server.scheme == "https" {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if let caFile { configuration.trustRoots = .certificates(try OperatorClient.certificates(caFile, server: server.absoluteString)) }
            tls = configuration
        }
        let payloads = try requests.map { String(decoding: try APICoding.encoder().encode($0), as: UTF8.self) }
        var headers = HTTPFields()
        if let token { headers[.authorization] = "Bearer \(token)" }
        let configuration = WebSocketClientConfiguration(maxFrameSize: maximumMessageSize, additionalHeaders: headers)
        let (stream, continuation) = AsyncThrowingStream<StreamEvent, any Error>.makeStream(bufferingPolicy: .unbounded)
        // The client logs nothing of its own into lampctl's output.
        let logger = Logger(label: "lampctl.stream", factory: { _ in SwiftLogNoOpLogHandler() })
        let serverText = server.absoluteString
        let answered = AnswerFlag()
        let task = Task {
            do {
                let close = try await WebSocketClient.connect(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                    for payload in payloads {
                        try await outbound.write(.text(payload))
                    }
                    for try await message in inbound.messages(maxSize: maximumMessageSize) {
                        answered.value.store(true, ordering: .relaxed)
                        guard case .text(let text) = message else { continue }
                        do {
                            continuation.yield(try APICoding.decoder().decode(StreamEvent.self, from: Data(text.utf8)))
                        } catch {
                            continuation.finish(throwing: OperatorClientError.badResponse("an event that is not JSON: \(error)"))
                            return
                        }
                    }
                }
                continuation.finish(throwing: outcome(close, tokenGiven: token != nil, server: serverText))
            } catch {
                continuation.finish(throwing: failure(error, server: serverText, caFile: caFile))
            }
        }
        let watchdog = Task {
            try await Task.sleep(for: answerTimeout)
            guard !answered.value.load(ordering: .relaxed) else { return }
            continuation.finish(
                throwing: OperatorClientError.unreachable(
                    server: serverText, reason: "no answer to the subscription within \(answerTimeout): is it lamplighterd's operator API?"))
            task.cancel()
        }
        continuation.onTermination = { _ in
            task.cancel()
            watchdog.cancel()
        }
        return stream
    }

    /// What a close frame (or none) means for the sequence: nil for a normal end.
    static func outcome(_ close: WebSocketCloseFrame?, tokenGiven: Bool, server: String) -> (any Error)? {
        guard let close else {
            return EventStreamClosed(code: 1006, reason: "the connection closed without a close frame")
        }
        let code = Int(UInt16(webSocketErrorCode: close.closeCode))
        let reason = close.reason ?? ""
        switch code {
        case 1000, 1001: return nil
        case 4401: return tokenGiven ? OperatorClientError.refused(status: 401, APIError(error: OperatorClient.tokenRefused)) : OperatorClientError.noToken(server: server)
        case 1013: return OperatorClientError.refused(status: 503, APIError(error: reason))
        default: return EventStreamClosed(code: code, reason: reason)
        }
    }

    /// A connection failure as the client's error, in words.
    static func failure(_ error: any Error, server: String, caFile: String? = nil) -> any Error {
        if error is CancellationError { return error }
        if let client = error as? WebSocketClientError, client == .webSocketUpgradeFailed {
            return OperatorClientError.notTheAPI(server: server, status: 0)
        }
        if error is WebSocketClientError { return OperatorClientError.badResponse("\(error)") }
        if error is NIOSSLError || error is BoringSSLError {
            return OperatorClientError.unreachable(server: server, reason: OperatorClient.describeTLS(error, caFile: caFile))
        }
        return OperatorClientError.unreachable(server: server, reason: describe(error))
    }

    /// A connection failure in words: the system's reason, not the NIO type's dump.
    static func describe(_ error: any Error) -> String {
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return describe(first.error) }
            if failure.dnsAError != nil || failure.dnsAAAAError != nil { return "cannot resolve \(failure.host)" }
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if error is NIOSSLError || error is BoringSSLError {
            return "the TLS handshake failed: the server does not speak TLS, or its certificate is not trusted (plain HTTP is http://)"
        }
        if error is ChannelError { return "the connection failed (\(error))" }
        return "\(error)"
    }
}

/// Whether the controller has answered yet, shared by the connection and its watchdog.
final class AnswerFlag: Sendable {
    let value = Atomic<Bool>(false)
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
