// Compiled in one module with Sources/LampProtocol by scripts/fuzz.sh (swiftc, not SwiftPM:
// SwiftPM renames an executable's entry point, which clashes with libFuzzer's own main).

/// libFuzzer's entry point: decode arbitrary bytes. The decoder must never trap, read out
/// of bounds (AddressSanitizer watches) or accept a message it cannot re-encode to a valid
/// message: whatever decodes must survive encode then decode unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    // Below, equal to and above our minor: the welcome's layout and the later fields of
    // hello and welcome (SPEC.md §5.3, §9) depend on it.
    for peerMinorVersion: UInt8 in [0, 1, 2, 3] {
        guard let message = try? LampMessage.decode(input, peerMinorVersion: peerMinorVersion) else { continue }
        let encoded = message.bytes
        guard let again = try? LampMessage.decode(encoded, peerMinorVersion: peerMinorVersion), again == message else {
            fatalError("decoded \(message) but its encoding \(encoded) does not decode to the same message")
        }
    }
    _ = LampMessage.referenceForNack(input)
    return 0
}
