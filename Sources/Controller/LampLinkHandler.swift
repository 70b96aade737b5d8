import FleetCore
import FleetStore
import Foundation
import LampAuth
import LampProtocol
import LampProtocolNIO
import Logging
import Metrics
import NIOCore
import NIOWebSocket
import OperatorAPI
import Synchronization

/// One lamp link: the handshake, then the link state machine, on the channel's event loop.
///
/// Holds no task, thread or timer of its own: the event loop's ``LinkSweeper`` calls
/// ``tick(atMilliseconds:)`` for deadlines, pings and retries, so an idle link costs only
/// its socket, its channel and this object.
final class LampLinkHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let shared: GatewayShared
    let linkID: UInt64
    private var context: ChannelHandlerContext?
    private var handshake: HandshakeStateMachine
    private var link: LinkStateMachine?
    private var lampID: LampID?
    /// The lamp's slot in ``FleetState``, known once authenticated.
    private var slot = -1
    private var peerMinorVersion: UInt8 = 0
    private var lastReceivedMilliseconds: UInt64
    private var lastPingMilliseconds: UInt64
    private var countedAsPending = false
    private var closing = false
    private var sweeper: LinkSweeper?
    /// The earliest time ``tick(atMilliseconds:)`` has anything to do: a deadline, a ping, a
    /// request timeout. The sweeper skips the link until then.
    private(set) var nextDueMilliseconds: UInt64 = 0
    /// A fragmented message being reassembled, and its fragment count.
    private var fragments: (buffer: ByteBuffer, count: Int)?
    /// The writer generation in which this link last marked its lamp dirty.
    private var markedGeneration = UInt64.max
    /// Messages were written since the last flush: one flush (one syscall) per event handled
    /// sends an ack and its status report, or a whole retry, in one segment.
    private var unflushed = false

    init(shared: GatewayShared, now: UInt64) {
        self.shared = shared
        self.linkID = shared.makeLinkID()
        self.handshake = HandshakeStateMachine(
            serverNonce: Nonce.random(), atMilliseconds: now,
            deadlineMilliseconds: shared.configuration.handshakeDeadlineMilliseconds)
        self.lastReceivedMilliseconds = now
        self.lastPingMilliseconds = now
        self.nextDueMilliseconds = handshake.deadlineMilliseconds + 1
    }

    /// Logs with this link's metadata. Built only when a line is logged, so an idle link
    /// holds no metadata dictionary of its own.
    private func log(_ level: Logger.Level, _ message: Logger.Message, _ extra: Logger.Metadata = [:]) {
        var metadata: Logger.Metadata = ["link.id": "\(linkID)"]
        if let lampID { metadata["lamp.id"] = "\(lampID)" }
        shared.logger.log(level: level, message, metadata: metadata.merging(extra) { $1 })
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let pending = shared.counters.pendingHandshakes.wrappingAdd(1, ordering: .relaxed).newValue
        countedAsPending = true
        if pending > shared.configuration.maximumPendingHandshakes {
            shared.counters.handshakesRefused.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.handshakesRefused.increment()
            close(code: LampCloseCode.tryAgainLater, reason: "too many pending handshakes")
            return
        }
        sweeper = LinkSweeper.current(on: context.eventLoop)
        sweeper?.add(self)
        send(.challenge(handshake.challenge))
        flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishPending()
        sweeper?.remove(self)
        if let lampID, shared.registry.remove(slot, linkID: linkID) {
            let now = WallClock.nowMilliseconds()
            shared.fleet.linkDown(slot, atMilliseconds: now)
            shared.writer.markDirty(slot)
            shared.writer.append(EventRecord(lampID: lampID, kind: "offline", detail: "", atMilliseconds: now))
            publish(lampID, "lamp.offline", atMilliseconds: now)
            log(.info, "lamp offline")
        }
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error as? NIOWebSocketError {
        case .invalidFrameLength:
            shared.counters.linksClosedMalformed.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.linksClosedMalformed.increment()
            close(code: LampCloseCode.messageTooBig, reason: "frame over the message size limit")
        case .fragmentedControlFrame, .multiByteControlFrameLength:
            shared.counters.linksClosedMalformed.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.linksClosedMalformed.increment()
            close(code: LampCloseCode.protocolError, reason: "invalid control frame")
        case nil:
            log(.debug, "link error", ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    /// The most fragments one message may arrive in (SPEC.md §10): more is a flood.
    static let maximumFragments = 16

    /// Adds a fragment of a binary message; returns the whole message once its last
    /// fragment arrived, nil while more are expected or after closing the link for
    /// exceeding a limit (RFC 6455 §5.4; the limits are SPEC.md §10's).
    private func reassemble(_ frame: WebSocketFrame, context: ChannelHandlerContext) -> ByteBuffer? {
        var data = frame.unmaskedData
        if frame.opcode == .binary {
            guard fragments == nil else {
                close(code: LampCloseCode.protocolError, reason: "new message inside a fragmented one")
                return nil
            }
            if frame.fin { return data }
            fragments = (data, 1)
            return nil
        }
        guard var (buffer, count) = fragments else {
            close(code: LampCloseCode.protocolError, reason: "continuation without a message")
            return nil
        }
        count += 1
        guard count <= LampLinkHandler.maximumFragments,
            buffer.readableBytes + data.readableBytes <= shared.configuration.maximumMessageSize
        else {
            fragments = nil
            shared.counters.linksClosedMalformed.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.linksClosedMalformed.increment()
            close(code: LampCloseCode.messageTooBig, reason: "message over the size or fragment limit")
            return nil
        }
        buffer.writeBuffer(&data)
        if frame.fin {
            fragments = nil
            return buffer
        }
        fragments = (buffer, count)
        return nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastReceivedMilliseconds = WallClock.nowMilliseconds()
        switch frame.opcode {
        case .binary where frame.fin && fragments == nil:
            received(frame.unmaskedData, now: lastReceivedMilliseconds)
        case .binary, .continuation:
            if let message = reassemble(frame, context: context) {
                received(message, now: lastReceivedMilliseconds)
            }
        case .text:
            close(code: LampCloseCode.unsupportedData, reason: "text message")
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            if !closing {
                closing = true
                var payload = context.channel.allocator.buffer(capacity: 2)
                payload.write(webSocketErrorCode: .normalClosure)
                context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)))
                    .whenComplete { _ in context.close(promise: nil) }
            }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    // MARK: Messages

    private func received(_ buffer: ByteBuffer, now: UInt64) {
        guard !closing else { return }
        shared.counters.messagesIn.wrappingAdd(1, ordering: .relaxed)
        shared.metrics.frameIn(buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0)
        let result = Result { () throws(LampProtocolError) in try LampMessage.decode(buffer, peerMinorVersion: peerMinorVersion) }
        switch result {
        case .success(let message):
            if link == nil {
                receivedBeforeAuthentication(message, now: now)
            } else {
                receivedOnLink(message, now: now)
            }
        case .failure(let error):
            let ref = buffer.withUnsafeReadableBytes { LampMessage.referenceForNack($0) }
            let type = MessageType(rawValue: buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) ?? 0)
            if error.code == "unknownType" && link != nil {
                // Forward compatibility (SPEC.md §8.2): refuse, keep the link.
                if type != .ack && type != .nack {
                    send(.nack(Nack(ackedType: type, ref: ref, reason: .unknownType)))
                }
                return
            }
            shared.counters.linksClosedMalformed.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.linksClosedMalformed.increment()
            if link != nil {
                send(.nack(Nack(ackedType: type, ref: ref, reason: .malformed)))
            }
            log(.info, "malformed message", ["error": "\(error)"])
            close(code: LampCloseCode.malformedMessage, reason: error.description)
        }
    }

    private func receivedBeforeAuthentication(_ message: LampMessage, now: UInt64) {
        // The proof is filled in by the handshake machine; these are this link's parameters.
        // LampGateway.run() validated both intervals before accepting links, so the welcome is valid.
        let template = Welcome(
            timeMilliseconds: now, reportIntervalSeconds: shared.configuration.reportIntervalSeconds,
            pingIntervalSeconds: shared.configuration.pingIntervalSeconds, proof: .zero)!
        switch handshake.received(message, atMilliseconds: now, keyFor: shared.key(for:), welcome: template) {
        case .authenticated(let hello, let welcome):
            authenticated(hello, welcome: welcome, now: now)
        case .close(let code, let reason, let id):
            shared.counters.handshakesRefused.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.handshakesRefused.increment()
            var metadata: Logger.Metadata = ["reason": "\(reason)", "close.code": "\(code)"]
            if let id {
                metadata["lamp.id"] = "\(id)"
                shared.writer.append(EventRecord(lampID: id, kind: "auth.failed", detail: reason, atMilliseconds: now))
            }
            log(.info, "handshake refused", metadata)
            close(code: code, reason: reason)
        case .none:
            break
        }
    }

    private func authenticated(_ hello: Hello, welcome: Welcome, now: UInt64) {
        guard let context, let (slot, desired) = shared.fleet.linkUp(hello, atMilliseconds: now) else {
            close(code: LampCloseCode.authenticationFailed, reason: "lamp removed during handshake")
            return
        }
        finishPending()
        shared.counters.handshakesAccepted.wrappingAdd(1, ordering: .relaxed)
        shared.metrics.handshakesAccepted.increment()
        lampID = hello.lampID
        self.slot = slot
        peerMinorVersion = hello.minorVersion
        send(.welcome(welcome))
        let handle = LinkHandle(linkID: linkID, handler: NIOLoopBound(self, eventLoop: context.eventLoop), eventLoop: context.eventLoop)
        if let old = shared.registry.register(slot, handle) {
            shared.counters.linksReplaced.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.linksReplaced.increment()
            old.eventLoop.execute { old.handler.value.replaced() }
        }
        shared.writer.markDirty(slot)
        shared.writer.linkOpened()
        shared.writer.append(
            EventRecord(lampID: hello.lampID, kind: "online", detail: "firmware \(hello.firmware)", atMilliseconds: now))
        publish(hello.lampID, "lamp.online", atMilliseconds: now)
        log(.info, "lamp online", ["lamp.applied": "\(hello.appliedVersion)", "lamp.firmware": "\(hello.firmware)"])
        var machine = LinkStateMachine(
            hello: hello, desired: desired, requestTimeoutMilliseconds: shared.configuration.requestTimeoutMilliseconds)
        let actions = machine.start(atMilliseconds: now)
        link = machine
        perform(actions)
        scheduleNextTick()
    }

    private func receivedOnLink(_ message: LampMessage, now: UInt64) {
        guard let lampID, var machine = link else { return }
        switch message {
        case .statusReport(let report):
            // Fault history comes from the lamp's event messages (SPEC.md §7.2: its own
            // clock, kept and resent across link losses); the report only updates the state.
            shared.fleet.noteStatus(slot, report, atMilliseconds: now)
            markedGeneration = shared.writer.markDirty(slot, ifNotMarkedIn: markedGeneration)
            if shared.hub.isActive {
                publish(lampID, "lamp.status", isStatus: true, atMilliseconds: now) { event in
                    event.level = Double(report.level.permille) / 10
                    event.mode = report.mode.description
                    event.lit = report.isLit
                    event.powerWatts = Double(report.powerDeciwatts) / 10
                    event.faults = FaultNames.names(report.faults)
                }
            }
        case .event(let event):
            shared.writer.append(
                EventRecord(lampID: lampID, kind: LampLinkHandler.eventName(event.kind), detail: LampLinkHandler.eventDetail(event), atMilliseconds: now))
            send(.ack(Ack(ackedType: .event, ref: event.sequence)))
            if event.kind == .faultRaised || event.kind == .faultCleared {
                publish(lampID, "lamp.fault", atMilliseconds: now) { stream in
                    stream.fault = FaultNames.name(Int(event.detail))
                    stream.raised = event.kind == .faultRaised
                }
            }
            return
        case .ack(let ack) where ack.ackedType == .identify || ack.ackedType == .reboot:
            shared.once.answered(ack.ref, slot: slot, accepted: true)
            return
        case .nack(let nack) where nack.ackedType == .identify || nack.ackedType == .reboot:
            shared.once.answered(nack.ref, slot: slot, accepted: false)
            return
        case .ack, .nack:
            break
        default:
            close(code: LampCloseCode.policyViolation, reason: "\(message.type) is not a lamp's message after the handshake")
            return
        }
        let actions = machine.received(message, atMilliseconds: now)
        link = machine
        perform(actions)
    }

    static func eventName(_ kind: EventKind) -> String {
        switch kind {
        case .faultRaised: "fault.raised"
        case .faultCleared: "fault.cleared"
        case .powerUp: "power.up"
        case .clockLost: "clock.lost"
        default: "lamp.\(kind)"
        }
    }

    static func eventDetail(_ event: LampEvent) -> String {
        switch event.kind {
        case .faultRaised, .faultCleared: FaultNames.name(Int(event.detail))
        case .powerUp: "power-up \(event.detail)"
        default: "\(event.detail)"
        }
    }

    private func perform(_ actions: [LinkStateMachine.Action]) {
        guard let lampID else { return }
        for action in actions {
            switch action {
            case .send(let message):
                send(message)
            case .controlApplied(let version):
                let latency = shared.fleet.noteLinkActions(
                    slot, applied: version, appliedConfig: nil, refused: nil, atMilliseconds: WallClock.nowMilliseconds())
                if let latency { shared.metrics.commandApplied.recordMilliseconds(latency) }
                markedGeneration = shared.writer.markDirty(slot, ifNotMarkedIn: markedGeneration)
            case .programApplied(let revision):
                shared.fleet.noteProgramApplied(slot, revision)
                log(.info, "lamp holds its program", ["program.revision": "\(revision)"])
            case .configApplied(let version):
                shared.fleet.noteLinkActions(slot, applied: nil, appliedConfig: version, refused: nil, atMilliseconds: WallClock.nowMilliseconds())
                markedGeneration = shared.writer.markDirty(slot, ifNotMarkedIn: markedGeneration)
            case .refused(let type, let ref, let reason):
                shared.fleet.noteLinkActions(slot, applied: nil, appliedConfig: nil, refused: (ref, reason), atMilliseconds: WallClock.nowMilliseconds())
                shared.writer.append(
                    EventRecord(lampID: lampID, kind: "command.refused", detail: "\(type) version \(ref): \(reason)", atMilliseconds: WallClock.nowMilliseconds()))
                log(.info, "lamp refused a request", ["request.type": "\(type)", "request.ref": "\(ref)", "reason": "\(reason)"])
            case .retrying(let type, let ref, let attempt):
                log(.debug, "request timed out, sending again", ["request.type": "\(type)", "request.ref": "\(ref)", "attempt": "\(attempt)"])
            }
        }
    }

    // MARK: Called on this link's event loop by others

    /// The operator changed this lamp's desired state.
    func desiredChanged(_ desired: DesiredState) {
        guard var machine = link else { return }
        let actions = machine.desiredChanged(desired, atMilliseconds: WallClock.nowMilliseconds())
        link = machine
        perform(actions)
        flush()
        if machine.hasRequestInFlight { scheduleNextTick() }
    }

    /// Sends a one-off request (identify, reboot); its answer is matched by ref.
    func sendOnce(_ message: LampMessage) {
        guard link != nil, !closing else { return }
        send(message)
        flush()
    }

    /// Offers a lamp event to the live stream's subscribers.
    private func publish(
        _ lampID: LampID, _ type: String, isStatus: Bool = false, atMilliseconds now: UInt64,
        fill: (inout StreamEvent) -> Void = { _ in }
    ) {
        let fleet = shared.fleet
        let slot = self.slot
        shared.hub.publishLamp(lampID, isStatus: isStatus, atMilliseconds: now, groups: { fleet.groups(of: slot) }) {
            var event = StreamEvent(type: type, at: Date(unixMilliseconds: now), lamp: lampID.value)
            fill(&event)
            return event
        }
    }

    /// A newer link of the same lamp authenticated.
    func replaced() {
        log(.info, "link replaced by a newer one")
        close(code: LampCloseCode.replaced, reason: "replaced by a newer link")
    }

    /// The controller shuts down.
    func goingAway() {
        close(code: LampCloseCode.goingAway, reason: "controller shutting down")
    }

    /// Deadlines, pings, idle detection and retries; called by the sweeper.
    func tick(atMilliseconds now: UInt64) {
        guard !closing, let context else { return }
        guard var machine = link else {
            if case .close(let code, let reason, _) = handshake.tick(atMilliseconds: now) {
                shared.counters.handshakesRefused.wrappingAdd(1, ordering: .relaxed)
            shared.metrics.handshakesRefused.increment()
                log(.info, "handshake refused", ["reason": "\(reason)", "close.code": "\(code)"])
                close(code: code, reason: reason)
            }
            return
        }
        let ping = UInt64(shared.configuration.pingIntervalSeconds) * 1000
        if now > lastReceivedMilliseconds + 2 * ping {
            close(code: LampCloseCode.pingTimeout, reason: "no answer to pings")
            return
        }
        if now >= lastPingMilliseconds + ping {
            lastPingMilliseconds = now
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
        }
        let actions = machine.tick(atMilliseconds: now)
        link = machine
        perform(actions)
        flush()
        scheduleNextTick()
    }

    /// The next ping is due at the latest; a request in flight may time out sooner.
    private func scheduleNextTick() {
        let ping = UInt64(shared.configuration.pingIntervalSeconds) * 1000
        var due = min(lastPingMilliseconds + ping, lastReceivedMilliseconds + 2 * ping + 1)
        if let link, link.hasRequestInFlight {
            due = min(due, WallClock.nowMilliseconds() + min(link.requestTimeoutMilliseconds, 1000))
        }
        nextDueMilliseconds = due
    }

    // MARK: Output

    private func send(_ message: LampMessage) {
        guard let context else { return }
        shared.counters.messagesOut.wrappingAdd(1, ordering: .relaxed)
        shared.metrics.frameOut(message.type)
        let frame = WebSocketFrame(fin: true, opcode: .binary, data: message.buffer(context.channel.allocator))
        context.write(wrapOutboundOut(frame), promise: nil)
        unflushed = true
    }

    private func flush() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func close(code: UInt16, reason: String) {
        guard !closing, let context else { return }
        closing = true
        flush()
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.writeInteger(code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: payload)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }

    private func finishPending() {
        if countedAsPending {
            countedAsPending = false
            shared.counters.pendingHandshakes.wrappingSubtract(1, ordering: .relaxed)
        }
    }
}

/// Names of the fault bits of SPEC.md §7.3.
public enum FaultNames {
    static let names = [
        "lampFailure", "driverFailure", "overTemperature", "supplyFailure", "relayFailure", "busFailure", "clockLost",
        "lightSensorFailure", "cycling",
    ]

    /// The fault bit's name, or `faultBit-N` for a reserved bit.
    public static func name(_ bit: Int) -> String {
        bit >= 0 && bit < names.count ? names[bit] : "faultBit-\(bit)"
    }

    /// The names of every bit set.
    public static func names(_ faults: FaultSet) -> [String] {
        (0..<16).filter { faults.rawValue & (1 << $0) != 0 }.map(name)
    }
}
