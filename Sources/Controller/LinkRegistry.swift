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

/// The current link of every online lamp.
///
/// The rule that keeps duplicate identities safe (DOMAIN.md, OCPP lessons): a newly
/// authenticated link replaces the old one, and a link's cleanup removes the entry only if
/// the entry is still that link.
final class LinkRegistry: Sendable {
    private let links = Mutex<[LampID: LinkHandle]>([:])

    /// Makes `handle` the lamp's current link; returns the link it replaced, if any.
    func register(_ id: LampID, _ handle: LinkHandle) -> LinkHandle? {
        links.withLock { $0.updateValue(handle, forKey: id) }
    }

    /// Removes the lamp's entry if it is still link `linkID`; returns whether it was.
    func remove(_ id: LampID, linkID: UInt64) -> Bool {
        links.withLock { links in
            guard links[id]?.linkID == linkID else { return false }
            links[id] = nil
            return true
        }
    }

    /// The current links of these lamps (offline ones are skipped).
    func handles(for ids: [LampID]) -> [(LampID, LinkHandle)] {
        links.withLock { links in ids.compactMap { id in links[id].map { (id, $0) } } }
    }

    /// Every current link.
    func all() -> [LinkHandle] {
        links.withLock { Array($0.values) }
    }

    /// How many lamps are linked.
    var count: Int { links.withLock { $0.count } }
}
