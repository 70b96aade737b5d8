/// The byte strings that protocol v1's keyed hashes cover (SPEC.md §4).
///
/// This module has no cryptography of its own: lamp firmware and the controller each use
/// their own HMAC-SHA256 over these exact bytes. Keeping the transcripts here means every
/// side builds them from the same code the codec uses to put them on the wire.
public enum AuthenticationTranscript {
    /// The label that starts the lamp-key derivation input.
    public static let lampKeyLabel = "lamplighter/v1/lamp-key"
    /// The label that starts the hello transcript.
    public static let helloLabel = "lamplighter/v1/hello"
    /// The label that starts the welcome transcript.
    public static let welcomeLabel = "lamplighter/v1/welcome"
    /// How many bytes of the HMAC output are sent as a MAC or proof.
    public static let macLength = 16
    /// The label that starts a session-key derivation input (SPEC.md §4.3).
    public static let sessionLabel = "lamplighter/v1/session"
    /// How many bytes of the HMAC output end every message after the welcome on a link of
    /// minor 2 or later (SPEC.md §4.3): the frame tag.
    public static let frameTagLength = 8
    /// The lowest negotiated minor version on which frames after the welcome carry a tag.
    public static let frameAuthenticationMinor: UInt8 = 2

    /// Whether frames after the welcome carry a tag on a link whose two sides announced
    /// `controllerMinor` (challenge) and `lampMinor` (hello): when the lower is 2 or more.
    public static func framesAuthenticated(controllerMinor: UInt8, lampMinor: UInt8) -> Bool {
        min(controllerMinor, lampMinor) >= frameAuthenticationMinor
    }

    /// The message for deriving one direction's session key (SPEC.md §4.3):
    /// `"lamplighter/v1/session" 0x00 direction clientNonce serverNonce`; the key is
    /// HMAC-SHA256(lamp key, this), all 32 bytes.
    public static func sessionKeyInput(_ direction: FrameDirection, clientNonce: Block16, serverNonce: Block16) -> [UInt8] {
        var out = Array(sessionLabel.utf8)
        out.append(0)
        out.append(direction.rawValue)
        out.write(clientNonce)
        out.write(serverNonce)
        return out
    }

    /// The message for deriving a lamp's key: lamp key = HMAC-SHA256(fleet master key,
    /// `"lamplighter/v1/lamp-key" 0x00 lampID`).
    public static func lampKeyInput(for lampID: LampID) -> [UInt8] {
        var out = Array(lampKeyLabel.utf8)
        out.append(0)
        out.append(contentsOf: lampID.value.utf8)
        return out
    }

    /// The message for deriving a lamp's key of generation `generation` (SPEC.md §4.1):
    /// generation 0 is ``lampKeyInput(for:)``; from 1 it is `"lamplighter/v1/lamp-key" 0x00
    /// lampID 0x00 generation (u32)`, keyed with the fleet master key current when the
    /// generation was issued.
    public static func lampKeyInput(for lampID: LampID, generation: UInt32) -> [UInt8] {
        var out = lampKeyInput(for: lampID)
        guard generation > 0 else { return out }
        out.append(0)
        out.write(generation)
        return out
    }

    /// The label that starts a rekey pad's input (SPEC.md §8.12).
    public static let rekeyLabel = "lamplighter/v1/rekey"

    /// The message whose HMAC under the link's controller→lamp session key is the pad that
    /// wraps a rekey's new key (SPEC.md §8.12): `"lamplighter/v1/rekey" 0x00 ref generation`.
    /// The session key is fresh per link and a link never reuses a ref, so no pad is used twice.
    public static func rekeyPadInput(ref: UInt32, generation: UInt32) -> [UInt8] {
        var out = Array(rekeyLabel.utf8)
        out.append(0)
        out.write(ref)
        out.write(generation)
        return out
    }

    /// The hello transcript: `"lamplighter/v1/hello" 0x00 serverNonce helloWithoutMAC`.
    /// The MAC is the first 16 bytes of HMAC-SHA256(lamp key, transcript).
    public static func hello(_ hello: Hello, serverNonce: Block16) -> [UInt8] {
        var out = Array(helloLabel.utf8)
        out.append(0)
        out.write(serverNonce)
        hello.encodeSignedPart(into: &out)
        return out
    }

    /// The welcome transcript: `"lamplighter/v1/welcome" 0x00 clientNonce serverNonce
    /// welcomeWithoutProof`. The proof is the first 16 bytes of HMAC-SHA256(lamp key,
    /// transcript).
    public static func welcome(_ welcome: Welcome, clientNonce: Block16, serverNonce: Block16) -> [UInt8] {
        var out = Array(welcomeLabel.utf8)
        out.append(0)
        out.write(clientNonce)
        out.write(serverNonce)
        welcome.encodeSignedPart(into: &out)
        return out
    }

    /// Compares two MACs in time that does not depend on where they differ.
    public static func constantTimeEqual(_ lhs: Block16, _ rhs: Block16) -> Bool {
        ((lhs.high ^ rhs.high) | (lhs.low ^ rhs.low)) == 0
    }
}

/// The direction of a frame on an authenticated link (SPEC.md §4.3): each has its own session
/// key and counter, so a frame cannot be reflected back to its sender.
public enum FrameDirection: UInt8, Sendable {
    /// Controller to lamp.
    case controllerToLamp = 0x01
    /// Lamp to controller.
    case lampToController = 0x02
}
