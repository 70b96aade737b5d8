/// Controller to lamp: take a new lamp key (SPEC.md §8.12, minor 2 links only). 41 bytes.
///
/// `0x27 | ref u32 | generation u32 | wrappedKey 32 bytes`
///
/// `wrappedKey` is the new lamp key XOR a one-time pad derived from the link's
/// controller→lamp session key, the ref and the generation
/// (``AuthenticationTranscript/rekeyPadInput(ref:generation:)``); the frame's tag (§4.3)
/// proves it came from the controller unaltered. The lamp stores the key and its generation
/// durably, then acknowledges; its next hello is MAC'd with the new key.
public struct Rekey: WireMessage {
    static let type = MessageType.rekey
    /// The controller's reference for this request, echoed in the acknowledgement.
    public var ref: UInt32
    /// The new key's generation, 1 or more (0 is the key every lamp starts with, §4.1).
    public let generation: UInt32
    /// Bytes 0 to 15 of the wrapped key.
    public let wrappedHigh: Block16
    /// Bytes 16 to 31 of the wrapped key.
    public let wrappedLow: Block16

    /// A rekey request; nil for generation 0 or a wrapped key that is not 32 bytes.
    public init?(ref: UInt32, generation: UInt32, wrappedKey: some Collection<UInt8>) {
        guard generation >= 1, wrappedKey.count == 32,
            let high = Block16(bytes: wrappedKey.prefix(16)), let low = Block16(bytes: wrappedKey.dropFirst(16))
        else { return nil }
        self.init(ref: ref, generation: generation, wrappedHigh: high, wrappedLow: low)
    }

    /// A rekey request from the wrapped key's two halves; nil for generation 0.
    public init?(ref: UInt32, generation: UInt32, wrappedHigh: Block16, wrappedLow: Block16) {
        guard generation >= 1 else { return nil }
        self.ref = ref
        self.generation = generation
        self.wrappedHigh = wrappedHigh
        self.wrappedLow = wrappedLow
    }

    /// The 32 wrapped bytes in wire order.
    public var wrappedKey: [UInt8] { wrappedHigh.bytes + wrappedLow.bytes }

    func encodeFields<Sink: LampByteSink>(into sink: inout Sink) {
        sink.write(ref)
        sink.write(generation)
        sink.write(wrappedHigh)
        sink.write(wrappedLow)
    }

    static func decodeFields(from reader: inout ByteReader) throws(LampProtocolError) -> Rekey {
        let ref = try reader.readUInt32("ref")
        let generationAt = reader.offset
        let generation = try reader.readUInt32("generation")
        // One check for all 32 bytes: a short key is reported where it starts (offset 9).
        try reader.require(32, field: "wrappedKey")
        let high = try reader.readBlock16("wrappedKey")
        let low = try reader.readBlock16("wrappedKey")
        guard let message = Rekey(ref: ref, generation: generation, wrappedHigh: high, wrappedLow: low) else {
            throw LampProtocolError(.outOfRange, offset: generationAt, messageType: type.rawValue, field: "generation")
        }
        return message
    }
}
