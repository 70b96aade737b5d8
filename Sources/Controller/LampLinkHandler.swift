import FleetCore
import LampAuth
import LampProtocol
import LampProtocolNIO
import Logging
import Metrics
import NIOCore
import NIOWebSocket
import Synchronization

/// One lamp link on its channel's event loop: a thin adapter that turns WebSocket frames into
/// events of the link's ``ConnectionStateMachine`` and carries out the actions it returns.
/// The rules (handshake, requests, pings, idle, close) are the machine's; this type only
/// does the I/O, the registry and the bookkeeping the actions name.
///
/// Holds no task, thread or timer of its own: the event loop's ``LinkSweeper`` calls
/// ``tickIfDue()`` a few times a second, so an idle link costs only its socket, its channel
/// and this object.
final class LampLinkHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let shared: GatewayShared
    let linkID: UInt64
    private var context: ChannelHandlerContext?
    private var machine: ConnectionStateMachine
    /// The lamp's slot in the fleet, once linked.
    private var slot: Int?
    private var countedAsPending = false
    private var sweeper: LinkSweeper?
    private var assembler: MessageAssembler
    /// The start of a frame whose rest has not arrived, in a buffer of its own.
    private var partialFrame: ByteBuffer?
    /// A frame broke a rule: the link is closing and reads nothing more.
    private var inputRefused = false
    /// The writer generation in which this link last marked its lamp dirty.
    private var markedGeneration = UInt64.max
    /// Messages were written since the last flush: one flush (one syscall) per event handled
    /// sends an ack and its status report, or a whole retry, in one segment.
    private var unflushed = false
    /// The machine's ``ConnectionStateMachine/nextDueMilliseconds`` as last computed, or 0
    /// (compute it again) once a step of the machine may have brought it closer. The sweeper
    /// looks at every link 4 times a second; reading the machine's due time copies its state
    /// out of this class (a memmove and retains per link per sweep: 3 % of the daemon's CPU at
    /// 2,000 lamps under fleet commands, and all of an idle fleet's), so an idle link costs
    /// one comparison.
    private var knownDueMilliseconds: UInt64 = 0
    /// The payload of the peer's last ping, for the machine's `.pong`.
    private var pingPayload = ByteBuffer()
    /// The peer's IP address (nil on an in-memory channel), for the failed-handshake limit.
    private var sourceAddress: String?
    /// This link's challenge nonce, for the session keys (SPEC.md §4.3).
    private let serverNonce: Block16
    /// The lamp's key, once looked up: the session keys derive from it.
    private var lampKey: LampKey?
    /// The key of a pending rekey (or a stand-in) the hello was also checked against, and the
    /// pending generation if there is one (SPEC.md §8.12).
    private var alternateKey: (key: LampKey, pending: UInt32?)?
    /// The rekey in flight on this link: its ref and generation.
    private var rekeyInFlight: (ref: UInt32, generation: UInt32)?
    /// The ref of this link's next rekey: new for every rekey on a link, so no pad repeats.
    private var nextRekeyRef: UInt32 = 1
    /// Seals what this link sends after the welcome and checks what it receives (SPEC.md
    /// §4.3); nil before the welcome and on a link of minor 0 or 1.
    private var frames: FrameAuthenticator?
    /// Room in a message's buffer: the frame header, the longest message but a program page,
    /// and its tag (a program page grows its buffer once).
    static let sendBufferBytes = 88

    init(shared: GatewayShared) {
        self.shared = shared
        self.linkID = shared.makeLinkID()
        let serverNonce = Nonce.random()
        self.serverNonce = serverNonce
        self.machine = ConnectionStateMachine(
            serverNonce: serverNonce, configuration: shared.configuration.connection,
            atMilliseconds: shared.clock.nowMilliseconds())
        self.assembler = MessageAssembler(maximumMessageSize: shared.configuration.maximumMessageSize)
    }

    /// Logs with this link's metadata, built only when a line is logged.
    private func log(_ level: Logger.Level, _ message: Logger.Message, _ extra: Logger.Metadata = [:]) {
        var metadata: Logger.Metadata = ["link.id": "\(linkID)"]
        if let lampID = machine.lampID { metadata["lamp.id"] = "\(lampID)" }
        shared.logger.log(level: level, message, metadata: metadata.merging(extra) { $1 })
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        sourceAddress = context.channel.remoteAddress?.ipAddress
        countedAsPending = true
        if !shared.counters.pendingHandshakes.add(within: shared.maximumPendingHandshakes.load(ordering: .relaxed)) {
            run(machine.refuse(code: LampCloseCode.tryAgainLater, reason: "too many pending handshakes"))
            return
        }
        sweeper = LinkSweeper.current(on: context.eventLoop)
        sweeper?.add(self)
        if let challenge = machine.challenge { send(.challenge(challenge)) }
        flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishPending()
        sweeper?.remove(self)
        run(machine.connectionClosed())
        self.context = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        log(.debug, "link error", ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// The bytes of the lamp's frames, as the socket (or TLS) delivered them: parsed here
    /// (``ClientFrameParser``), so a frame costs no decoder handler and no box of its own.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !inputRefused else { return }
        var input = unwrapInboundIn(data)
        if var partial = partialFrame {
            partialFrame = nil
            partial.writeBuffer(&input)
            input = partial
        }
        while input.readableBytes > 0 {
            switch ClientFrameParser.next(&input, maximumPayloadBytes: shared.configuration.maximumMessageSize) {
            case .frame(let frame):
                frameReceived(frame)
            case .needMore:
                // The rest of a frame comes in a later read: keep its start in a buffer of its
                // own (the read's buffer goes back to NIO's pool). The parser refuses a frame
                // over the limit from its header, so this holds at most one frame.
                var kept = context.channel.allocator.buffer(capacity: input.readableBytes)
                kept.writeBuffer(&input)
                partialFrame = kept
                return
            case .refused(let refusal):
                inputRefused = true
                shared.counters.linksClosedMalformed.add()
                switch refusal {
                case .tooLong:
                    run(machine.refuse(code: LampCloseCode.messageTooBig, reason: "frame over the message size limit"))
                case .invalidControl:
                    run(machine.refuse(code: LampCloseCode.protocolError, reason: "invalid control frame"))
                case .violation(let reason):
                    run(machine.refuse(code: LampCloseCode.protocolError, reason: reason))
                }
                return
            }
        }
    }

    private func frameReceived(_ frame: ClientFrame) {
        let now = shared.clock.nowMilliseconds()
        switch frame.opcode {
        case .binary, .continuation:
            let payload = LinkScratch.unmasked(frame.payload, key: frame.maskKey, in: sweeper?.scratch)
            switch assembler.add(opcode: frame.opcode, fin: frame.fin, payload: payload) {
            case .message(let message):
                received(message, now: now)
            case .incomplete:
                machine.frameReceived(atMilliseconds: now)
            case .refused(let code, let reason, let malformed):
                if malformed { shared.counters.linksClosedMalformed.add() }
                run(machine.refuse(code: code, reason: reason))
            }
        case .text:
            run(machine.refuse(code: LampCloseCode.unsupportedData, reason: "text message"))
        case .ping:
            pingPayload = LinkScratch.unmasked(frame.payload, key: frame.maskKey, in: nil)
            run(machine.pingReceived(atMilliseconds: now))
        case .pong:
            machine.frameReceived(atMilliseconds: now)
        case .connectionClose:
            run(machine.closeReceived())
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    private func received(_ frame: ByteBuffer, now: UInt64) {
        guard !machine.isClosing else { return }
        let type = frame.getInteger(at: frame.readerIndex, as: UInt8.self) ?? 0
        shared.counters.frameIn(type)
        var buffer = frame
        if frames != nil {
            // SPEC.md §4.3: the tag is checked on the bytes received, before anything decodes them.
            guard let length = frame.withUnsafeReadableBytes({ frames!.open($0) }) else {
                shared.counters.linksClosedFrameAuthentication.add()
                log(.warning, "frame authentication failed: message not acted on", [
                    "message.type": "\(type)", "message.bytes": "\(frame.readableBytes)",
                    "frame.counter": "\(frames!.receiveCounter)",
                ])
                run(machine.frameAuthenticationFailed())
                return
            }
            buffer = frame.getSlice(at: frame.readerIndex, length: length)!
        }
        do {
            let message = try LampMessage.decode(buffer, peerMinorVersion: machine.peerMinorVersion)
            runActions { machine.received(message, atMilliseconds: now, into: &$0) }
        } catch {
            let ref = buffer.withUnsafeReadableBytes { LampMessage.referenceForNack($0) }
            if error.code != "unknownType" || !machine.isLinked {
                shared.counters.linksClosedMalformed.add()
                log(.info, "malformed message", ["error": "\(error)"])
            }
            run(machine.undecodable(error, type: MessageType(rawValue: type), ref: ref, atMilliseconds: now))
        }
    }

    // MARK: Called on this link's event loop by others

    /// The operator changed this lamp's desired state.
    func desiredChanged(_ desired: DesiredState) {
        let now = shared.clock.nowMilliseconds()
        runActions { machine.desiredChanged(desired, atMilliseconds: now, into: &$0) }
        flush()
    }

    /// The operator asked for identify or reboot.
    func requestOnce(_ message: LampMessage) {
        run(machine.requestOnce(message, atMilliseconds: shared.clock.nowMilliseconds()))
        flush()
    }

    /// A newer link of the same lamp authenticated.
    func replaced() {
        log(.info, "link replaced by a newer one")
        shared.counters.linksReplaced.add()
        run(machine.replaced())
    }

    /// The controller closes the link (its lamp was removed).
    func closeLink(code: UInt16, reason: String) {
        run(machine.refuse(code: code, reason: reason))
    }

    /// The controller shuts down.
    func goingAway() {
        run(machine.shutdown())
    }

    /// Deadlines, pings, idle detection and retries, if any is due; called by the sweeper
    /// a few times a second (and by tests after moving their clock).
    func tickIfDue() {
        let now = shared.clock.nowMilliseconds()
        guard knownDueMilliseconds <= now else { return }
        knownDueMilliseconds = machine.nextDueMilliseconds
        guard knownDueMilliseconds <= now else { return }
        runActions { machine.tick(atMilliseconds: now, into: &$0) }
        flush()
    }

    /// The key lookup answered.
    private func keyLookedUp(_ key: LampKey, alternate: LampKey, pending: UInt32?, registered: Bool) {
        lampKey = key
        alternateKey = (alternate, pending)
        let now = shared.clock.nowMilliseconds()
        // LampGateway.run() validated both intervals before accepting links, so the welcome is valid.
        // The machine drops the epoch for a lamp before minor 2 (SPEC.md §5.3).
        let template = Welcome(
            timeMilliseconds: now, reportIntervalSeconds: shared.configuration.reportIntervalSeconds,
            pingIntervalSeconds: shared.configuration.pingIntervalSeconds, fleetEpoch: shared.fleet.withModel { $0.fleetEpoch },
            proof: .zero)!
        run(
            machine.keyLookedUp(
                key, alternate: alternate, alternateAccepted: pending != nil, registered: registered, welcome: template, atMilliseconds: now))
        flush()
    }

    // MARK: Actions

    /// Lets the machine append its actions to the loop's reused list, then runs them: the hot
    /// path (a command, an ack, a status report) allocates no list of its own.
    private func runActions(_ step: (inout [ConnectionStateMachine.Action]) -> Void) {
        guard let scratch = sweeper?.scratch else {
            var actions: [ConnectionStateMachine.Action] = []
            step(&actions)
            run(actions)
            return
        }
        var actions = scratch.takeActions()
        step(&actions)
        run(actions)
        scratch.giveBack(&actions)
    }

    private func run(_ actions: [ConnectionStateMachine.Action]) {
        // Every step of the machine ends here, and a step may bring its next due time closer
        // (a request sent, a retry scheduled); receiving a frame only moves it later.
        knownDueMilliseconds = 0
        for action in actions {
            run(action)
        }
    }

    private func run(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .send(let message):
            send(message)
        case .ping:
            writeControl(opcode: LampLinkHandler.pingOpcode, payload: ByteBuffer())
        case .pong:
            writeControl(opcode: LampLinkHandler.pongOpcode, payload: pingPayload)
            pingPayload = ByteBuffer()
        case .close(let code, let reason):
            close(code: code, reason: reason)
        case .lookUpKey(let id):
            lookUpKey(id)
        case .authenticated(let hello):
            authenticated(hello)
        case .helloMACCompared:
            shared.counters.helloMACsCompared.add()
        case .handshakeRefused(let code, let reason, let id):
            shared.counters.handshakesRefused.add()
            shared.writer.handshakeEnded()
            if code != LampCloseCode.tryAgainLater, let sourceAddress {
                if shared.failureLimiter.failed(sourceAddress, atMilliseconds: shared.clock.nowMilliseconds()) {
                    log(.warning, "too many failed handshakes from one address: its new connections are refused for a while", ["source.address": "\(sourceAddress)"])
                }
            }
            log(.info, "handshake refused", ["reason": "\(reason)", "close.code": "\(code)"])
            if let id {
                let registered = shared.fleet.withModel { $0.slot(of: id) != nil }
                shared.history.authFailed(id, registered: registered, reason: reason, source: sourceAddress)
            }
        case .statusReported(let report):
            guard let slot, let lampID = machine.lampID else { return }
            let now = shared.clock.nowMilliseconds()
            let events = shared.fleet.withModel { model in
                model.noteStatus(slot, report, atMilliseconds: now)
                return model.takeEvents()
            }
            markDirty(slot)
            shared.events.emit(.status(lampID, report), slot: slot, atMilliseconds: now)
            shared.events.emit(events, atMilliseconds: now)
        case .link(let linkAction):
            performLinkAction(linkAction)
        case .emit(let event):
            shared.events.emit(event, slot: slot, atMilliseconds: shared.clock.nowMilliseconds())
        case .storeEvent(let event):
            storeEvent(event)
        case .unlinked(let lampID):
            unlinked(lampID)
        case .proven(let lampID):
            shared.clusterOutbox?.linked(lampID)
        }
    }

    private func performLinkAction(_ action: LinkStateMachine.Action) {
        guard let slot else { return }
        let now = shared.clock.nowMilliseconds()
        switch action {
        case .send(let message):
            send(message)
        case .controlApplied(let version):
            let (latency, events) = shared.fleet.withModel { model in
                (model.noteControlApplied(slot, version: version, atMilliseconds: now), model.takeEvents())
            }
            if let latency { shared.metrics.commandApplied.recordMilliseconds(latency) }
            if let relay = shared.clusterOutbox, let lampID = machine.lampID { relay.add(lampID, version: version) }
            markDirty(slot)
            shared.events.emit(events, atMilliseconds: now)
        case .configApplied(let version):
            shared.fleet.withModel { $0.noteConfigApplied(slot, version: version) }
            markDirty(slot)
        case .programApplied(let revision):
            shared.fleet.withModel { $0.noteProgramApplied(slot, revision: revision) }
            log(.info, "lamp holds its program", ["program.revision": "\(revision)"])
        case .refused(let type, let ref, let reason):
            let events = shared.fleet.withModel { model in
                if LinkStateMachine.controlTypes.contains(type) {
                    model.noteRefused(slot, version: ref, reason: reason, atMilliseconds: now)
                }
                return model.takeEvents()
            }
            if LinkStateMachine.controlTypes.contains(type), let relay = shared.clusterOutbox, let lampID = machine.lampID {
                relay.add(ClusterNotice.LampAnswer(lamp: lampID, kind: .refused(version: ref, reason: reason.rawValue)))
            }
            shared.events.emit(events, atMilliseconds: now)
            log(.info, "lamp refused a request", ["request.type": "\(type)", "request.ref": "\(ref)", "reason": "\(reason)"])
        case .ignored(let type, let ref):
            shared.counters.answersIgnored.add()
            log(.info, "ignored an answer that matches no request in flight", ["request.type": "\(type)", "request.ref": "\(ref)"])
        case .deferred(let type, let ref, let wait):
            log(.debug, "lamp busy, sending again later", ["request.type": "\(type)", "request.ref": "\(ref)", "retry.ms": "\(wait)"])
        case .programGaveUp(let revision):
            log(.info, "program transfer given up after restarts", ["program.revision": "\(revision)"])
        case .retrying(let type, let ref, let attempt):
            log(.debug, "request timed out, sending again", ["request.type": "\(type)", "request.ref": "\(ref)", "attempt": "\(attempt)"])
        case .onceAnswered(let type, let ref, let accepted) where type == .rekey:
            guard let inFlight = rekeyInFlight, inFlight.ref == ref, let lampID = machine.lampID else { return }
            rekeyInFlight = nil
            if accepted {
                completeRekey(lampID, generation: inFlight.generation, how: "ack")
            } else {
                log(.warning, "lamp did not take its new key: it keeps the old one, the rotation stays pending", [
                    "key.generation": "\(inFlight.generation)"
                ])
            }
        case .onceAnswered(let type, let ref, let accepted):
            let events = shared.fleet.withModel { model in
                model.noteOnceAnswered(slot, ref: ref, accepted: accepted, atMilliseconds: now)
                return model.takeEvents()
            }
            if let relay = shared.clusterOutbox, let lampID = machine.lampID {
                relay.add(ClusterNotice.LampAnswer(lamp: lampID, kind: .once(ref: ref, accepted: accepted)))
            }
            shared.events.emit(events, atMilliseconds: now)
            log(.debug, "once request answered", ["request.type": "\(type)", "request.ref": "\(ref)", "accepted": "\(accepted)"])
        }
    }

    /// Finds the key the hello is checked against, in memory and at once: the same work for
    /// a registered id and an unknown one (see ``GatewayShared/helloKeys(for:)``).
    private func lookUpKey(_ id: LampID) {
        let keys = shared.helloKeys(for: id)
        keyLookedUp(keys.key, alternate: keys.alternate, pending: keys.pending, registered: keys.registered)
    }

    private func authenticated(_ hello: Hello) {
        let now = shared.clock.nowMilliseconds()
        guard let context,
            let (linkUp, events) = shared.fleet.withModel({ model -> (LinkUp, [FleetEvent])? in
                guard let linkUp = model.linkUp(hello, atMilliseconds: now) else { return nil }
                return (linkUp, model.takeEvents())
            })
        else {
            run(machine.refuse(code: LampCloseCode.authenticationFailed, reason: "lamp removed during handshake"))
            return
        }
        let slot = linkUp.slot
        let desired = linkUp.desired
        switch linkUp.outcome {
        case .current:
            break
        case .otherEpoch:
            log(.info, "lamp from another fleet epoch: sending its whole desired state", ["lamp.epoch": "\(hello.fleetEpoch)"])
        case .ahead, .unproven:
            // SPEC.md §8.0: the sequence moved past the lamp's versions; store the state
            // issued again (a failed write only means the next hello finds the lamp ahead again).
            let ahead = linkUp.outcome == .ahead
            if ahead { shared.counters.lampsAhead.add() }
            log(ahead ? .info : .debug, ahead ? "lamp reported versions ahead of its desired state: issued again" : "lamp's versions unproven in this run: issued again", [
                "lamp.applied": "\(hello.appliedVersion)", "lamp.config": "\(hello.configVersion)",
                "lamp.program": "\(hello.programRevision)", "desired.version": "\(desired.control.version)",
            ])
            // Off the event loop, and nothing comes back to it: no promise of the link's loop
            // is completed from the store's thread.
            let store = shared.store
            let logger = shared.logger
            if let floor = linkUp.controlVersionWanted, let reissues = shared.sharedReissues {
                // Several controllers: the control version comes from their shared counter
                // (one for every lamp linking meanwhile), then the desired state goes to the
                // lamp through its own loop and is stored.
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                reissues.add(.init(slot: slot, lampID: hello.lampID, floor: floor) { desired in
                    bound.eventLoop.execute { bound.value.desiredChanged(desired) }
                })
            } else {
                Task {
                    do {
                        try await store.reissueDesired(hello.lampID, desired, atMilliseconds: now)
                    } catch {
                        logger.warning("cannot store a desired state issued again", metadata: ["lamp.id": "\(hello.lampID)", "error": "\(error)"])
                    }
                }
            }
        case .tooFarAhead(let reported):
            shared.counters.lampsAhead.add()
            log(.info, "lamp reported a version too far ahead of the sequence", ["lamp.reported": "\(reported)"])
            finishPending()
            run(machine.refuse(code: LampCloseCode.versionTooFarAhead, reason: "version \(reported) too far ahead of the sequence"))
            return
        }
        finishPending()
        shared.counters.handshakesAccepted.add()
        if machine.authenticatedWithAlternate, let alternateKey, let generation = alternateKey.pending {
            // SPEC.md §8.12: the lamp stored the new key (its ack was lost): the new key is now its own.
            lampKey = alternateKey.key
            completeRekey(hello.lampID, generation: generation, how: "hello with the new key")
        }
        if AuthenticationTranscript.framesAuthenticated(controllerMinor: LampProtocolVersion.minor, lampMinor: hello.minorVersion),
            let lampKey
        {
            // Before the welcome goes out: every message after it is sealed.
            frames = FrameAuthenticator(lampKey: lampKey, role: .controller, clientNonce: hello.clientNonce, serverNonce: serverNonce)
        }
        self.slot = slot
        let handle = LinkHandle(linkID: linkID, handler: NIOLoopBound(self, eventLoop: context.eventLoop), eventLoop: context.eventLoop)
        if let old = shared.registry.register(slot, handle) {
            old.eventLoop.execute { old.handler.value.replaced() }
        }
        markDirty(slot)
        shared.writer.handshakeEnded()
        log(.info, "lamp online", ["lamp.applied": "\(hello.appliedVersion)", "lamp.firmware": "\(hello.firmware)"])
        run(machine.established(desired: desired, reported: linkUp.reported, atMilliseconds: now))
        shared.events.emit(events, atMilliseconds: now)
        if !machine.authenticatedWithAlternate { rekeyIfPending() }
    }

    /// Sends the lamp its pending key (SPEC.md §8.12), if a rekey is pending and none is in
    /// flight on this link; a link without frame tags (minor 0 or 1) cannot carry one.
    func rekeyIfPending() {
        guard let slot, let lampID = machine.lampID, rekeyInFlight == nil, machine.isLinked else { return }
        let pending = shared.fleet.withModel { model in
            model.entry(lampID).flatMap { entry in entry.record.pendingKeyGeneration.map { ($0, entry.record.pendingKeyMaster) } }
        }
        guard let (generation, master) = pending, shared.fleet.withModel({ $0.slot(of: lampID) }) == slot else { return }
        guard let frames else {
            log(.warning, "cannot rotate this lamp's key: its link has no frame tags (protocol minor below 2)", [
                "lamp.minor": "\(machine.peerMinorVersion)"
            ])
            return
        }
        let ref = nextRekeyRef
        nextRekeyRef &+= 1
        guard let newKey = shared.rekeyKey(for: lampID, generation: generation, master: master) else {
            log(.error, "cannot rotate this lamp's key: the key file lacks the master key its pending key derives from", [
                "key.master": "\(master ?? "-")"
            ])
            return
        }
        // generation is pending = current + 1 >= 1, so the request can be made.
        guard let rekey = frames.rekey(ref: ref, generation: generation, newKey: newKey) else { return }
        rekeyInFlight = (ref, generation)
        log(.info, "sending the lamp its new key", ["key.generation": "\(generation)", "request.ref": "\(ref)"])
        run(machine.requestOnce(.rekey(rekey), atMilliseconds: shared.clock.nowMilliseconds()))
        flush()
    }

    /// The lamp proved its new key (its ack, or a hello with it): stored with an audit entry,
    /// then made current in memory; from then on the old key is refused.
    private func completeRekey(_ lampID: LampID, generation: UInt32, how: String) {
        guard let context else { return }
        let store = shared.store
        let fleet = shared.fleet
        let logger = shared.logger
        let now = shared.clock.nowMilliseconds()
        let audit = AuditRecord(
            atMilliseconds: now, actor: "lamplighterd", role: "system", action: "lamps.rekeyed", target: "lamp:\(lampID)",
            detail: "generation \(generation) (\(how))", outcome: "ok")
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask { () -> LampRecord? in
            guard try await store.completeRekey(lampID, generation: generation, audit: audit) else { return nil }
            return try await store.lamp(lampID)?.record
        }.whenComplete { result in
            switch result {
            case .success(let record?):
                // As stored: the store starts the next rotation at once if the key was issued
                // under a master key rotated out meanwhile.
                fleet.withModel { model in
                    if let slot = model.slot(of: lampID) { model.setKeyState(slot, from: record) }
                }
                logger.notice("lamp key rotated", metadata: ["lamp.id": "\(lampID)", "key.generation": "\(generation)", "key.proof": "\(how)"])
                if record.pendingKeyGeneration != nil { handler.value.rekeyIfPending() }
            case .success(nil):
                break
            case .failure(let error):
                logger.warning("cannot store a completed key rotation: it stays pending", metadata: ["lamp.id": "\(lampID)", "error": "\(error)"])
            }
        }
    }

    private func unlinked(_ lampID: LampID) {
        guard let slot, shared.registry.remove(slot, linkID: linkID) else { return }
        shared.clusterOutbox?.unlinked(lampID)
        let now = shared.clock.nowMilliseconds()
        let events = shared.fleet.withModel { model in
            model.linkDown(slot, atMilliseconds: now)
            return model.takeEvents()
        }
        shared.writer.markDirty(slot)
        shared.events.emit(.offline(lampID), slot: slot, atMilliseconds: now)
        shared.events.emit(events, atMilliseconds: now)
        log(.info, "lamp offline")
    }

    /// Hands the lamp's event to the group commit; the answer (ack once durable, busy if it
    /// cannot be) comes back to this link's event loop. A full queue refuses it at once.
    private func storeEvent(_ event: LampEvent) {
        guard let context, let lampID = machine.lampID else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let sequence = event.sequence
        let queued = shared.eventCommitter.submit(.lamp(lampID, event), slot: slot, atMilliseconds: shared.clock.nowMilliseconds()) {
            outcome in
            eventLoop.execute { handler.value.eventAnswered(sequence: sequence, outcome: outcome) }
        }
        if !queued {
            log(.warning, "too many lamp events wait for the store: refused with busy", ["event.sequence": "\(sequence)"])
            eventAnswered(sequence: sequence, outcome: .refused)
        }
    }

    /// The group commit answered for the event `sequence` (on this link's event loop): ack or
    /// busy, if this link is still up.
    func eventAnswered(sequence: UInt32, outcome: LampEventCommitter.Outcome) {
        switch outcome {
        case .stored: run(machine.eventStored(sequence: sequence))
        case .refused: run(machine.eventRefused(sequence: sequence))
        }
        flush()
    }

    private func markDirty(_ slot: Int) {
        markedGeneration = shared.writer.markDirty(slot, ifNotMarkedIn: markedGeneration)
    }

    // MARK: Output

    /// RFC 6455 §5.5's control frames.
    static let closeOpcode: UInt8 = 0x8
    static let pingOpcode: UInt8 = 0x9
    static let pongOpcode: UInt8 = 0xA

    /// Sends a protocol message as one whole binary frame (built by ``FrameBytes``: no
    /// encoder in the pipeline). In a batch (a fleet command, a sweep's retries) the frame
    /// goes into the loop's shared slab instead of a buffer of its own.
    private func send(_ message: LampMessage) {
        guard let context else { return }
        shared.counters.frameOut(message.type)
        let sealed = frames != nil && message.type != .welcome && message.type != .challenge
        if let scratch = sweeper?.scratch, scratch.isCollecting,
            scratch.collect(for: self, allocator: context.channel.allocator, { slab in encodeFrame(message, sealed: sealed, into: &slab) })
        {
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: LampLinkHandler.sendBufferBytes)
        guard let start = encodeFrame(message, sealed: sealed, into: &buffer) else {
            // Never a message of this protocol (SPEC.md §10: 1 KiB at most).
            log(.error, "a message too long for one frame was not sent", ["message.type": "\(message.type)"])
            return
        }
        buffer.moveReaderIndex(to: start)
        writeFrame(buffer)
    }

    /// Writes a control frame (RFC 6455 §5.5: at most 125 bytes of payload) around `payload`
    /// from `buffer`'s writer index on; returns the frame's first index.
    private static func encodeControl(opcode: UInt8, payload: ByteBuffer, into buffer: inout ByteBuffer) -> Int {
        var payload = payload
        let payloadStart = FrameBytes.reserveHeaderRoom(&buffer)
        buffer.writeBuffer(&payload)
        // A payload of 125 bytes or fewer always has a header.
        return FrameBytes.writeHeader(&buffer, payloadStart: payloadStart, opcode: opcode) ?? payloadStart
    }

    /// A control frame. In a batch (the sweeper's pings) it goes into the loop's shared slab,
    /// as messages do: a ping of its own buffer was 2 allocations per lamp every ping interval.
    private func writeControl(opcode: UInt8, payload: ByteBuffer) {
        guard let context else { return }
        if let scratch = sweeper?.scratch, scratch.isCollecting,
            scratch.collect(for: self, allocator: context.channel.allocator, { Self.encodeControl(opcode: opcode, payload: payload, into: &$0) })
        {
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: FrameBytes.headerRoom + payload.readableBytes)
        let start = Self.encodeControl(opcode: opcode, payload: payload, into: &buffer)
        buffer.moveReaderIndex(to: start)
        writeFrame(buffer)
    }

    /// Writes `message` as one whole frame from `buffer`'s writer index on (header room,
    /// payload, tag); returns the frame's first index, or nil (the buffer then holds junk past
    /// the old writer index, and nothing was sealed) for a payload too long for a 16-bit length.
    private func encodeFrame(_ message: LampMessage, sealed: Bool, into buffer: inout ByteBuffer) -> Int? {
        let payloadStart = FrameBytes.reserveHeaderRoom(&buffer)
        message.encode(into: &buffer)
        // Checked before sealing: a tag counts the frame, so a frame sealed must be sent.
        let tagBytes = sealed && frames != nil ? MemoryLayout<UInt64>.size : 0
        guard buffer.writerIndex - payloadStart + tagBytes <= FrameBytes.maximumPayloadBytes else { return nil }
        sealIfNeeded(sealed, &buffer, from: payloadStart)
        return FrameBytes.writeHeader(&buffer, payloadStart: payloadStart)
    }

    /// Appends the frame tag over the bytes from `payloadStart` to the writer index.
    private func sealIfNeeded(_ sealed: Bool, _ buffer: inout ByteBuffer, from payloadStart: Int) {
        guard sealed, frames != nil else { return }
        let offset = payloadStart - buffer.readerIndex
        // In place: sealing counts the frame (the authenticator is a value).
        let tag = buffer.withUnsafeReadableBytes { frames!.seal(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        buffer.writeInteger(tag)
    }

    /// A frame the loop's batch collected for this link (``LinkScratch``): a slice of the
    /// batch's slab, written as it is.
    func writeCollected(_ frame: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        unflushed = true
    }

    /// The batch wrote this link's last frame.
    func flushCollected() {
        flush()
    }

    /// Writes one whole frame; frames collected for this link in an open batch go first.
    private func writeFrame(_ frame: ByteBuffer) {
        guard let context else { return }
        sweeper?.scratch.writeCollectedNow()
        context.write(wrapOutboundOut(frame), promise: nil)
        unflushed = true
    }

    private func flush() {
        guard unflushed, let context else { return }
        unflushed = false
        context.flush()
    }

    private func close(code: UInt16, reason: String) {
        guard let context else { return }
        sweeper?.scratch.writeCollectedNow()
        flush()
        log(.debug, "closing link", ["close.code": "\(code)", "reason": "\(reason)"])
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.writeInteger(code)
        var frame = context.channel.allocator.buffer(capacity: FrameBytes.headerRoom + payload.readableBytes)
        frame.moveReaderIndex(to: Self.encodeControl(opcode: LampLinkHandler.closeOpcode, payload: payload, into: &frame))
        // Not `assumeIsolated()`: the unit tests drive this handler on an EmbeddedChannel from
        // the test's threads, and an isolated callback on a completed write releases the
        // future there at once; CI crashed once in EmbeddedEventLoop's promise bookkeeping.
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in context.close(promise: nil) }
    }

    private func finishPending() {
        if countedAsPending {
            countedAsPending = false
            shared.counters.pendingHandshakes.subtract()
        }
    }
}

/// Reassembles fragmented binary messages (RFC 6455 §5.4) within SPEC.md §10's limits.
struct MessageAssembler {
    /// What a frame completed.
    enum Outcome {
        /// A whole message.
        case message(ByteBuffer)
        /// More fragments are expected.
        case incomplete
        /// Close the link: the fragments broke a rule (`malformed` when over a limit).
        case refused(code: UInt16, reason: String, malformed: Bool)
    }

    /// The most fragments one message may arrive in (SPEC.md §10): more is a flood.
    static let maximumFragments = 16

    let maximumMessageSize: Int
    private var fragments: (buffer: ByteBuffer, count: Int)?

    init(maximumMessageSize: Int) {
        self.maximumMessageSize = maximumMessageSize
    }

    /// Adds a binary or continuation frame whose unmasked payload is `payload`.
    mutating func add(opcode: WebSocketOpcode, fin: Bool, payload: ByteBuffer) -> Outcome {
        var data = payload
        if opcode == .binary {
            guard fragments == nil else {
                return .refused(code: LampCloseCode.protocolError, reason: "new message inside a fragmented one", malformed: false)
            }
            if fin { return .message(data) }
            fragments = (data, 1)
            return .incomplete
        }
        guard var (buffer, count) = fragments else {
            return .refused(code: LampCloseCode.protocolError, reason: "continuation without a message", malformed: false)
        }
        count += 1
        guard count <= MessageAssembler.maximumFragments, buffer.readableBytes + data.readableBytes <= maximumMessageSize else {
            fragments = nil
            return .refused(code: LampCloseCode.messageTooBig, reason: "message over the size or fragment limit", malformed: true)
        }
        buffer.writeBuffer(&data)
        if fin {
            fragments = nil
            return .message(buffer)
        }
        fragments = (buffer, count)
        return .incomplete
    }
}
