/// The one comparison of secrets in the controller, lamplighterd and lampsim outside the
/// protocol's own (``LampProtocol/AuthenticationTranscript/constantTimeEqual(_:_:)`` for
/// 16-byte MACs): its time depends on the lengths only, never on where the bytes differ, so
/// a caller cannot learn a secret byte by byte from how long a refusal takes.
///
/// Where secrets are compared: a hello's MAC and a welcome's proof (``LampKey/verify(_:serverNonce:)``,
/// ``LampKey/verify(_:clientNonce:serverNonce:)``, through `constantTimeEqual`), and an API
/// token's hash against every known token's (the controller's `TokenCache`, through this).
public enum ConstantTime {
    /// Whether `lhs` and `rhs` hold the same bytes; false for different lengths (a length
    /// is no secret: every token hash is 32 bytes).
    public static func equal(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices {
            difference |= lhs[index] ^ rhs[index]
        }
        return difference == 0
    }
}
