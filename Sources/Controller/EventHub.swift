import FleetCore
import Foundation
import LampProtocol
import NIOCore
import OperatorAPI
import Synchronization

/// The live event stream's fan-out: the gateway and the command tracker publish, each
/// subscriber has a bounded queue that its own connection drains.
///
/// Publishing never waits for a subscriber: an event is offered to every matching queue
/// under that queue's lock and the publisher moves on. A subscriber whose queue is full is
/// cut off (``StreamSubscriber/overflowReason``), not allowed to slow the controller. With no
/// subscriber, publishing costs one atomic load.
public final class EventHub: Sendable {
    /// Messages a subscriber may have waiting before it is disconnected (new subscribers
    /// get the value current when they connect; SIGHUP can change it).
    public var bufferLimit: Int { limit.load(ordering: .relaxed) }
    private let limit: Atomic<Int>
    private let subscribers = Mutex<[UInt64: StreamSubscriber]>([:])
    private let count = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)
    private let nextID = Atomic<UInt64>(1)

    /// A hub whose subscribers may each have `bufferLimit` messages waiting.
    public init(bufferLimit: Int = 4096) {
        precondition(bufferLimit >= 1, "a stream buffer holds at least one message")
        self.limit = Atomic(bufferLimit)
    }

    /// Changes the limit for subscribers that connect from now on.
    public func setBufferLimit(_ value: Int) {
        limit.store(max(1, value), ordering: .relaxed)
    }

    /// Whether anyone is listening: publishers skip building events when not.
    public var isActive: Bool { count.load(ordering: .relaxed) > 0 }

    /// How many subscribers are connected.
    public var subscriberCount: Int { count.load(ordering: .relaxed) }

    /// How many subscribers were cut off for falling behind, since start.
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    /// A new subscriber with no channels; `disconnect` is called once if it overflows.
    func subscribe(disconnect: @escaping @Sendable () -> Void) -> StreamSubscriber {
        let subscriber = StreamSubscriber(
            id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, bufferLimit: bufferLimit,
            disconnect: { [weak self] in
                self?.dropped.wrappingAdd(1, ordering: .relaxed)
                disconnect()
            })
        subscribers.withLock { $0[subscriber.id] = subscriber }
        count.wrappingAdd(1, ordering: .relaxed)
        return subscriber
    }

    /// Forgets a subscriber whose connection ended.
    func unsubscribe(_ subscriber: StreamSubscriber) {
        if subscribers.withLock({ $0.removeValue(forKey: subscriber.id) }) != nil {
            count.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    /// Offers a lamp's event to the subscribers of `fleet`, `lamp:ID` and its groups.
    /// `make` builds the event only if someone wants it; `groups` is asked only if a
    /// subscriber holds a group channel. Status events are rate-limited per subscriber.
    func publishLamp(
        _ lamp: LampID, isStatus: Bool, atMilliseconds now: UInt64, groups: () -> [String], make: () -> StreamEvent
    ) {
        var lampGroups: [String]?
        fanOut(make) { subscriber in
            subscriber.wantsLamp(lamp.value, isStatus: isStatus, atMilliseconds: now) {
                if lampGroups == nil { lampGroups = groups() }
                return lampGroups ?? []
            }
        }
    }

    /// Offers a command's event to the subscribers of `fleet` and of its target's channel
    /// (`group:NAME`, `lamp:ID`: the target's own spelling).
    func publishCommand(_ target: CommandTarget, event: StreamEvent) {
        let channel = target == .all ? nil : target.description
        fanOut({ event }) { $0.wantsCommand(channel: channel) }
    }

    /// Offers an event that is about no lamp and no command (a cabinet's incident) to the
    /// subscribers of `fleet`.
    func publishFleet(_ event: StreamEvent) {
        fanOut({ event }) { $0.wantsCommand(channel: nil) }
    }

    /// Offers an event to every subscriber that wants it, encoding it once, and only if one does.
    private func fanOut(_ make: () -> StreamEvent, to wants: (StreamSubscriber) -> Bool) {
        guard isActive else { return }
        let current = subscribers.withLock { Array($0.values) }
        var text: String?
        for subscriber in current where wants(subscriber) {
            if text == nil { text = EventHub.encode(make()) }
            subscriber.offer(text ?? "")
        }
    }

    static func encode(_ event: StreamEvent) -> String {
        // A StreamEvent has only strings, numbers, dates and arrays of them: it always encodes.
        (try? String(decoding: APICoding.encoder().encode(event), as: UTF8.self)) ?? #"{"type":"error"}"#
    }
}

/// One stream connection's subscriptions and queue. The publisher side (any thread) offers;
/// the connection's writer takes batches.
final class StreamSubscriber: Sendable {
    struct State {
        var channels: Set<String> = []
        var hasGroupChannel = false
        var statusIntervalMilliseconds: UInt64 = 1000
        var lastStatus: [String: UInt64] = [:]
        var queue: [String] = []
        var waiter: CheckedContinuation<Void, Never>?
        var overflowed = false
        var finished = false
    }

    /// What the writer gets next.
    enum Next {
        case messages([String])
        case overflowed
        case finished
    }

    let id: UInt64
    let bufferLimit: Int
    private let state = Mutex(State())
    private let disconnect: @Sendable () -> Void

    init(id: UInt64, bufferLimit: Int, disconnect: @escaping @Sendable () -> Void) {
        self.id = id
        self.bufferLimit = bufferLimit
        self.disconnect = disconnect
    }

    /// The reason given to a subscriber that could not keep up.
    var overflowReason: String { "subscriber too slow: more than \(bufferLimit) events waiting" }

    /// Adds channels (already validated); returns the channels now held, or nil (and
    /// changes nothing) if that would be more than `limit`.
    func subscribe(_ channels: [String], statusIntervalMilliseconds: UInt64?, limit: Int) -> [String]? {
        state.withLock { state in
            guard state.channels.union(channels).count <= limit else { return nil }
            state.channels.formUnion(channels)
            state.hasGroupChannel = state.channels.contains { $0.hasPrefix("group:") }
            if let statusIntervalMilliseconds { state.statusIntervalMilliseconds = statusIntervalMilliseconds }
            return state.channels.sorted()
        }
    }

    /// Drops channels; returns the channels now held.
    func unsubscribe(_ channels: [String]) -> [String] {
        state.withLock { state in
            state.channels.subtract(channels)
            state.hasGroupChannel = state.channels.contains { $0.hasPrefix("group:") }
            return state.channels.sorted()
        }
    }

    func wantsLamp(_ lamp: String, isStatus: Bool, atMilliseconds now: UInt64, groups: () -> [String]) -> Bool {
        state.withLock { state in
            guard !state.overflowed, !state.finished, !state.channels.isEmpty else { return false }
            var matches = state.channels.contains(StreamChannel.fleet) || state.channels.contains("lamp:" + lamp)
            if !matches && state.hasGroupChannel {
                matches = groups().contains { state.channels.contains("group:" + $0) }
            }
            guard matches else { return false }
            if isStatus && state.statusIntervalMilliseconds > 0 {
                if let last = state.lastStatus[lamp], now < last + state.statusIntervalMilliseconds { return false }
                state.lastStatus[lamp] = now
            }
            return true
        }
    }

    func wantsCommand(channel: String?) -> Bool {
        state.withLock { state in
            !state.overflowed && !state.finished
                && (state.channels.contains(StreamChannel.fleet) || channel.map { state.channels.contains($0) } ?? false)
        }
    }

    /// Queues a message, or cuts the subscriber off if its queue is full.
    func offer(_ text: String) {
        let (waiter, cutOff) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
            guard !state.overflowed, !state.finished else { return (nil, false) }
            if state.queue.count >= bufferLimit {
                state.overflowed = true
                state.queue = []
                defer { state.waiter = nil }
                return (state.waiter, true)
            }
            state.queue.append(text)
            defer { state.waiter = nil }
            return (state.waiter, false)
        }
        waiter?.resume()
        if cutOff { disconnect() }
    }

    /// The connection ended: the writer stops.
    func finish() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for messages; everything queued comes in one batch.
    func next() async -> Next {
        while true {
            let ready: Next? = state.withLock { state in
                if state.overflowed { return .overflowed }
                if !state.queue.isEmpty {
                    defer { state.queue.removeAll(keepingCapacity: true) }
                    return .messages(state.queue)
                }
                if state.finished { return .finished }
                return nil
            }
            if let ready { return ready }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.overflowed || state.finished || !state.queue.isEmpty { return true }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
