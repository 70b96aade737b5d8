import LampAuth
import LampProtocol
import Testing

/// The allocation-free HMAC-SHA256 under the frame tags (SPEC.md §4.3), against RFC 4231 and
/// against swift-crypto (which derives the lamp keys).
@Suite("HMAC-SHA256")
struct HMACSHA256Tests {
    static func bytes(_ hex: String) -> [UInt8] { HexBytes.decode(hex)! }

    /// RFC 4231 §4.2 to §4.8 (test case 5, a truncated output, is covered by the others).
    static let rfc4231: [(key: [UInt8], data: [UInt8], mac: String)] = [
        (
            [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        ),
        (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        (
            [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        ),
        (
            bytes("0102030405060708090a0b0c0d0e0f10111213141516171819"), [UInt8](repeating: 0xcd, count: 50),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        ),
        (
            [UInt8](repeating: 0xaa, count: 131),
            Array(
                "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."
                    .utf8),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        ),
    ]

    @Test("RFC 4231 test cases 1 to 4, 6 and 7")
    func rfc4231Vectors() {
        for (key, data, mac) in Self.rfc4231 {
            #expect(HexBytes.encode(HMACSHA256(key: key).authenticationCode(data)) == mac)
        }
    }

    @Test("the same MAC as swift-crypto for every key length 16 to 64 and messages across the padding boundaries")
    func agreesWithSwiftCrypto() {
        for keyLength in FleetKey.lengths {
            let master = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) }
            let fleet = FleetKey(bytes: master)!
            for idLength in 1...32 {
                let id = LampID(String(repeating: "a", count: idLength))!
                let ours = HMACSHA256(key: master).authenticationCode(AuthenticationTranscript.lampKeyInput(for: id))
                #expect(ours == fleet.lampKey(for: id).bytes, "key \(keyLength) bytes, id \(idLength) bytes")
            }
        }
    }

    @Test("a message fed in pieces gives the MAC of the whole, and a tag is the MAC's first 8 bytes over the counter and the message")
    func piecesAndTags() {
        let mac = HMACSHA256(key: [1, 2, 3])
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0) }
        for split in [0, 1, 55, 56, 63, 64, 65, 128, 200] {
            let whole = mac.authenticationCode(message)
            let pieces = message.withUnsafeBytes { raw in
                mac.authenticationCode(UnsafeRawBufferPointer(rebasing: raw[0..<split]), UnsafeRawBufferPointer(rebasing: raw[split...]))
            }
            #expect(pieces == whole)
        }
        let counter: UInt64 = 0x0102_0304_0506_0708
        let full = mac.authenticationCode(withUnsafeBytes(of: counter.bigEndian) { Array($0) } + message)
        let tag = message.withUnsafeBytes { mac.tag(counter: counter, message: $0) }
        #expect(withUnsafeBytes(of: tag.bigEndian) { Array($0) } == Array(full.prefix(8)))
    }
}
