/// Why the fleet refused or could not do something, in the domain's terms. The HTTP layer
/// maps each kind to a status code in one place; the CLI maps them to exit codes.
///
/// `message` is for people and never carries internals (SQL, file paths of the store): a
/// storage failure is logged with its cause where it happened and reported as
/// ``Kind/storage``.
public struct FleetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of refusal.
    public enum Kind: Sendable, Hashable {
        /// The input is invalid (names `field`).
        case invalid
        /// What the request names does not exist.
        case notFound
        /// It conflicts with what exists (a taken name, a program still assigned).
        case conflict
        /// Well-formed, but it contradicts an earlier request it claims to repeat (an
        /// idempotency key used for another request).
        case unprocessable
        /// The store failed; nothing was changed, or the change was not confirmed.
        case storage
        /// The database cannot be reached now (several controllers on PostgreSQL): nothing
        /// was changed, or the change was not confirmed; the same request may succeed later.
        case unavailable
    }

    /// What kind of refusal.
    public let kind: Kind
    /// What went wrong, for people.
    public let message: String
    /// The input field at fault, if one is.
    public let field: String?

    /// A refusal.
    public init(_ kind: Kind, _ message: String, field: String? = nil) {
        self.kind = kind
        self.message = message
        self.field = field
    }

    /// Invalid input: the message reads "FIELD MESSAGE", e.g. "level must be from 0 to 100".
    public static func invalid(_ message: String, field: String) -> FleetError {
        FleetError(.invalid, "\(field) \(message)", field: field)
    }

    /// Something named does not exist.
    public static func notFound(_ message: String, field: String? = nil) -> FleetError {
        FleetError(.notFound, message, field: field)
    }

    /// A conflict with what exists.
    public static func conflict(_ message: String, field: String? = nil) -> FleetError {
        FleetError(.conflict, message, field: field)
    }

    /// Well-formed but contradicting an earlier request it claims to repeat.
    public static func unprocessable(_ message: String, field: String? = nil) -> FleetError {
        FleetError(.unprocessable, message, field: field)
    }

    /// The store failed while doing `what` (e.g. "storing the command").
    public static func storage(_ what: String) -> FleetError {
        FleetError(.storage, "\(what) failed in the store; nothing was confirmed (see the daemon's log)")
    }

    /// The store failed while doing `what`; the log has the cause under `reference`.
    public static func storage(_ what: String, reference: String) -> FleetError {
        FleetError(.storage, "\(what) failed in the store; nothing was confirmed: internal error, see the daemon's log for \(reference)")
    }

    /// The database cannot be reached: `what` was not done (or not confirmed), and why.
    public static func unavailable(_ message: String) -> FleetError {
        FleetError(.unavailable, message)
    }

    public var description: String { message }
}
