import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LampAuth
import LampProtocol

/// One lamp written by hand on a blocking socket (no NIO, no simulator): upgrade, the
/// handshake of SPEC.md §4, then whatever messages a test sends, frame by frame. For tests
/// that need to say exactly what a lamp sends and see exactly what it is answered.
final class RawLamp {
    let descriptor: Int32
    /// The frame tags of a 1.2 link (SPEC.md §4.3), from the welcome on.
    var frames: FrameAuthenticator?
    /// The close code the controller sent, once it closed the link.
    private(set) var closeCode: UInt16?

    /// Connects lamp `id` to the daemon's lamp port and completes the handshake with the
    /// fleet key in `keyFile` (the lamp's generation-0 key).
    convenience init(port: Int, id: String, keyFile: String) throws {
        let text = try String(contentsOfFile: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let fleetKey = FleetKey(hex: text), let lampID = LampID(id) else { throw HarnessError("no fleet key in \(keyFile)") }
        try self.init(port: port, id: lampID, key: fleetKey.lampKey(for: lampID))
    }

    /// Connects lamp `id` and completes the handshake with `key` (a rotated key, SPEC.md §8.12).
    init(port: Int, id lampID: LampID, key: LampKey) throws {
        descriptor = try loopbackSocket(port: port)
        let head = webSocketUpgrade(descriptor) ?? "no answer"
        guard head.hasPrefix("HTTP/1.1 101") else { throw HarnessError("upgrade refused: \(head)") }
        guard case .challenge(let challenge) = try receive() else { throw HarnessError("no challenge") }
        var hello = Hello(
            lampID: lampID, firmware: FirmwareVersion("raw-1")!, capabilities: [.dimmable], appliedVersion: 0, configVersion: 0,
            programRevision: 0, clock: 0, clientNonce: Nonce.random(), mac: .zero)
        hello.mac = key.helloMAC(for: hello, serverNonce: challenge.serverNonce)
        try send(.hello(hello))
        guard case .welcome = try receive() else { throw HarnessError("no welcome") }
        frames = FrameAuthenticator(
            lampKey: key, role: .lamp, clientNonce: hello.clientNonce, serverNonce: challenge.serverNonce)
    }

    /// The message's bytes with the next frame tag: what `send` puts on the wire.
    func sealed(_ message: LampMessage) -> [UInt8] {
        frames == nil ? message.bytes : frames!.sealed(message.bytes)
    }

    /// Sends one message, sealed once the link authenticates frames, as one masked binary frame.
    func send(_ message: LampMessage) throws {
        try send(payload: sealed(message))
    }

    /// Sends `payload` exactly as given (a forged, replayed or short frame) as one masked
    /// binary frame.
    func send(payload: [UInt8]) throws {
        precondition(payload.count < 126)
        let mask: [UInt8] = [9, 8, 7, 6]
        try write([0x82, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// The next protocol message (pings are answered, other control frames skipped).
    func receive() throws -> LampMessage {
        while true {
            let first = try readByte()
            var length = Int(try readByte() & 0x7f)
            if length == 126 {
                length = Int(try readByte()) << 8 | Int(try readByte())
            } else if length == 127 {
                throw HarnessError("a frame too long for a lamp")
            }
            var payload: [UInt8] = []
            for _ in 0..<length { payload.append(try readByte()) }
            switch first & 0x0f {
            case 0x2:
                guard frames != nil else { return try LampMessage.decode(payload) }
                guard let length = frames!.open(payload) else { throw HarnessError("a controller frame failed its tag") }
                return try LampMessage.decode(Array(payload[0..<length]))
            case 0x9:
                let mask: [UInt8] = [1, 2, 3, 4]
                try write([0x8a, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
            case 0x8:
                if payload.count >= 2 { closeCode = UInt16(payload[0]) << 8 | UInt16(payload[1]) }
                throw HarnessError("the controller closed the link")
            default: continue
            }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        guard Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { throw HarnessError("send failed") }
    }

    private func readByte() throws -> UInt8 {
        var byte: UInt8 = 0
        guard recv(descriptor, &byte, 1, 0) == 1 else { throw HarnessError("the link closed or timed out") }
        return byte
    }

    /// Drops the link at once, without a close frame (a lamp that lost power or network).
    func drop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    deinit {
        close(descriptor)
    }
}

/// A blocking TCP socket connected to 127.0.0.1:`port` (`receiveBuffer` bytes of receive
/// buffer if given).
/// Asks for a WebSocket on `path` over the connected `descriptor` (and sets a 10 s receive
/// timeout): the lamp protocol's subprotocol unless `headers` says otherwise, with `extra` in the
/// same packet as the request. Returns the answer's head, nil when the connection ended first.
func webSocketUpgrade(
    _ descriptor: Int32, path: String = LampProtocolVersion.path,
    headers: [String] = ["Sec-WebSocket-Protocol: \(LampProtocolVersion.subprotocol)"], sendingAlong extra: [UInt8] = []
) -> String? {
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let lines = ["GET \(path) HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"] + headers
    let request = Array(lines.map { $0 + "\r\n" }.joined().appending("\r\n").utf8) + extra
    _ = send(descriptor, request, request.count, Int32(MSG_NOSIGNAL))
    var head: [UInt8] = []
    while !head.ends(with: Array("\r\n\r\n".utf8)) {
        guard let byte = FloodHello.readByte(descriptor) else { return nil }
        head.append(byte)
    }
    return String(decoding: head, as: UTF8.self)
}

func loopbackSocket(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    if var size = receiveBuffer {
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(descriptor)
        throw HarnessError("connect failed: \(errno)")
    }
    return descriptor
}

/// A TCP socket listening on 127.0.0.1 at a port the kernel chose (with `backlog`), and that port.
func loopbackListener(backlog: Int32) throws -> (descriptor: Int32, port: Int) {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(listener, pointer, length) == 0 && listen(listener, backlog) == 0 && getsockname(listener, pointer, &length) == 0
        }
    }
    guard bound else {
        close(listener)
        throw HarnessError("cannot listen: \(errno)")
    }
    return (listener, Int(UInt16(bigEndian: address.sin_port)))
}
