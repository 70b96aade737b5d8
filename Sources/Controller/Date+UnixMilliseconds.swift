import Foundation

extension Date {
    /// The instant `milliseconds` after 1970-01-01 UTC, as the store and the fleet keep time.
    init(unixMilliseconds milliseconds: UInt64) {
        self.init(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
