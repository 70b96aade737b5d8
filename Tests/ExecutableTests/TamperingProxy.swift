import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A man in the middle between lamps and the daemon's lamp port: a TCP proxy that passes the
/// HTTP upgrade through, then parses every WebSocket frame in both directions and changes
/// exactly one thing, once, as `Tamper` says. What SPEC.md §4.3 defends against on `ws://`.
final class TamperingProxy: Sendable {
    /// What the proxy does to the link, once.
    enum Tamper: Sendable {
        /// Controller to lamp: the first setLevel's level becomes this (per mille); its tag stays.
        case rewriteSetLevel(toPermille: UInt16)
        /// Controller to lamp: the first setLevel is delivered twice.
        case replaySetLevel
        /// Lamp to controller: the two messages the lamp sends after the first setLevel (its
        /// ack and its status report) arrive swapped.
        case swapAfterSetLevel
    }

    /// A close frame the proxy saw: who sent it and its code.
    struct Close: Equatable, Sendable {
        let fromLamp: Bool
        let code: UInt16
    }

    let port: Int
    private let listener: Int32
    private let upstreamPort: Int
    private let tamper: Tamper
    private let state = Mutex<State>(State())

    private struct State {
        var tampered = false
        /// The first setLevel went to the lamp (the swap starts after it).
        var setLevelDelivered = false
        var closes: [Close] = []
    }

    /// Whether the proxy has done its one change.
    var tampered: Bool { state.withLock { $0.tampered } }
    /// Every close frame seen, in order.
    var closes: [Close] { state.withLock { $0.closes } }
    /// The URL lamps use to reach the daemon through the proxy.
    var lampURL: String { "ws://127.0.0.1:\(port)/lamp/v1" }

    init(upstreamPort: Int, tamper: Tamper) throws {
        (listener, port) = try loopbackListener(backlog: 16)
        self.upstreamPort = upstreamPort
        self.tamper = tamper
        Thread.detachNewThread { self.serve() }
    }

    /// Stops accepting; links in progress end when either side closes.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let lamp = accept(listener, nil, nil)
            guard lamp >= 0 else { return }
            guard let controller = try? loopbackSocket(port: upstreamPort) else {
                close(lamp)
                continue
            }
            let pumps = PumpCount()
            let finish: @Sendable () -> Void = {
                shutdown(lamp, Int32(SHUT_RDWR))
                shutdown(controller, Int32(SHUT_RDWR))
                if pumps.running.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                    close(lamp)
                    close(controller)
                }
            }
            Thread.detachNewThread {
                self.pump(from: lamp, to: controller, fromLamp: true)
                finish()
            }
            Thread.detachNewThread {
                self.pump(from: controller, to: lamp, fromLamp: false)
                finish()
            }
        }
    }

    /// The two pumps of one link: the last to end closes both sockets.
    private final class PumpCount: Sendable {
        let running = Atomic<Int>(2)
    }

    /// One WebSocket frame (RFC 6455 §5.2), payload unmasked.
    private struct Frame {
        var first: UInt8
        var mask: [UInt8]?
        var payload: [UInt8]

        var opcode: UInt8 { first & 0x0f }

        var bytes: [UInt8] {
            var out = [first]
            let maskBit: UInt8 = mask == nil ? 0 : 0x80
            if payload.count < 126 {
                out.append(maskBit | UInt8(payload.count))
            } else if payload.count <= 0xffff {
                out += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
            } else {
                out.append(maskBit | 127)
                out += (0..<8).reversed().map { UInt8((UInt64(payload.count) >> (8 * UInt64($0))) & 0xff) }
            }
            guard let mask else { return out + payload }
            return out + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        }
    }

    private func pump(from source: Int32, to destination: Int32, fromLamp: Bool) {
        // The HTTP request or response head passes through unchanged.
        var head: [UInt8] = []
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            guard let byte = read(source, 1) else { return }
            head += byte
        }
        guard write(destination, head) else { return }
        var held: Frame?
        while let frame = readFrame(source) {
            if frame.opcode == 0x8, frame.payload.count >= 2 {
                let code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
                state.withLock { $0.closes.append(Close(fromLamp: fromLamp, code: code)) }
            }
            var out = [frame]
            if frame.opcode == 0x2 {
                out = change(frame, fromLamp: fromLamp, held: &held)
            }
            for frame in out {
                guard write(destination, frame.bytes) else { return }
            }
        }
    }

    /// The frames to deliver for a binary frame (none while one is held for a swap).
    private func change(_ frame: Frame, fromLamp: Bool, held: inout Frame?) -> [Frame] {
        let isSetLevel = !fromLamp && frame.payload.first == 0x20
        switch tamper {
        case .rewriteSetLevel(let permille):
            guard isSetLevel, takeTheOneChange() else { return [frame] }
            var forged = frame
            // setLevel (SPEC.md §8.3): type, u32 version, u16 level at offset 5, fade.
            forged.payload[5] = UInt8(permille >> 8)
            forged.payload[6] = UInt8(permille & 0xff)
            return [forged]
        case .replaySetLevel:
            guard isSetLevel, takeTheOneChange() else { return [frame] }
            return [frame, frame]
        case .swapAfterSetLevel:
            if isSetLevel { state.withLock { $0.setLevelDelivered = true } }
            guard fromLamp, state.withLock({ $0.setLevelDelivered && !$0.tampered }) else { return [frame] }
            guard let first = held else {
                held = frame
                return []
            }
            held = nil
            state.withLock { $0.tampered = true }
            return [frame, first]
        }
    }

    /// True the first time only: the proxy changes one thing.
    private func takeTheOneChange() -> Bool {
        state.withLock { state in
            if state.tampered { return false }
            state.tampered = true
            return true
        }
    }

    private func readFrame(_ source: Int32) -> Frame? {
        guard let header = read(source, 2) else { return nil }
        var length = UInt64(header[1] & 0x7f)
        if length == 126 {
            guard let extended = read(source, 2) else { return nil }
            length = UInt64(extended[0]) << 8 | UInt64(extended[1])
        } else if length == 127 {
            guard let extended = read(source, 8) else { return nil }
            length = extended.reduce(0) { $0 << 8 | UInt64($1) }
        }
        var mask: [UInt8]?
        if header[1] & 0x80 != 0 {
            guard let key = read(source, 4) else { return nil }
            mask = key
        }
        guard length <= 1 << 20, let raw = read(source, Int(length)) else { return nil }
        let payload = mask.map { mask in raw.enumerated().map { $0.element ^ mask[$0.offset % 4] } } ?? raw
        return Frame(first: header[0], mask: mask, payload: payload)
    }

    private func read(_ source: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = out.withUnsafeMutableBytes { recv(source, $0.baseAddress! + done, count - done, 0) }
            guard got > 0 else { return nil }
            done += got
        }
        return out
    }

    private func write(_ destination: Int32, _ bytes: [UInt8]) -> Bool {
        Glibc.send(destination, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count
    }
}
