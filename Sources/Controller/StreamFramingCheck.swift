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
            // A frame that passed the check above is masked: its key follows the lengths.
            guard let (keyAt, length) = Self.lengths({ $0 < header.count ? header[$0] : nil }), header.count == keyAt + 4 else { continue }
            skip = length
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

    /// Where a frame header's masking key starts (2, 4 or 10: after the length in its short or
    /// one of its two extended forms, RFC 6455 §5.2) and the payload length it announces, once
    /// `byte(i)` gives the header's bytes that far (nil before). The one reader of the length
    /// forms, for ``ClientFrameParser`` (from a ByteBuffer) and this check (a byte at a time).
    @inline(__always)
    static func lengths(_ byte: (Int) -> UInt8?) -> (keyAt: Int, payload: UInt64)? {
        guard let second = byte(1) else { return nil }
        let short = second & 0x7F
        let extended = short == 126 ? 2 : (short == 127 ? 8 : 0)
        guard extended > 0 else { return (2, UInt64(short)) }
        var length: UInt64 = 0
        for offset in 2..<(2 + extended) {
            guard let next = byte(offset) else { return nil }
            length = length << 8 | UInt64(next)
        }
        return (2 + extended, length)
    }
}
