import NIOCore
import NIOPosix

/// One per event loop: every sweep interval, calls ``LampLinkHandler/tick()`` on each link
/// of that loop whose next due time has passed. One timer per loop instead of one (or three) per link keeps an
/// idle link's memory to its socket and handler.
final class LinkSweeper {
    private let eventLoop: any EventLoop
    private var links: [UInt64: LampLinkHandler] = [:]

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
