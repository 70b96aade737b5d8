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
        sweeper.scheduleNextSweep()
        return sweeper
    }

    /// The next sweep, as a scheduled callback whose handler is this sweeper: no promise, no
    /// future and no closures per turn, as NIO's `RepeatedTask` had (about 9 allocations a
    /// sweep, 8 sweeps a second; issue 13). A loop that shuts down cancels it.
    private func scheduleNextSweep() {
        _ = try? eventLoop.assumeIsolated().scheduleCallback(in: .milliseconds(Self.sweepIntervalMilliseconds), handler: self)
    }

    func add(_ link: LampLinkHandler) {
        links[link.linkID] = link
    }

    func remove(_ link: LampLinkHandler) {
        links[link.linkID] = nil
    }

    /// Ticks every link that is due by its gateway's clock; the retries it sends share the
    /// batch's buffers (``LinkScratch/batch(on:_:)``).
    private func sweep() {
        scratch.beginBatch()
        for link in links.values {
            link.tickIfDue()
        }
        scratch.endBatch()
    }
}

extension LinkSweeper: NIOScheduledCallbackHandler {
    func handleScheduledCallback(eventLoop: some EventLoop) {
        sweep()
        scheduleNextSweep()
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

    // MARK: One batch's frames

    /// Nesting depth of ``beginBatch()``: frames are collected while it is above zero.
    private var batchDepth = 0
    /// Buffers holding the batch's frames back to back; only the last one is written to.
    private var slabs: [ByteBuffer] = []
    /// Each collected frame: its link, its slab and its bytes there, in the order sent.
    private var collected: [CollectedFrame] = []

    struct CollectedFrame {
        let link: LampLinkHandler
        let slab: Int
        let start: Int
        let end: Int
    }

    /// A slab is closed once it holds this many bytes (the frame that crosses it finishes
    /// first): about 500 command frames, one allocation for all of them.
    static let slabBytes = 16 * 1024
    /// The most collected-frame entries kept between batches (a larger list is let go).
    static let maximumKeptEntries = 8192

    /// Whether a frame sent now is collected (a batch is open) rather than written at once.
    var isCollecting: Bool { batchDepth > 0 }

    /// Runs `body` (which makes the links of `loop` send) as one batch on that loop: every
    /// frame goes into shared slabs, and all are written and flushed, link by link in order,
    /// when it ends. A fleet command then costs no buffer per lamp (issue 13: a `ByteBuffer`
    /// is two allocations, and the 8-byte tag makes each link's frame its own bytes).
    static func batch(on loop: any EventLoop, _ body: () -> Void) {
        let scratch = LinkSweeper.current(on: loop).scratch
        scratch.beginBatch()
        body()
        scratch.endBatch()
    }

    func beginBatch() {
        batchDepth += 1
    }

    /// Closes the batch begun last; the outermost one writes every collected frame.
    func endBatch() {
        batchDepth -= 1
        if batchDepth == 0 { writeCollected() }
    }

    /// Builds one frame of `link` at the end of the open slab: `build` writes it from the
    /// writer index on and returns the frame's first index, or nil when it cannot (then the
    /// slab is as it was and the caller sends the frame alone). Returns whether it was collected.
    func collect(
        for link: LampLinkHandler, allocator: ByteBufferAllocator, _ build: (inout ByteBuffer) -> Int?
    ) -> Bool {
        if slabs.isEmpty || slabs[slabs.count - 1].writerIndex >= LinkScratch.slabBytes {
            slabs.append(allocator.buffer(capacity: LinkScratch.slabBytes + LampLinkHandler.sendBufferBytes * 2))
        }
        let index = slabs.count - 1
        let mark = slabs[index].writerIndex
        guard let start = build(&slabs[index]) else {
            slabs[index].moveWriterIndex(to: mark)
            return false
        }
        collected.append(CollectedFrame(link: link, slab: index, start: start, end: slabs[index].writerIndex))
        return true
    }

    /// Writes what the open batch collected so far (a link must write something of its own,
    /// a close say, after its collected frames); the batch stays open.
    func writeCollectedNow() {
        if batchDepth > 0, !collected.isEmpty { writeCollected() }
    }

    /// Writes each collected frame as a slice of its slab (no copy) and flushes each link
    /// after its last frame. Slabs are never written again once sliced, so no slice is copied.
    private func writeCollected() {
        guard !collected.isEmpty else {
            slabs.removeAll(keepingCapacity: true)
            return
        }
        var frames: [CollectedFrame] = []
        swap(&frames, &collected)
        var written: [ByteBuffer] = []
        swap(&written, &slabs)
        // Writing may call back into links on this loop (a write error closes a channel);
        // what they send then is collected afresh, or written at once outside a batch.
        let saved = batchDepth
        batchDepth = 0
        for (position, frame) in frames.enumerated() {
            frame.link.writeCollected(written[frame.slab].getSlice(at: frame.start, length: frame.end - frame.start)!)
            if position == frames.count - 1 || frames[position + 1].link !== frame.link {
                frame.link.flushCollected()
            }
        }
        batchDepth = saved
        if frames.capacity <= LinkScratch.maximumKeptEntries, collected.isEmpty {
            frames.removeAll(keepingCapacity: true)
            swap(&frames, &collected)
        }
        if slabs.isEmpty {
            written.removeAll(keepingCapacity: true)
            swap(&written, &slabs)
        }
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
