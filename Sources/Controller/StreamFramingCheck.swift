import NIOCore

/// RFC 6455's rules on a client's frames, for the operator API's event stream (issue 12): an
/// unmasked client frame was accepted silently there (swift-websocket checks RSV bits and
/// opcodes, not the mask). The lamp port's ``ClientFrameParser`` applies the same rules; here the
/// upgraded pipeline belongs to Hummingbird, so this handler reads the frame headers in the
/// plain byte stream instead, in front of the HTTP decoder, and passes every byte on unchanged.
///
/// It learns that a connection became a WebSocket from the `101 Switching Protocols` it writes;
/// bytes a client sends after its upgrade request and before that answer are kept (at most
/// ``maximumEarlyBytes``) and checked then. Any other answer to the first request means plain
/// HTTP: the handler removes itself. A violation is answered with a close frame 1002 and the
/// connection is closed.
final class StreamFramingCheck: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Bytes kept between the end of the upgrade request and the server's answer.
    static let maximumEarlyBytes = 4096
    /// A close frame with code 1002 (protocol error), unmasked as a server's frames are.
    static let protocolErrorClose: [UInt8] = [0x88, 0x02, 0x03, 0xEA]

    private enum Phase {
        /// Reading the first request's header; `matched` bytes of "\r\n\r\n" seen.
        case header(matched: Int)
        /// The header ended; the answer has not been written yet.
        case undecided
        /// The connection is a WebSocket: every byte is frames.
        case frames
        /// The first answer was not a 101: plain HTTP, the handler leaves at the next flush.
        case plainHTTP
        /// A violation was answered (nothing more is read), or the handler left.
        case closed
    }

    private var phase = Phase.header(matched: 0)
    private var early: [UInt8] = []
    private var frames = ClientFrameHeaders()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        switch phase {
        case .closed:
            return
        case .plainHTTP:
            break
        case .header(var matched):
            let terminator = Array("\r\n\r\n".utf8)
            var rest: ArraySlice<UInt8> = []
            buffer.withUnsafeReadableBytes { bytes in
                for (index, byte) in bytes.enumerated() {
                    matched = byte == terminator[matched] ? matched + 1 : (byte == terminator[0] ? 1 : 0)
                    if matched == terminator.count {
                        rest = ArraySlice(bytes[(index + 1)...])
                        return
                    }
                }
            }
            if matched == terminator.count {
                phase = .undecided
                keepEarly(rest)
            } else {
                phase = .header(matched: matched)
            }
        case .undecided:
            buffer.withUnsafeReadableBytes { keepEarly(ArraySlice($0)) }
        case .frames:
            let violation = buffer.withUnsafeReadableBytes { frames.read($0) }
            if let violation {
                refuse(context: context, violation)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .undecided = phase, case .byteBuffer(let buffer) = unwrapOutboundIn(data),
            let line = buffer.getString(at: buffer.readerIndex, length: min(buffer.readableBytes, 13)), line.hasPrefix("HTTP/1.1 ")
        {
            if line == "HTTP/1.1 101 " {
                phase = .frames
                let violation = early.withUnsafeBytes { frames.read($0) }
                early = []
                if let violation {
                    context.write(data, promise: promise)
                    refuse(context: context, violation)
                    return
                }
            } else {
                // Plain HTTP. Removed at the next flush, not here: a writeAndFlush calls this
                // handler's flush after its write, and a removed handler's flush goes nowhere.
                phase = .plainHTTP
            }
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if case .plainHTTP = phase {
            phase = .closed
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private func keepEarly(_ bytes: ArraySlice<UInt8>) {
        // More than a client can have sent in good faith before the answer: the excess is
        // not checked here (the connection's own limits apply), never kept without bound.
        early.append(contentsOf: bytes.prefix(max(0, Self.maximumEarlyBytes - early.count)))
    }

    private func refuse(context: ChannelHandlerContext, _ violation: String) {
        phase = .closed
        let close = context.channel.allocator.buffer(bytes: Self.protocolErrorClose)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(close))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}

/// Walks a client's WebSocket frames header by header (RFC 6455 §5.2), skipping payloads, and
/// names the first header that breaks the rules for a client without extensions.
struct ClientFrameHeaders {
    /// Header bytes of the frame being read (at most 14).
    private var header: [UInt8] = []
    /// Payload bytes still to skip before the next header.
    private var skip: UInt64 = 0

    /// Reads `bytes`; returns the first violation, or nil.
    mutating func read(_ bytes: UnsafeRawBufferPointer) -> String? {
        var index = 0
        while index < bytes.count {
            if skip > 0 {
                let step = Int(min(skip, UInt64(bytes.count - index)))
                skip -= UInt64(step)
                index += step
                continue
            }
            header.append(bytes[index])
            index += 1
            if header.count == 2, let violation = Self.violation(header[0], header[1]) { return violation }
            guard header.count >= 2, let length = Self.headerLength(header), header.count == length else { continue }
            skip = Self.payloadLength(header)
            header.removeAll(keepingCapacity: true)
        }
        return nil
    }

    /// What the first two bytes break, or nil.
    static func violation(_ first: UInt8, _ second: UInt8) -> String? {
        if first & 0x70 != 0 { return "RSV bits set without an extension" }
        let opcode = first & 0x0F
        if (0x3...0x7).contains(opcode) || (0xB...0xF).contains(opcode) { return "reserved opcode \(opcode)" }
        if second & 0x80 == 0 { return "unmasked client frame" }
        return nil
    }

    /// The whole header's length, known from its first two bytes.
    static func headerLength(_ header: [UInt8]) -> Int? {
        guard header.count >= 2 else { return nil }
        let short = header[1] & 0x7F
        let extended = short == 126 ? 2 : (short == 127 ? 8 : 0)
        return 2 + extended + (header[1] & 0x80 != 0 ? 4 : 0)
    }

    /// The payload length a complete header announces.
    static func payloadLength(_ header: [UInt8]) -> UInt64 {
        let short = header[1] & 0x7F
        switch short {
        case 126: return UInt64(header[2]) << 8 | UInt64(header[3])
        case 127: return header[2..<10].reduce(0) { $0 << 8 | UInt64($1) }
        default: return UInt64(short)
        }
    }
}
