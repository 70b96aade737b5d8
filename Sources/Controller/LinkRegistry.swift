import LampProtocol
import NIOCore
import Synchronization

/// A handle on one authenticated link, usable from any thread.
final class LinkHandle: Sendable {
    /// Unique per link, so a link's cleanup can check it is still the current one.
    let linkID: UInt64
    let eventLoop: any EventLoop
    let handler: NIOLoopBound<LampLinkHandler>

    init(linkID: UInt64, handler: NIOLoopBound<LampLinkHandler>, eventLoop: any EventLoop) {
        self.linkID = linkID
        self.handler = handler
        self.eventLoop = eventLoop
    }
}

/// The current link of every online lamp, by the lamp's slot in ``FleetState``.
///
/// The rule that keeps duplicate identities safe (DOMAIN.md, OCPP lessons): a newly
/// authenticated link replaces the old one, and a link's cleanup removes the entry only if
/// the entry is still that link.
final class LinkRegistry: Sendable {
    private let links = Mutex<(handles: [LinkHandle?], count: Int)>(([], 0))

    /// Makes `handle` the lamp's current link; returns the link it replaced, if any.
    func register(_ slot: Int, _ handle: LinkHandle) -> LinkHandle? {
        links.withLock { links in
            if slot >= links.handles.count {
                links.handles.append(contentsOf: repeatElement(nil, count: max(slot + 1, links.handles.count * 2) - links.handles.count))
            }
            let old = links.handles[slot]
            links.handles[slot] = handle
            if old == nil { links.count += 1 }
            return old
        }
    }

    /// Removes the lamp's entry if it is still link `linkID`; returns whether it was.
    func remove(_ slot: Int, linkID: UInt64) -> Bool {
        links.withLock { links in
            guard slot < links.handles.count, links.handles[slot]?.linkID == linkID else { return false }
            links.handles[slot] = nil
            links.count -= 1
            return true
        }
    }

    /// The current links of the lamps in these slots (offline ones are skipped), each with
    /// its position in `slots`.
    func handles(for slots: [Int]) -> [(Int, LinkHandle)] {
        links.withLock { links in
            slots.indices.compactMap { position in
                let slot = slots[position]
                guard slot < links.handles.count, let handle = links.handles[slot] else { return nil }
                return (position, handle)
            }
        }
    }

    /// Every current link.
    func all() -> [LinkHandle] {
        links.withLock { $0.handles.compactMap { $0 } }
    }

    /// How many lamps are linked.
    var count: Int { links.withLock { $0.count } }
}
