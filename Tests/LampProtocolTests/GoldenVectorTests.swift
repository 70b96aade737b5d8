import LampProtocol
import Testing

@Suite("Golden vectors (Protocol/vectors)")
struct GoldenVectorTests {
    @Test("there are enough vectors, and every message type has several")
    func coverage() {
        #expect(Vectors.valid.count + Vectors.invalid.count >= 40)
        #expect(Vectors.invalid.count >= 15)
        let types = Dictionary(grouping: Vectors.valid, by: \.type).mapValues(\.count)
        #expect(types.count == 17)
        for (type, count) in types {
            #expect(count >= 2, "only \(count) vector(s) for \(type)")
        }
    }

    @Test("decoding a valid vector gives exactly its fields", arguments: Vectors.valid)
    func decode(vector: Vectors.Valid) throws {
        let decoded = try LampMessage.decode(bytes(hex: vector.hex), peerMinorVersion: vector.peerMinorVersion)
        #expect(decoded == message(type: vector.type, fields: vector.fields))
        #expect(decoded.type.description == vector.type)
    }

    @Test("encoding a valid vector's fields gives exactly its bytes", arguments: Vectors.valid)
    func encode(vector: Vectors.Valid) {
        let encoded = message(type: vector.type, fields: vector.fields).bytes
        #expect(hex(encoded) == vector.canonicalHex ?? vector.hex)
    }

    @Test("an invalid vector fails with exactly its error", arguments: Vectors.invalid)
    func invalid(vector: Vectors.Invalid) {
        do {
            let decoded = try LampMessage.decode(bytes(hex: vector.hex), peerMinorVersion: vector.peerMinorVersion)
            Issue.record("decoded \(decoded) but expected \(vector.code)")
        } catch {
            #expect(error.code == vector.code)
            #expect(error.offset == vector.offset)
            #expect(error.field == vector.field)
            if let type = vector.messageType {
                #expect(error.messageType == type)
            }
        }
    }

    @Test("the same input decodes the same from every alignment")
    func alignment() throws {
        for vector in Vectors.valid {
            let payload = bytes(hex: vector.hex)
            for padding in 1...7 {
                let padded = [UInt8](repeating: 0xee, count: padding) + payload
                let decoded = try padded.withUnsafeBytes { buffer in
                    try LampMessage.decode(
                        UnsafeRawBufferPointer(rebasing: buffer[padding...]), peerMinorVersion: vector.peerMinorVersion)
                }
                #expect(decoded == message(type: vector.type, fields: vector.fields))
            }
        }
    }
}
