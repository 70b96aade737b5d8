import Crypto

/// Operator API tokens: `llt_` and 64 hex digits (256 random bits), stored as SHA-256.
///
/// A plain hash, not a slow password hash, is the right tool here: the token is random and
/// long, so there is nothing to guess from its hash, and the check runs on every request.
public enum APIToken {
    /// What every token starts with, so one is easy to spot in a leaked file or log.
    public static let prefix = "llt_"

    /// A new token from the system's secure random source.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return prefix + HexBytes.encode(bytes)
    }

    /// Whether `text` has a token's shape (before looking it up).
    public static func isWellFormed(_ text: String) -> Bool {
        text.hasPrefix(prefix) && text.utf8.count == prefix.utf8.count + 64 && HexBytes.decode(String(text.dropFirst(prefix.count))) != nil
    }

    /// The SHA-256 of the token's text: what the store keeps.
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}
