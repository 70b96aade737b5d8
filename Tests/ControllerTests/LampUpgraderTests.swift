import LampProtocol
import NIOCore
import NIOHTTP1
import Testing

@testable import Controller

/// The lamp port's own WebSocket upgrade: RFC 6455's answer, NIO's checks, the controller's.
@Suite("Lamp upgrader")
struct LampUpgraderTests {
    static func head(_ headers: [(String, String)], uri: String = LampProtocolVersion.path) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: HTTPHeaders(headers))
    }

    static let lampHeaders: [(String, String)] = [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Protocol", LampProtocolVersion.subprotocol),
    ]

    @Test("RFC 6455 §1.3's example key gets its example answer, with the lamp subprotocol")
    func rfcExample() throws {
        let headers = try LampUpgrader.responseHeaders(for: Self.head(Self.lampHeaders), accepting: LampGateway.upgradeHeaders(for:))
        #expect(headers["Sec-WebSocket-Accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
        #expect(headers["Upgrade"] == ["websocket"] && headers["Connection"] == ["upgrade"])
        #expect(headers["Sec-WebSocket-Protocol"] == [LampProtocolVersion.subprotocol])
    }

    @Test("no key, two keys, no version, version 8, another path or no subprotocol: not upgraded")
    func refusals() {
        let without = { (name: String) in Self.lampHeaders.filter { $0.0 != name } }
        let cases: [HTTPRequestHead] = [
            Self.head(without("Sec-WebSocket-Key")),
            Self.head(Self.lampHeaders + [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")]),
            Self.head(without("Sec-WebSocket-Version")),
            Self.head(without("Sec-WebSocket-Version") + [("Sec-WebSocket-Version", "8")]),
            Self.head(Self.lampHeaders, uri: "/elsewhere"),
            Self.head(without("Sec-WebSocket-Protocol")),
        ]
        for head in cases {
            #expect(throws: LampUpgrader.Refusal.self) {
                _ = try LampUpgrader.responseHeaders(for: head, accepting: LampGateway.upgradeHeaders(for:))
            }
        }
    }
}
