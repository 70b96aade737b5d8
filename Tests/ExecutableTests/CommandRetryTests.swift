import Foundation
import OperatorAPI
import OperatorClient
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// lampctl's client sends every command with an Idempotency-Key and, when the connection
/// fails, once more with the same key.
@Suite("Command retry with an Idempotency-Key")
struct CommandRetryTests {
    @Test("the first connection is dropped without an answer: the command is sent again with the same key and answered")
    func retriesOnceWithTheSameKey() async throws {
        let server = try OneShotDroppingServer()
        let client = OperatorClient(server: URL(string: "http://127.0.0.1:\(server.port)")!, token: "t", timeoutSeconds: 5)
        let accepted = try await client.command(CommandRequest(target: "all", action: "on"))
        #expect(accepted.id == 7)
        let keys = server.keys
        #expect(keys.count == 2)
        #expect(keys.first.map(IdempotencyKey.isValid) == true && keys.first == keys.last)
    }
}

/// An HTTP server on a blocking socket for one exchange: it reads the first request and
/// closes the connection without answering (the answer lost), then answers the second with
/// a command's 202. It records each request's Idempotency-Key.
final class OneShotDroppingServer: Sendable {
    let port: Int
    private let listener: Int32
    private let seenKeys = Mutex<[String]>([])

    var keys: [String] { seenKeys.withLock { $0 } }

    init() throws {
        (listener, port) = try loopbackListener(backlog: 4)
        Thread.detachNewThread { self.serve() }
    }

    private func serve() {
        for exchange in 0..<2 {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: request, as: UTF8.self).contains("\r\n\r\n") {
                let count = recv(connection, &buffer, buffer.count, 0)
                guard count > 0 else { break }
                request += buffer[0..<count]
            }
            let text = String(decoding: request, as: UTF8.self)
            let key = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("idempotency-key:") }
                .map { String($0.dropFirst("idempotency-key:".count)).trimmingCharacters(in: .whitespaces) }
            seenKeys.withLock { $0.append(key ?? "") }
            if exchange == 1 {
                let body = #"{"id":7,"lamps":1,"target":"all"}"#
                let answer = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                _ = Array(answer.utf8).withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            close(connection)
        }
        close(listener)
    }
}
