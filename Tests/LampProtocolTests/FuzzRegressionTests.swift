import Foundation
import LampProtocol
import Testing

/// Every input in FuzzTesting/regressions/ (crashes found by scripts/fuzz.sh and hand-made
/// hostile inputs) must only not crash the decoder, and whatever decodes must re-encode.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static let cases: [String] = {
        let directory = Vectors.directory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FuzzTesting/regressions")
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
            .map { directory.appendingPathComponent($0).path }
    }()

    @Test("the regression corpus is present")
    func present() {
        #expect(Self.cases.count >= 3)
    }

    @Test("a committed fuzz case does not crash the decoder", arguments: cases)
    func replay(path: String) throws {
        let input = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for minor: UInt8 in [0, 1, 2, 3] {
            if let message = try? LampMessage.decode(input, peerMinorVersion: minor) {
                #expect(try LampMessage.decode(message.bytes, peerMinorVersion: minor) == message)
            }
        }
    }
}
