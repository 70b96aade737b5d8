import FleetCore
import LampAuth
import LampProtocol
import LampProtocolNIO
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import NIOWebSocket

/// One lamp's connection life: idle (waiting to reconnect), connecting, connected.
/// Confined to its event loop.
final class SimSlot {
    enum State {
        case idle(reconnectAt: UInt64)
        case connecting
        case connected(ChannelHandlerContext)
    }

    let lamp: SimLamp
    let stats: SimStats
    /// The controllers this lamp may link to.
    let directory: ControllerDirectory
    /// The controller of the current (or last) attempt; nil before the first.
    private(set) var target: SimTarget?
    /// The last attempt failed or its link dropped: the next attempt goes to another
    /// controller, chosen at random (``ControllerList/next(previous:move:in:lampIndex:draw:)``).
    var moveOnNext = false
    /// The lamp closed its link to reboot (SPEC.md §8.9): it comes back to the same controller.
    var rebooting = false
    /// Counts this lamp's connect attempts, so a handshake deadline only ends its own attempt.
    private var attempt: UInt64 = 0
    /// The channel of the current attempt once TCP is up, until it closes.
    private var attemptChannel: (any Channel)?
    /// The controller this lamp is linked (welcomed) to, for its per-controller count.
    private var linkedLabel: String?
    let loop: any EventLoop
    /// The fleet of this slot's loop and the slot's position in it: the fleet keeps every
    /// slot's next due time in a plain array, so its timer skips idle lamps without touching
    /// them. Same loop, same lifetime.
    unowned(unsafe) var fleet: SimFleet?
    var position = 0
    var state: State {
        didSet {
            if case .connecting = oldValue { fleet?.connecting -= 1 }
            if case .connecting = state { fleet?.connecting += 1 }
            updateDue()
        }
    }

    /// A masking key for the next frame this lamp sends.
    func maskKey() -> WebSocketMaskingKey {
        fleet?.maskKeys.nextKey() ?? .random()
    }

    /// The next masking key as the four bytes of a word, first byte highest.
    func maskWord() -> UInt32 {
        if fleet != nil { return UInt32(truncatingIfNeeded: fleet!.maskKeys.next()) }
        var system = SystemRandomNumberGenerator()
        return UInt32(truncatingIfNeeded: system.next())
    }

    /// Now, by the clock of this slot's fleet (the wall clock when the slot has no fleet yet).
    var now: UInt64 { fleet?.clock.nowMilliseconds() ?? WallClock.nowMilliseconds() }

    /// Recomputes when the fleet's timer must next look at this slot.
    func updateDue() {
        guard let fleet else { return }
        switch state {
        case .idle(let at): fleet.due[position] = min(at, lamp.nextDue(now: fleet.clock.nowMilliseconds()))
        case .connecting: fleet.due[position] = .max
        case .connected: fleet.due[position] = fleet.injectsFaults ? 0 : (stalled ? .max : lamp.nextDue(now: fleet.clock.nowMilliseconds()))
        }
    }
    var lastCloseCode: UInt16?
    /// The context of NIO's frame encoder on the current link: whole frames built by
    /// ``FrameBytes`` are written from it, past the encoder.
    private var frameOutput: ChannelHandlerContext?
    var stalled = false
    var everConnected = false
    private var rng = SystemRandomNumberGenerator()

    init(lamp: SimLamp, stats: SimStats, directory: ControllerDirectory, loop: any EventLoop, startAt: UInt64) {
        self.lamp = lamp
        self.stats = stats
        self.directory = directory
        self.loop = loop
        self.state = .idle(reconnectAt: startAt)
    }

    /// The link's state in words, for the report.
    func stateDescription(now: UInt64) -> String {
        let loop = fleet.map { " (loop: \($0.connecting) of \($0.maximumConnecting) connecting)" } ?? ""
        switch state {
        case .idle(let at): return (at == .max ? "idle for good" : "idle, connects in \(Int64(at) - Int64(now)) ms") + loop
        case .connecting: return "connecting, attempt \(attempt), channel \(attemptChannel == nil ? "none" : "open")" + loop
        case .connected: return lamp.authenticated ? "linked" : "upgraded, not authenticated, channel \(attemptChannel == nil ? "none" : "open")" + loop
        }
    }

    var isConnected: Bool {
        if case .connected = state, lamp.authenticated { return true }
        return false
    }


    // MARK: Connecting

    func connect(replayHello: [UInt8]? = nil) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        let target: SimTarget
        if replayHello != nil {
            // A replay probe goes where its lamp is linked.
            guard let current = self.target else { return }
            target = current
        } else {
            let targets = directory.targets
            guard let index = ControllerList.next(previous: self.target?.endpoint, move: moveOnNext, in: targets.map(\.endpoint), lampIndex: lamp.index, draw: rng.next())
            else {
                // No controller resolved (a name that does not resolve now): wait and look again.
                stats.add(.connectFailures)
                scheduleReconnect(now: now)
                return
            }
            target = targets[index]
            if let previous = self.target, previous.endpoint != target.endpoint {
                stats.moved(from: previous.label, to: target.label)
            }
            self.target = target
            moveOnNext = false
            rebooting = false
            attempt &+= 1
            attemptChannel = nil
            state = .connecting
            // The handshake deadline: TCP connect, upgrade, challenge, hello and welcome all
            // within it, or the attempt is given up (a controller that accepts and never
            // answers must not hold a lamp forever); the close moves the lamp on.
            let thisAttempt = attempt
            loop.scheduleTask(in: directory.handshakeTimeout) {
                let slot = bound.value
                guard slot.attempt == thisAttempt, !slot.lamp.authenticated else { return }
                let channel: (any Channel)?
                switch slot.state {
                case .idle: return
                case .connected(let context): channel = context.channel
                case .connecting: channel = slot.attemptChannel
                }
                slot.stats.add(.handshakeTimeouts)
                slot.stats.controller(target.label) { $0.handshakeTimeouts += 1 }
                guard let channel else {
                    // The connect itself is still under way: the attempt is given up here.
                    // Waiting for the connect's own timeout left a gap: a connect that
                    // succeeded just after this deadline had no deadline at all (72 of
                    // 100,000 lamps stayed upgraded and unauthenticated for good). A late
                    // success of this attempt is closed at once (see below).
                    slot.attempt &+= 1
                    slot.connectFailed(target)
                    return
                }
                channel.close(promise: nil)
            }
        }
        let thisAttempt = attempt
        var bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 4096))
            .channelOption(.maxMessagesPerRead, value: 1)
            .connectTimeout(directory.handshakeTimeout)
        if !target.sourceAddresses.isEmpty {
            // IP_BIND_ADDRESS_NO_PORT (Linux): choose the source port at connect(), per
            // 4-tuple, instead of at bind(), whose search for a free port slows down with
            // every socket already bound to the address (measured: connect time dominated by
            // the kernel's bind-conflict checks at 19,900 lamps).
            bootstrap = bootstrap
                .channelOption(ChannelOptions.Types.SocketOption(level: .ip, name: NIOBSDSocket.Option(rawValue: 24)), value: 1)
                .bind(to: target.sourceAddresses[lamp.index % target.sourceAddresses.count])
        }
        let future = bootstrap.channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                if let tls = target.tls {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls, serverHostname: target.serverHostname))
                    try channel.pipeline.syncOperations.addHandler(TLSFailureReporter(target: target))
                }
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: 1 << 16, automaticErrorHandling: false,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            // Remove the request sender before the bytes that followed the
                            // 101 response (the challenge) are passed on.
                            let sender = try channel.pipeline.syncOperations.context(name: UpgradeRequestSender.name)
                            channel.pipeline.syncOperations.removeHandler(context: sender, promise: nil)
                            let handler = SimLinkHandler(slot: bound.value, attempt: thisAttempt, replayHello: replayHello)
                            try channel.pipeline.syncOperations.addHandler(handler)
                        }
                    })
                try channel.pipeline.syncOperations.addHTTPClientHandlers(
                    leftOverBytesStrategy: .forwardBytes,
                    withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                try channel.pipeline.syncOperations.addHandler(UpgradeRequestSender(target: target), name: UpgradeRequestSender.name)
            }
        }.connect(to: target.address)
        future.whenFailure { _ in
            guard replayHello == nil, bound.value.attempt == thisAttempt else { return }
            bound.value.connectFailed(target)
        }
        // A connection that upgrades but never gets its handler (refused upgrade, or given up
        // at the handshake deadline before the upgrade) ends here.
        future.whenSuccess { channel in
            guard replayHello == nil else { return }
            let slot = bound.value
            guard slot.attempt == thisAttempt else {
                // Given up at its deadline before the connect finished.
                channel.close(promise: nil)
                return
            }
            slot.attemptChannel = channel
            // The close future is the one signal every end of this attempt's channel gives
            // (channelInactive reaches the link handler only if it was in the pipeline by
            // then), so it ends the attempt whatever stage it was in.
            channel.closeFuture.whenComplete { _ in
                let slot = bound.value
                guard slot.attempt == thisAttempt else { return }
                slot.attemptChannel = nil
                switch slot.state {
                case .connecting: slot.connectFailed(target)
                case .connected: slot.detached(now: slot.now, channel: channel)
                case .idle: break
                }
            }
        }
    }

    /// An attempt that ended before its link was up: counted, and the lamp moves on.
    private func connectFailed(_ target: SimTarget) {
        stats.add(.connectFailures)
        stats.controller(target.label) { $0.connectFailures += 1 }
        scheduleReconnect(now: now)
    }

    func scheduleReconnect(now: UInt64) {
        guard lastCloseCode != 4000 else {
            // Replaced by a newer link with this identity: in this simulator that is another
            // process simulating the same lamp, so this one gives way instead of fighting
            // over the identity forever.
            state = .idle(reconnectAt: .max)
            return
        }
        // Failover schedule: every failure (a failed connect, a handshake past its deadline,
        // a link dropped or refused) moves the lamp to the next controller after the lamp's
        // backoff (SPEC.md §13): the n-th failure in a row waits
        // min(cap, minimum x 2^(n-1) + random(0...jitter)); a welcome resets n. So the lamps
        // of a killed controller reach the survivors spread over the jitter (1 to 6 s with
        // the defaults), not all at once; a dead controller in the list costs a lamp one wait.
        // Only the lamp's own reboot brings it back to the same controller.
        moveOnNext = !rebooting
        state = .idle(reconnectAt: now + lamp.backoff.nextDelay(using: &rng))
    }

    // MARK: Link events (from SimLinkHandler)

    /// The link handler of attempt `linkAttempt` joined its channel's pipeline. Returns false
    /// when that link is no longer this lamp's to use: an attempt given up at its deadline, or
    /// a channel that closed while the upgrade was finishing (its channelInactive passed before
    /// the handler was there, so only the close future reports its end). A lamp that took such
    /// a link as its own waited on a dead channel for good: 16 of 100,000 lamps stayed
    /// "upgraded, not authenticated" in a cluster run.
    func attached(_ context: ChannelHandlerContext, attempt linkAttempt: UInt64) -> Bool {
        guard linkAttempt == attempt, context.channel.isActive, case .connecting = state else { return false }
        state = .connected(context)
        attemptChannel = context.channel
        lastCloseCode = nil
        frameOutput = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        return true
    }

    func detached(now: UInt64, channel: any Channel) {
        // Only the current link's end counts: a link this lamp already left (given up at its
        // deadline) that ends late must not clear the state of the attempt after it. (A lamp
        // whose current attempt lost its channel this way never gave that attempt up: 32 of
        // 100,000 lamps stayed upgraded and unauthenticated for good in a cluster run.)
        guard case .connected(let current) = state, current.channel === channel else { return }
        frameOutput = nil
        attemptChannel = nil
        if lamp.authenticated {
            stats.add(.connected, -1)
        }
        if let linkedLabel {
            stats.controller(linkedLabel) { $0.linked -= 1 }
            self.linkedLabel = nil
        }
        lamp.linkClosed()
        stalled = false
        if case .connected = state {
            stats.add(.reconnects)
            scheduleReconnect(now: now)
        }
    }

    func received(_ message: LampMessage, context: ChannelHandlerContext, now: UInt64) -> [LampMessage] {
        if stalled { return [] }
        switch message {
        case .challenge(let challenge):
            let hello = lamp.hello(for: challenge, now: now)
            let message = LampMessage.hello(hello)
            if lamp.misbehaviour == .replay && lamp.capturedHello == nil {
                lamp.capturedHello = message.bytes
            }
            return [message]
        case .welcome(let welcome):
            guard lamp.welcomed(welcome, now: now) else {
                close(context, code: 4001)
                return []
            }
            stats.add(.handshakes)
            stats.add(.connected)
            if let target {
                linkedLabel = target.label
                stats.controller(target.label) { $0.linked += 1 }
            }
            everConnected = true
            lamp.nextReportAt = now + UInt64.random(in: 0...lamp.reportIntervalMilliseconds, using: &rng)
            var out: [LampMessage] = [.statusReport(lamp.status(now: now))]
            out += lamp.pendingEvents.map { .event($0) }
            out += misbehave(context)
            return out
        case .reboot:
            // SPEC.md §8.9: acknowledge, close normally, restart (here: reconnect after the
            // backoff, keeping the light's state as the hardware would).
            send(lamp.handle(message, now: now), context)
            rebooting = true
            close(context, code: 1000)
            return []
        default:
            let before = lamp.appliedVersion
            let out = lamp.handle(message, now: now)
            if lamp.appliedVersion > before { stats.add(.commandsApplied) }
            return out
        }
    }

    /// Fault injection, once per lamp, right after its first handshake.
    private func misbehave(_ context: ChannelHandlerContext) -> [LampMessage] {
        guard !lamp.misbehaved else { return [] }
        switch lamp.misbehaviour {
        case .garbage:
            lamp.misbehaved = true
            // A status report cut short: a known type that cannot be decoded.
            send(raw: [0x10, 0xde, 0xad, 0xbe, 0xef], context)
        case .oversize:
            lamp.misbehaved = true
            send(raw: [UInt8](repeating: 0x10, count: 4096), context)
        case .stall:
            lamp.misbehaved = true
            stalled = true
        case .replay:
            lamp.misbehaved = true
            if let captured = lamp.capturedHello {
                connect(replayHello: captured)
            }
        case .none, .wrongKey:
            break
        }
        return []
    }

    /// Writes the messages and flushes once: an ack and its status report go out in one
    /// segment, as a lamp's firmware would send them.
    func send(_ messages: [LampMessage], _ context: ChannelHandlerContext) {
        guard !messages.isEmpty else { return }
        for message in messages {
            guard let frameOutput else {
                var buffer = message.buffer(context.channel.allocator)
                seal(&buffer)
                context.write(NIOAny(WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey(), data: buffer)), promise: nil)
                continue
            }
            // The whole masked frame in one buffer, written past NIO's encoder: no frame box
            // and no masking copy per message (issue 13: the load generator must not be the bound).
            var buffer = context.channel.allocator.buffer(capacity: SimSlot.sendBufferBytes)
            let payloadStart = FrameBytes.reserveHeader(&buffer)
            message.encode(into: &buffer)
            if lamp.frames != nil {
                let tag = buffer.withUnsafeReadableBytes { lamp.frames!.seal(UnsafeRawBufferPointer(rebasing: $0[payloadStart...])) }
                buffer.writeInteger(tag)
            }
            // A lamp's messages are far below the 64 KiB a frame built here may carry.
            FrameBytes.finish(&buffer, payloadStart: payloadStart, maskKey: maskWord())
            frameOutput.write(NIOAny(buffer), promise: nil)
        }
        context.flush()
    }

    /// Room for a frame's header, a lamp's longest message and its tag.
    static let sendBufferBytes = 96

    /// Raw bytes, sealed like any message after the welcome: the controller sees a message
    /// that is authentic but broken.
    private func send(raw bytes: [UInt8], _ context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(bytes: bytes)
        seal(&buffer)
        write(buffer, context)
    }

    /// Appends the frame tag (SPEC.md §4.3) once the link authenticates frames.
    private func seal(_ buffer: inout ByteBuffer) {
        guard lamp.frames != nil else { return }
        let tag = buffer.withUnsafeReadableBytes { lamp.frames!.seal($0) }
        buffer.writeInteger(tag)
    }

    /// Checks a received message's tag once the link authenticates frames; the message
    /// without its tag, or nil if the tag is wrong (close 4006, do not act on it).
    func opened(_ data: ByteBuffer) -> ByteBuffer? {
        guard lamp.frames != nil else { return data }
        guard let length = data.withUnsafeReadableBytes({ lamp.frames!.open($0) }) else { return nil }
        return data.getSlice(at: data.readerIndex, length: length)
    }

    private func write(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: maskKey(), data: buffer)
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    func close(_ context: ChannelHandlerContext, code: UInt16) {
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.writeInteger(code)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: maskKey(), data: payload)
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    // MARK: Time

    /// Reports, expiries, and injected failures and drops.
    func tick(now: UInt64, failureChance: Double, dropChance: Double) {
        guard case .connected(let context) = state, lamp.authenticated, !stalled else { return }
        var out = lamp.tick(now: now)
        if failureChance > 0 && Double.random(in: 0..<1, using: &rng) < failureChance {
            let event = lamp.toggleFailure(now: now)
            if event.kind == .faultRaised { stats.add(.faultsRaised) }
            out.append(.event(event))
            out.append(.statusReport(lamp.status(now: now)))
        }
        send(out, context)
        updateDue()
        if dropChance > 0 && Double.random(in: 0..<1, using: &rng) < dropChance {
            context.close(promise: nil)
        }
    }
}

/// Sends the HTTP upgrade request once the TCP connection is up.
final class UpgradeRequestSender: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    static let name = "upgrade-request"
    let target: SimTarget

    init(target: SimTarget) {
        self.target = target
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(target.url.hostForHeader):\(target.url.port)")
        headers.add(name: "Sec-WebSocket-Protocol", value: LampProtocolVersion.subprotocol)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.url.path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Reaching here means the server answered without upgrading (e.g. 400 or 404).
        if case .head = unwrapInboundIn(data) {
            context.close(promise: nil)
        }
    }
}

/// The WebSocket side of a simulated lamp's link.
final class SimLinkHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let slot: SimSlot
    /// The lamp's connect attempt this link belongs to.
    let attempt: UInt64
    /// Set for a replay probe: the captured hello to send instead of a fresh one.
    let replayHello: [UInt8]?
    private var peerMinorVersion: UInt8 = 0
    private var probeOutcomeRecorded = false

    init(slot: SimSlot, attempt: UInt64, replayHello: [UInt8]?) {
        self.slot = slot
        self.attempt = attempt
        self.replayHello = replayHello
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if replayHello == nil, !slot.attached(context, attempt: attempt) {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if replayHello == nil {
            slot.detached(now: slot.now, channel: context.channel)
        } else if !probeOutcomeRecorded {
            slot.stats.add(.replayRefused)
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .binary:
            guard let data = replayHello == nil ? slot.opened(frame.unmaskedData) : frame.unmaskedData else {
                slot.stats.add(.frameAuthenticationFailed)
                slot.close(context, code: LampCloseCode.frameAuthenticationFailed)
                return
            }
            guard let message = try? LampMessage.decode(data, peerMinorVersion: peerMinorVersion) else {
                slot.close(context, code: 4003)
                return
            }
            // The welcome has the layout of the lower of the two minors (SPEC.md §5.3).
            if case .challenge(let challenge) = message {
                peerMinorVersion = min(challenge.minorVersion, slot.lamp.announcedMinor(to: challenge.minorVersion))
            }
            if let replayHello {
                probe(message, replayHello, context)
                return
            }
            slot.send(slot.received(message, context: context, now: slot.now), context)
            slot.updateDue()
        case .ping:
            guard !slot.stalled, replayHello == nil else { return }
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: slot.maskKey(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var data = frame.unmaskedData
            let code = data.readInteger(as: UInt16.self) ?? 1005
            if replayHello != nil {
                probeOutcomeRecorded = true
                if code == 4001 { slot.stats.add(.replayRefused) } else { slot.stats.add(.closedOther) }
            } else {
                slot.lastCloseCode = code
                slot.stats.closed(code: code)
            }
            context.close(promise: nil)
        default:
            break
        }
    }

    /// A replay probe answers the challenge with the captured hello; the controller must
    /// refuse it (close 4001). A welcome means the replay worked: a security bug.
    private func probe(_ message: LampMessage, _ captured: [UInt8], _ context: ChannelHandlerContext) {
        switch message {
        case .challenge:
            let frame = WebSocketFrame(
                fin: true, opcode: .binary, maskKey: slot.maskKey(), data: context.channel.allocator.buffer(bytes: captured))
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        case .welcome:
            probeOutcomeRecorded = true
            slot.stats.add(.replayAccepted)
            context.close(promise: nil)
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Prints the first TLS failure of the run (an untrusted certificate, a refused client
/// certificate), so a fleet that cannot connect says why; later ones are counted as connect
/// failures only.
final class TLSFailureReporter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    static let reported = Atomic<Bool>(false)
    let target: SimTarget

    init(target: SimTarget) {
        self.target = target
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is BoringSSLError, !Self.reported.exchange(true, ordering: .relaxed) {
            print("lampsim: TLS with \(target.label) failed: \(error) (--ca-file names the CA that signed the controller's certificate; --client-certificate/--client-key when it asks for one)")
            fflush(nil)
        }
        context.fireErrorCaught(error)
    }
}
