import LampProtocol

/// One side of an authenticated link (SPEC.md §4.3): seals every message it sends after the
/// welcome with an 8-byte tag, and checks the tag of every message it receives before anything
/// decodes it.
///
/// Two session keys, one per direction, derived from the lamp key and both nonces; two
/// implicit counters, starting at 0 for each side's first message after the welcome. A frame
/// that was forged, replayed, reordered or follows a dropped one fails the check the same way.
/// A fixed-size value: sealing and checking allocate nothing.
public struct FrameAuthenticator: Sendable {
    /// Which end of the link this is.
    public enum Role: Sendable {
        /// The controller: sends controller→lamp, receives lamp→controller.
        case controller
        /// The lamp: sends lamp→controller, receives controller→lamp.
        case lamp
    }

    /// The tag length in bytes (8).
    public static let tagLength = AuthenticationTranscript.frameTagLength

    private let sendKey: HMACSHA256
    private let receiveKey: HMACSHA256
    private let role: Role
    /// The counter of the next message this side sends.
    public private(set) var sendCounter: UInt64 = 0
    /// The counter the next message received must have been sealed with.
    public private(set) var receiveCounter: UInt64 = 0

    /// The authenticator for `role` on the link whose hello carried `clientNonce` and whose
    /// challenge carried `serverNonce`.
    public init(lampKey: LampKey, role: Role, clientNonce: Block16, serverNonce: Block16) {
        let lamp = HMACSHA256(key: lampKey.bytes)
        let toLamp = HMACSHA256(key: lamp.authenticationCode(
            AuthenticationTranscript.sessionKeyInput(.controllerToLamp, clientNonce: clientNonce, serverNonce: serverNonce)))
        let toController = HMACSHA256(key: lamp.authenticationCode(
            AuthenticationTranscript.sessionKeyInput(.lampToController, clientNonce: clientNonce, serverNonce: serverNonce)))
        self.role = role
        switch role {
        case .controller: (sendKey, receiveKey) = (toLamp, toController)
        case .lamp: (sendKey, receiveKey) = (toController, toLamp)
        }
    }

    /// One direction's 32-byte session key (for vectors and tests): HMAC-SHA256(lamp key,
    /// `"lamplighter/v1/session" 0x00 direction clientNonce serverNonce`).
    public static func sessionKey(
        lampKey: LampKey, _ direction: FrameDirection, clientNonce: Block16, serverNonce: Block16
    ) -> [UInt8] {
        HMACSHA256(key: lampKey.bytes).authenticationCode(
            AuthenticationTranscript.sessionKeyInput(direction, clientNonce: clientNonce, serverNonce: serverNonce))
    }

    /// The tag of the next message sent, whose bytes (without tag) are `message`; advances the
    /// send counter. Append it big-endian: it is always the last 8 bytes.
    public mutating func seal(_ message: UnsafeRawBufferPointer) -> UInt64 {
        let tag = sendKey.tag(counter: sendCounter, message: message)
        sendCounter &+= 1
        return tag
    }

    /// `message` with its tag appended (tests, simulators and other slow paths).
    public mutating func sealed(_ message: [UInt8]) -> [UInt8] {
        let tag = message.withUnsafeBytes { seal($0) }
        return message + withUnsafeBytes(of: tag.bigEndian) { Array($0) }
    }

    /// Checks the last 8 bytes of `frame` as the tag of the next message received over the
    /// bytes before them, in constant time; on success advances the receive counter and
    /// returns the length of the message without its tag. nil for a wrong tag or a frame too
    /// short to hold one after a type byte (fewer than 9 bytes): close the link with 4006.
    public mutating func open(_ frame: UnsafeRawBufferPointer) -> Int? {
        guard frame.count > Self.tagLength else { return nil }
        let length = frame.count - Self.tagLength
        let expected = receiveKey.tag(counter: receiveCounter, message: UnsafeRawBufferPointer(rebasing: frame[0..<length]))
        var received: UInt64 = 0
        for index in length..<frame.count { received = received << 8 | UInt64(frame[index]) }
        guard (expected ^ received) == 0 else { return nil }
        receiveCounter &+= 1
        return length
    }

    /// The 32-byte one-time pad that wraps the new key of a rekey request (SPEC.md §8.12):
    /// HMAC-SHA256(controller→lamp session key, `"lamplighter/v1/rekey" 0x00 ref generation`).
    /// The same pad on both ends; XOR it with the new key to wrap, with the wrapped key to
    /// unwrap. Only on an authenticated link: the frame's tag is what makes the key trusted.
    public func rekeyPad(ref: UInt32, generation: UInt32) -> [UInt8] {
        let toLamp = role == .controller ? sendKey : receiveKey
        return toLamp.authenticationCode(AuthenticationTranscript.rekeyPadInput(ref: ref, generation: generation))
    }

    /// The rekey request that gives the lamp `newKey` as generation `generation`, wrapped
    /// with this link's pad (controller side); nil for generation 0.
    public func rekey(ref: UInt32, generation: UInt32, newKey: LampKey) -> Rekey? {
        let pad = rekeyPad(ref: ref, generation: generation)
        return Rekey(ref: ref, generation: generation, wrappedKey: zip(newKey.bytes, pad).map { $0 ^ $1 })
    }

    /// The new key a rekey request carries, unwrapped with this link's pad (lamp side).
    public func unwrap(_ rekey: Rekey) -> LampKey {
        let pad = rekeyPad(ref: rekey.ref, generation: rekey.generation)
        return LampKey(bytes: zip(rekey.wrappedKey, pad).map { $0 ^ $1 })
    }

    /// `open` on an array.
    public mutating func open(_ frame: [UInt8]) -> Int? {
        frame.withUnsafeBytes { open($0) }
    }
}
