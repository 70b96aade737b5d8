import FleetCore
import LampAuth
import LampProtocol
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// The lamps' side of the controller: a WebSocket server on plain SwiftNIO speaking
/// Protocol/SPEC.md, one ``LampLinkHandler`` per link.
public final class LampGateway: Service, Sendable {
    let shared: GatewayShared
    private let group: any EventLoopGroup
    /// Where the gateway listens, or why it could not; nil before it has tried.
    private let bound = Mutex<Result<SocketAddress, GatewayError>?>(nil)
    /// Callers of ``listeningAddress()`` waiting for the bind.
    private let waiting = Mutex<[CheckedContinuation<SocketAddress, any Error>]>([])

    /// Counters for `/api/v1/stats`, `/metrics` and the tests.
    public var counters: GatewayCounters { shared.counters }

    /// Changes how many links may be in their handshake at once; open links are untouched.
    public func setMaximumPendingHandshakes(_ value: Int) {
        shared.maximumPendingHandshakes.store(max(1, value), ordering: .relaxed)
    }

    /// A gateway for `fleet`, not yet listening.
    init(
        configuration: GatewayConfiguration, fleet: FleetState, store: any FleetStoring, writer: ReportedStateWriter,
        events: FleetEvents, history: HistoryKeeper, eventCommitter: LampEventCommitter, counters: GatewayCounters, mutations: FleetMutations,
        keyRing: FleetKeyRing, metrics: ControllerMetrics, clock: any FleetClock, group: any EventLoopGroup, clusterOutbox: ClusterOutbox? = nil,
        logger: Logger
    ) {
        self.shared = GatewayShared(
            configuration: configuration, fleet: fleet, store: store, writer: writer, events: events, history: history,
            eventCommitter: eventCommitter, counters: counters, mutations: mutations, keyRing: keyRing, metrics: metrics,
            clock: clock, clusterOutbox: clusterOutbox, logger: logger)
        self.group = group
    }

    /// Where the gateway listens, once it does; throws if it could not bind.
    public func listeningAddress() async throws -> SocketAddress {
        try await withCheckedThrowingContinuation { continuation in
            let outcome = bound.withLock { outcome in
                if outcome == nil { waiting.withLock { $0.append(continuation) } }
                return outcome
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    /// Records the bind's outcome and wakes everyone waiting for it.
    private func settle(_ outcome: Result<SocketAddress, GatewayError>) {
        let continuations = bound.withLock { bound in
            bound = outcome
            return waiting.withLock { waiting in
                defer { waiting = [] }
                return waiting
            }
        }
        continuations.forEach { $0.resume(with: outcome) }
    }

    /// Listens until graceful shutdown, then closes every link with 1001.
    public func run() async throws {
        let shared = self.shared
        let configuration = shared.configuration
        do {
            try configuration.validate()
        } catch {
            settle(.failure(error))
            throw error
        }
        // Said before the daemon is ready, so it is seen with the start.
        let room = GatewayConfiguration.defaultMaximumLinks()
        if configuration.maximumLinks > room {
            // More links than open files to spare: at the limit the process cannot open a
            // file, answer the API, or keep its thread pool (libdispatch ends it).
            shared.logger.warning(
                "the maximum of lamp links is above the open-file limit less \(GatewayConfiguration.reservedFiles): raise the limit (ulimit -n, LimitNOFILE) or lower --max-links",
                metadata: ["links.maximum": "\(configuration.maximumLinks)", "links.room": "\(room)"])
        }
        // Every minor-2 welcome carries the database's epoch (SPEC.md §5.4).
        do {
            let epoch = try await shared.store.fleetEpoch()
            shared.fleet.withModel { $0.fleetEpoch = epoch }
        } catch {
            let failure = GatewayError(description: "cannot read the fleet epoch from the store: \(error)")
            settle(.failure(failure))
            throw failure
        }
        // After the upgrade a link's pipeline is LampLinkHandler alone (and TLS): it parses
        // the lamp's frames from the bytes, reassembles fragments and writes whole frames
        // itself, so every read crosses one handler and an idle link holds no codec.
        let upgrader = LampUpgrader(
            accept: { head in LampGateway.upgradeHeaders(for: head) },
            link: { channel in try channel.pipeline.syncOperations.addHandler(LampLinkHandler(shared: shared)) })
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Lamp messages are at most 1 KiB: small read buffers keep an idle link small.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 4096))
            .childChannelOption(.maxMessagesPerRead, value: 1)
            .childChannelInitializer { channel in
                // At the maximum of links: closed at once, before it costs a parser or a
                // handshake; the lamp moves on to another controller.
                guard shared.admitConnection(channel) else {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                // An address backed off for failed handshakes is refused before it costs
                // anything more than the accept.
                if let address = channel.remoteAddress?.ipAddress,
                    !shared.failureLimiter.admits(address, atMilliseconds: shared.clock.nowMilliseconds())
                {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeSucceededVoidFuture()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let refuse = RefuseNonUpgradeHandler()
                    // First, so a connection over the limit costs no TLS session and no HTTP
                    // parser, and the deadline covers the TLS handshake too.
                    let guarding = ConnectionGuard(limits: configuration.upgradeLimits, counters: shared.counters.beforeUpgrade)
                    try channel.pipeline.syncOperations.addHandler(guarding)
                    if let tls = configuration.tls {
                        try channel.pipeline.syncOperations.addHandler(tls.makeHandler())
                    }
                    // The upgrade completes on this channel's event loop: the handlers stay there.
                    let upgraded = NIOLoopBound((refuse, guarding), eventLoop: channel.eventLoop)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            context.pipeline.syncOperations.removeHandler(upgraded.value.0, promise: nil)
                            context.pipeline.syncOperations.removeHandler(upgraded.value.1, promise: nil)
                        }))
                    try channel.pipeline.syncOperations.addHandler(refuse)
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            let failure = GatewayError(description: "cannot listen for lamps on \(configuration.host):\(configuration.port): \(error)")
            settle(.failure(failure))
            throw failure
        }
        // A bound server channel always has a local address.
        let address = channel.localAddress!
        settle(.success(address))
        shared.logger.info("lamp gateway listening", metadata: ["address": "\(address)", "links.maximum": "\(configuration.maximumLinks)"])

        try? await gracefulShutdown()
        try? await channel.close()
        for handle in shared.registry.all() {
            handle.eventLoop.execute { handle.handler.value.goingAway() }
        }
        // Give the close frames a moment to leave.
        try? await Task.sleep(for: .milliseconds(200))
    }

    /// The response headers for an acceptable upgrade request, or nil to refuse it.
    static func upgradeHeaders(for head: HTTPRequestHead) -> HTTPHeaders? {
        guard head.uri == LampProtocolVersion.path else { return nil }
        let offered = head.headers[canonicalForm: "Sec-WebSocket-Protocol"].map { String($0) }
        guard offered.contains(LampProtocolVersion.subprotocol) else { return nil }
        return HTTPHeaders([("Sec-WebSocket-Protocol", LampProtocolVersion.subprotocol)])
    }

    /// Sends each lamp's new desired state (by slot) to its link, if it has one: one hop
    /// per event loop, not one per lamp.
    func deliver(_ states: [(Int, DesiredState)]) {
        let batches = LampGateway.perLoop(shared.registry.handles(for: states.map(\.0))) { position, handle in
            (handle.handler, states[position].1)
        }
        for (loop, batch) in batches {
            loop.execute {
                LinkScratch.batch(on: loop) {
                    for (handler, desired) in batch {
                        handler.value.desiredChanged(desired)
                    }
                }
            }
        }
    }

    /// Hands a once request (identify, reboot) to the links of those of `slots` linked now;
    /// each link's machine sends it in turn and reports the answer to the command tracker.
    /// Closes the links of these lamps here (4000, as a duplicate identity is within one
    /// controller): another controller now holds them. Returns how many were linked here.
    func closeDuplicates(_ lamps: [LampID]) -> Int {
        let slots = shared.fleet.withModel { model in lamps.compactMap { model.slot(of: $0) } }
        let handles = shared.registry.handles(for: slots)
        for (_, handle) in handles {
            handle.eventLoop.execute { handle.handler.value.replaced() }
        }
        return handles.count
    }

    func requestOnce(_ slots: [Int], _ message: LampMessage) {
        for (loop, batch) in LampGateway.perLoop(shared.registry.handles(for: slots), { $1.handler }) {
            loop.execute {
                LinkScratch.batch(on: loop) {
                    for handler in batch {
                        handler.value.requestOnce(message)
                    }
                }
            }
        }
    }

    /// `handles` split by event loop, each made an item: one array per loop, sized once. The
    /// loops are few (one per core), so finding a handle's loop is a short linear search; a
    /// dictionary grown lamp by lamp cost a fleet command an allocation per lamp (issue 13).
    static func perLoop<Item>(
        _ handles: [(Int, LinkHandle)], _ item: (Int, LinkHandle) -> Item
    ) -> [(any EventLoop, [Item])] {
        var loops: [(loop: any EventLoop, count: Int)] = []
        var loopOf: [Int] = []
        loopOf.reserveCapacity(handles.count)
        for (_, handle) in handles {
            if let index = loops.firstIndex(where: { $0.loop === handle.eventLoop }) {
                loops[index].count += 1
                loopOf.append(index)
            } else {
                loops.append((handle.eventLoop, 1))
                loopOf.append(loops.count - 1)
            }
        }
        var batches: [(any EventLoop, [Item])] = loops.map { loop in
            var items: [Item] = []
            items.reserveCapacity(loop.count)
            return (loop.loop, items)
        }
        for (index, (position, handle)) in handles.enumerated() {
            batches[loopOf[index]].1.append(item(position, handle))
        }
        return batches
    }

    /// Closes the links of those of `slots` linked now (e.g. a removed lamp's).
    func closeLinks(_ slots: [Int], code: UInt16, reason: String) {
        for (_, handle) in shared.registry.handles(for: slots) {
            handle.eventLoop.execute { handle.handler.value.closeLink(code: code, reason: reason) }
        }
    }

    /// The fleet master keys in use.
    var keyRing: FleetKeyRing { shared.keyRing.withLock { $0 } }

    /// Makes `ring` the fleet's master keys and, in the same hold of the fleet's lock,
    /// applies `update` to the model (every hello reads both under that lock).
    func swapKeyRing<Result>(_ ring: FleetKeyRing, _ update: (inout FleetModel) -> Result) -> Result {
        shared.fleet.withModel { model in
            shared.keyRing.withLock { $0 = ring }
            return update(&model)
        }
    }

    /// Sends each linked lamp in `slots` its pending key (SPEC.md §8.12).
    func rekeyIfPending(_ slots: [Int]) {
        for (_, handle) in shared.registry.handles(for: slots) {
            handle.eventLoop.execute { handle.handler.value.rekeyIfPending() }
        }
    }

    /// How many lamps have an authenticated link.
    public var linkedLamps: Int { shared.registry.count }
}

/// The gateway could not start.
public struct GatewayError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in words.
    public let description: String
}

/// Answers any HTTP request that is not a valid lamp upgrade: 404 for other paths, 400 for
/// the lamp path without the `lamplighter.v1` subprotocol (SPEC.md §2).
final class RefuseNonUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let status: HTTPResponseStatus = head.uri == LampProtocolVersion.path ? .badRequest : .notFound
        let text = status == .badRequest
            ? "lamps must upgrade to WebSocket with subprotocol \(LampProtocolVersion.subprotocol)\n"
            : "not found: lamps connect to \(LampProtocolVersion.path)\n"
        var body = context.channel.allocator.buffer(capacity: text.utf8.count)
        body.writeString(text)
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Connection", "close")])
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// A request NIO's parser refused (e.g. a raw 0xFF in the path): NIO's error handler has
    /// answered 400; close, rather than wait for the pre-upgrade deadline (issue 12).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }
}

