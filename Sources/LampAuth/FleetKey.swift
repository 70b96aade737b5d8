import Crypto
import LampProtocol

/// The fleet master key: one secret from which every lamp's own key is derived
/// (SPEC.md §4.1), so provisioning 10,000 lamps needs one secret, not 10,000.
public struct FleetKey: Sendable {
    private let key: SymmetricKey

    /// The accepted key lengths in bytes: at least 128 bits, at most one HMAC-SHA256 block.
    public static let lengths: ClosedRange<Int> = 16...64

    /// A key from raw bytes; nil for fewer than 16 or more than 64 bytes.
    public init?(bytes: some Collection<UInt8>) {
        guard FleetKey.lengths.contains(bytes.count) else { return nil }
        self.key = SymmetricKey(data: Array(bytes))
    }

    /// A key from hexadecimal text (32 to 128 digits); nil for anything else.
    public init?(hex: String) {
        guard let bytes = HexBytes.decode(hex) else { return nil }
        self.init(bytes: bytes)
    }

    /// A new random 256-bit key from the system's secure random source.
    public static func generate() -> FleetKey {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        // 32 bytes lies within `lengths`, so this cannot fail.
        return FleetKey(bytes: bytes)!
    }

    /// The key's id (SPEC.md §4.1): the first 8 bytes of SHA-256 of the key, as 16 hex digits.
    /// Names a master key in the store and the API without revealing it.
    public var id: String {
        let digest = key.withUnsafeBytes { SHA256.hash(data: $0) }
        return HexBytes.encode(Array(digest).prefix(8))
    }

    /// The key as lowercase hexadecimal, for storing in a key file.
    public var hex: String {
        key.withUnsafeBytes { HexBytes.encode($0) }
    }

    /// The lamp's own key: HMAC-SHA256(master key, "lamplighter/v1/lamp-key" 0x00 lampID).
    public func lampKey(for lampID: LampID) -> LampKey {
        let mac = HMAC<SHA256>.authenticationCode(for: AuthenticationTranscript.lampKeyInput(for: lampID), using: key)
        return LampKey(bytes: Array(mac))
    }

    /// The lamp's key of generation `generation` (SPEC.md §4.1): generation 0 is
    /// ``lampKey(for:)``; from 1 it is HMAC-SHA256(master key, "lamplighter/v1/lamp-key" 0x00
    /// lampID 0x00 generation (u32 big-endian)).
    public func lampKey(for lampID: LampID, generation: UInt32) -> LampKey {
        let input = AuthenticationTranscript.lampKeyInput(for: lampID, generation: generation)
        return LampKey(bytes: Array(HMAC<SHA256>.authenticationCode(for: input, using: key)))
    }
}

/// One lamp's key: what the lamp stores, and what the controller derives on demand.
public struct LampKey: Sendable, Equatable {
    private let key: SymmetricKey
    /// The key's 32 bytes (for provisioning a lamp or a simulator).
    public let bytes: [UInt8]

    /// A lamp key from its 32 bytes.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
        self.key = SymmetricKey(data: bytes)
    }

    /// The MAC a lamp puts in its hello for the given challenge (SPEC.md §4.2).
    public func helloMAC(for hello: Hello, serverNonce: Block16) -> Block16 {
        truncatedMAC(AuthenticationTranscript.hello(hello, serverNonce: serverNonce))
    }

    /// Whether a hello's MAC is right for this key and challenge, compared in constant time.
    public func verify(_ hello: Hello, serverNonce: Block16) -> Bool {
        AuthenticationTranscript.constantTimeEqual(helloMAC(for: hello, serverNonce: serverNonce), hello.mac)
    }

    /// The proof a controller puts in its welcome (SPEC.md §4.2).
    public func welcomeProof(for welcome: Welcome, clientNonce: Block16, serverNonce: Block16) -> Block16 {
        truncatedMAC(AuthenticationTranscript.welcome(welcome, clientNonce: clientNonce, serverNonce: serverNonce))
    }

    /// Whether a welcome's proof is right: the lamp's check that it talks to its controller.
    public func verify(_ welcome: Welcome, clientNonce: Block16, serverNonce: Block16) -> Bool {
        AuthenticationTranscript.constantTimeEqual(
            welcomeProof(for: welcome, clientNonce: clientNonce, serverNonce: serverNonce), welcome.proof)
    }

    private func truncatedMAC(_ transcript: [UInt8]) -> Block16 {
        let mac = HMAC<SHA256>.authenticationCode(for: transcript, using: key)
        // SHA-256 output is 32 bytes, so its first 16 always make a block.
        return Block16(bytes: Array(mac).prefix(AuthenticationTranscript.macLength))!
    }

    /// Keys are equal when their bytes are.
    public static func == (lhs: LampKey, rhs: LampKey) -> Bool { lhs.bytes == rhs.bytes }
}

/// Fresh 16-byte nonces from the system's secure random source.
public enum Nonce {
    /// A new random nonce.
    public static func random() -> Block16 {
        var generator = SystemRandomNumberGenerator()
        return Block16(high: generator.next(), low: generator.next())
    }
}

/// The fleet master keys a controller holds (SPEC.md §4.1): the current one, from which new
/// lamp keys are derived, and older ones that lamps not yet rotated onto the current one
/// still derive from. The key file holds them one per line, current first.
public struct FleetKeyRing: Sendable {
    /// The current master key.
    public var current: FleetKey
    /// Older master keys still in use, newest first.
    public var older: [FleetKey]

    /// A ring.
    public init(current: FleetKey, older: [FleetKey] = []) {
        self.current = current
        self.older = older
    }

    /// The master key with this id (nil: the current one); nil if the ring lacks it.
    public func key(id: String?) -> FleetKey? {
        guard let id else { return current }
        if current.id == id { return current }
        return older.first { $0.id == id }
    }

    /// The key file's text: one key in hex per line, current first.
    public var fileText: String {
        ([current] + older).map { $0.hex + "\n" }.joined()
    }
}
