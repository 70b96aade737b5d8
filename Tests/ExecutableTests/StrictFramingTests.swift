import Foundation
import LampProtocol
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: an unmasked client frame, RSV bits and a reserved opcode were accepted silently
/// on the lamp port; RFC 6455 and SPEC.md §11 say close with 1002.
@Suite("Strict WebSocket framing")
struct StrictFramingTests {
    @Test("on the lamp port an unmasked frame, RSV bits or a reserved opcode close the link with 1002")
    func lampPort() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let mask: [UInt8] = [0, 0, 0, 0]
        let frames: [(String, [UInt8])] = [
            ("unmasked binary", [0x82, 0x01, 0x02]),
            ("RSV1", [0xC2, 0x81] + mask + [0x02]),
            ("RSV3", [0x92, 0x81] + mask + [0x02]),
            ("opcode 3", [0x83, 0x81] + mask + [0x02]),
            ("opcode 0xB", [0x8B, 0x80] + mask),
        ]
        for (name, frame) in frames {
            let (descriptor, _) = try Self.upgrade(
                port: daemon.lampPort, path: LampProtocolVersion.path,
                header: "Sec-WebSocket-Protocol: \(LampProtocolVersion.subprotocol)")
            defer { close(descriptor) }
            _ = try #require(FloodHello.readFrame(descriptor))  // the challenge
            _ = send(descriptor, frame, frame.count, Int32(MSG_NOSIGNAL))
            #expect(Self.closeCode(descriptor) == 1002, "\(name)")
        }
    }
}

extension StrictFramingTests {
    @Test("on the API's event stream an unmasked frame, RSV bits or a reserved opcode close it with 1002; masked frames do not")
    func streamPort() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let mask: [UInt8] = [1, 2, 3, 4]
        let cases: [(String, [UInt8], UInt16?)] = [
            ("unmasked text", [0x81, 0x02] + Array("hi".utf8), 1002),
            ("RSV2", [0xA1, 0x80] + mask, 1002),
            ("opcode 3", [0x83, 0x80] + mask, 1002),
            // Sent in the same packet as the upgrade request, before the 101 is written.
            ("unmasked, early", [0x81, 0x00], 1002),
            // A masked ping, then a masked close: the server answers the close with its own (1000).
            ("masked ping and close", [0x89, 0x80] + mask + [0x88, 0x82] + mask + [0x03 ^ 1, 0xE8 ^ 2], 1000),
        ]
        for (name, frame, expected) in cases {
            let early = name.hasSuffix("early")
            let (descriptor, head) = try Self.upgrade(
                port: daemon.apiPort, path: "/api/v1/stream", header: "Authorization: Bearer \(daemon.adminToken)",
                sendingAlong: early ? frame : [])
            defer { close(descriptor) }
            #expect(head.hasPrefix("HTTP/1.1 101"), "\(name)")
            if !early { _ = send(descriptor, frame, frame.count, Int32(MSG_NOSIGNAL)) }
            #expect(Self.closeCode(descriptor) == expected, "\(name)")
        }
    }
}

extension StrictFramingTests {
    /// A refusal sent together with the 101 (and the server's end of the connection right
    /// after it) could reach a client still setting up its WebSocket: swift-websocket's client
    /// lost the close frame, and `lampctl watch --token nope` waited 10 s (1 run in 20).
    @Test("a refused stream (4401) is closed after the client's first frame, or after 1 s from a silent client; never with the 101")
    func refusalWaitsForTheClient() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        let upgraded = ContinuousClock.now
        let (descriptor, head) = try Self.upgrade(port: daemon.apiPort, path: "/api/v1/stream", header: "Authorization: Bearer nope")
        defer { close(descriptor) }
        #expect(head.hasPrefix("HTTP/1.1 101"))
        try await Task.sleep(for: .milliseconds(300))
        var byte: UInt8 = 0
        errno = 0
        let early = recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT) | Int32(MSG_PEEK))
        // On a loaded machine this check may come after the silent client's second: then the
        // close may be there, rightly.
        if ContinuousClock.now - upgraded < .seconds(1) {  // the server's refusalFirstFrameWait
            #expect(early == -1 && (errno == EAGAIN || errno == EWOULDBLOCK), "the refusal left before the client's first frame (\(early))")
        }
        let mask: [UInt8] = [1, 2, 3, 4]
        let subscribe = Array(#"{"op":"subscribe","channels":["fleet"]}"#.utf8)
        let frame = [0x81, 0x80 | UInt8(subscribe.count)] + mask + subscribe.enumerated().map { $1 ^ mask[$0 % 4] }
        _ = send(descriptor, frame, frame.count, Int32(MSG_NOSIGNAL))
        #expect(Self.closeCode(descriptor) == 4401)

        let clock = ContinuousClock()
        let started = clock.now
        let (silent, silentHead) = try Self.upgrade(port: daemon.apiPort, path: "/api/v1/stream", header: "Authorization: Bearer nope")
        defer { close(silent) }
        #expect(silentHead.hasPrefix("HTTP/1.1 101"))
        #expect(Self.closeCode(silent) == 4401)
        #expect(clock.now - started < .seconds(5))
    }
}

extension StrictFramingTests {
    /// Opens a WebSocket on `path` with one more `header` line (and `sendingAlong` in the same
    /// packet as the request); the descriptor (10 s receive timeout) and the answer's head.
    static func upgrade(port: Int, path: String, header: String, sendingAlong extra: [UInt8] = []) throws -> (Int32, String) {
        let descriptor = try FloodHello.socket(port: port, from: "127.0.0.1")
        guard let head = webSocketUpgrade(descriptor, path: path, headers: [header], sendingAlong: extra) else {
            close(descriptor)
            throw HarnessError("no answer to the upgrade on port \(port)")
        }
        return (descriptor, head)
    }

    /// The code of the first close frame the server sends (1005 for one without a code), or nil.
    static func closeCode(_ descriptor: Int32) -> UInt16? {
        while let (opcode, payload) = FloodHello.readFrame(descriptor) {
            if opcode == 8 { return payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : 1005 }
        }
        return nil
    }
}

/// Issue 12: a raw 0xFF byte in a request's path got no answer on the API port, and on the
/// lamp port a 400 without the connection being closed.
@Suite("Malformed HTTP requests")
struct MalformedRequestTests {
    @Test("a raw 0xFF in the path is answered 400 and the connection closed, on both ports")
    func rawByteInPath() async throws {
        let daemon = try Daemon(lamps: 0)
        try await daemon.start()
        for port in [daemon.lampPort, daemon.apiPort] {
            let descriptor = try FloodHello.socket(port: port, from: "127.0.0.1")
            defer { close(descriptor) }
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request: [UInt8] = Array("GET /api/v1/".utf8) + [0xFF] + Array(" HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            _ = send(descriptor, request, request.count, Int32(MSG_NOSIGNAL))
            var answer: [UInt8] = []
            errno = 0
            while let byte = FloodHello.readByte(descriptor) { answer.append(byte) }
            let closed = errno != EAGAIN && errno != EWOULDBLOCK
            let text = String(decoding: answer, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 400"), "port \(port): \(text)")
            #expect(closed, "port \(port) still open after 3 s")
        }
    }
}
