import LampProtocol
import Synchronization

/// Identify and reboot: requests sent once to the lamps linked at that moment, not desired
/// state (an identify an hour late is useless, a reboot an hour late is a surprise). This
/// tracks which lamps got each one and which acknowledged it, by the request's ref.
final class OnceCommands: Sendable {
    struct Tracking: Sendable {
        var sent: Set<Int> = []
        var acknowledged: Set<Int> = []
        var refused: Set<Int> = []
    }

    /// Requests tracked at once; older ones are forgotten.
    static let limit = 256
    private let table = Mutex<[UInt32: Tracking]>([:])

    /// `ref` went to the lamps in `slots`.
    func sent(_ ref: UInt32, to slots: [Int]) {
        table.withLock { table in
            table[ref, default: Tracking()].sent.formUnion(slots)
            if table.count > OnceCommands.limit, let oldest = table.keys.min() {
                table[oldest] = nil
            }
        }
    }

    /// The lamp in `slot` answered `ref`.
    func answered(_ ref: UInt32, slot: Int, accepted: Bool) {
        table.withLock { table in
            guard table[ref]?.sent.contains(slot) == true else { return }
            if accepted {
                table[ref]?.acknowledged.insert(slot)
            } else {
                table[ref]?.refused.insert(slot)
            }
        }
    }

    /// What is known of `ref`, or nil if it is not tracked (sent before a restart).
    func tracking(_ ref: UInt32) -> Tracking? {
        table.withLock { $0[ref] }
    }
}
