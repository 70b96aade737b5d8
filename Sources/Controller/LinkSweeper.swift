import FleetCore
import LampProtocolNIO
import NIOCore
import NIOPosix

/// One per event loop: every sweep interval, calls ``LampLinkHandler/tick()`` on each link
/// of that loop whose next due time has passed. One timer per loop instead of one (or three) per link keeps an
/// idle link's memory to its socket and handler. Also holds the ``LinkScratch`` the loop's
/// links borrow while they handle an event.
final class LinkSweeper {
    private let eventLoop: any EventLoop
    private var links: [UInt64: LampLinkHandler] = [:]
    /// Buffers the links of this loop reuse, one event at a time.
    let scratch = LinkScratch()

    /// The sweeper of each loop, created on first use on that loop.
    /// Only ever read and written on the owning event loop's thread, so no two threads share
    /// a value.
    nonisolated(unsafe) private static let sweepers = ThreadSpecificVariable<LinkSweeper>()
    /// Time between sweeps: a quarter of a second bounds how late a 5 s handshake deadline
    /// or a 10 s request timeout can fire, at the cost of one pass over the loop's links.
    static let sweepIntervalMilliseconds: Int64 = 250

    private init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// The sweeper of the loop this code runs on (must be an event loop thread).
    static func current(on eventLoop: any EventLoop) -> LinkSweeper {
        eventLoop.preconditionInEventLoop()
        if let sweeper = sweepers.currentValue, ObjectIdentifier(sweeper.eventLoop) == ObjectIdentifier(eventLoop) {
            return sweeper
        }
        let sweeper = LinkSweeper(eventLoop: eventLoop)
        sweepers.currentValue = sweeper
        let bound = NIOLoopBound(sweeper, eventLoop: eventLoop)
        eventLoop.scheduleRepeatedTask(
            initialDelay: .milliseconds(sweepIntervalMilliseconds), delay: .milliseconds(sweepIntervalMilliseconds)
        ) { _ in
            bound.value.sweep()
        }
        return sweeper
    }

    func add(_ link: LampLinkHandler) {
        links[link.linkID] = link
    }

    func remove(_ link: LampLinkHandler) {
        links[link.linkID] = nil
    }

    /// Ticks every link that is due by its gateway's clock.
    private func sweep() {
        for link in links.values {
            link.tickIfDue()
        }
    }
}

/// Working buffers shared by the links of one event loop. A loop handles one link's event at
/// a time, so one set serves them all: a fleet command then allocates no action list and no
/// unmasking copy per lamp (issue 13), and an idle link holds none of it.
///
/// Borrowing takes the buffer out and returns it afterwards, so an event that starts another
/// on the same loop (an action that runs the machine again) only allocates its own.
final class LinkScratch {
    private var actions: [ConnectionStateMachine.Action] = []
    /// The unmasked payload of the frame being handled.
    fileprivate var payload = ByteBuffer()

    /// The largest action list kept between events; a longer one is let go.
    static let maximumKeptActions = 64
    /// The largest payload buffer kept between frames (SPEC.md §10's message limit is larger;
    /// a rare large message gets a buffer of its own).
    static let maximumKeptPayloadBytes = 4096

    /// An empty action list with room from earlier events.
    func takeActions() -> [ConnectionStateMachine.Action] {
        var taken: [ConnectionStateMachine.Action] = []
        swap(&taken, &actions)
        return taken
    }

    /// Hands an action list back for the next event.
    func giveBack(_ list: inout [ConnectionStateMachine.Action]) {
        guard list.capacity <= LinkScratch.maximumKeptActions, list.capacity > actions.capacity else { return }
        list.removeAll(keepingCapacity: true)
        swap(&list, &actions)
    }

    /// `payload` unmasked (RFC 6455 §5.3) in `scratch`'s buffer, valid until its next use:
    /// no copy of its own per frame. A caller that keeps it (a fragment) keeps a reference,
    /// and the next use then writes into a new buffer. Without a scratch (a ping's payload,
    /// kept for the pong), a buffer of its own.
    static func unmasked(_ payload: ByteBuffer, key: UInt32, in scratch: LinkScratch?) -> ByteBuffer {
        var data = payload
        guard let scratch else {
            data.withUnsafeMutableReadableBytes { FrameBytes.mask($0, key: key) }
            return data
        }
        if scratch.payload.capacity > LinkScratch.maximumKeptPayloadBytes {
            scratch.payload = ByteBuffer()
        }
        scratch.payload.clear()
        scratch.payload.writeBuffer(&data)
        scratch.payload.withUnsafeMutableReadableBytes { FrameBytes.mask($0, key: key) }
        return scratch.payload
    }
}
