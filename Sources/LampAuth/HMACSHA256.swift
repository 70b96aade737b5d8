import CSHA256
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SHA-256 (FIPS 180-4) with a fixed-size state and no heap: the hash under ``HMACSHA256``.
///
/// swift-crypto's `SHA256` on Linux keeps its state in a class (BoringSSL's context), so every
/// copy of a keyed `HMAC<SHA256>` that is then updated allocates a new context: one heap
/// allocation or more per message. A frame tag (SPEC.md §4.3) is computed for every message of
/// every link, so this value type does it with the state, the pending block and the message
/// schedule on the stack.
struct SHA256Stream {
    /// The eight 32-bit words of the chaining state.
    typealias Words = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    /// 64 bytes: one block.
    typealias Block = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    /// The initial hash value H(0).
    static let initial: Words = (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
    /// The block size in bytes.
    static let blockSize = 64

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    private(set) var state: Words
    private var pending: Block = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    /// Bytes hashed so far, including those of any midstate this stream started from.
    private var length: UInt64

    /// A new hash, or one resumed from a midstate after `length` bytes (a multiple of 64).
    init(state: Words = SHA256Stream.initial, length: UInt64 = 0) {
        self.state = state
        self.length = length
    }

    /// Hashes more bytes.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var index = 0
        while index < bytes.count {
            if pendingCount == 0, bytes.count - index >= Self.blockSize {
                Self.compress(&state, UnsafeRawBufferPointer(rebasing: bytes[index..<(index + Self.blockSize)]))
                index += Self.blockSize
                continue
            }
            let take = min(Self.blockSize - pendingCount, bytes.count - index)
            let offset = pendingCount
            withUnsafeMutableBytes(of: &pending) { block in
                block.baseAddress!.advanced(by: offset).copyMemory(from: bytes.baseAddress!.advanced(by: index), byteCount: take)
            }
            pendingCount += take
            index += take
            if pendingCount == Self.blockSize {
                withUnsafeBytes(of: pending) { Self.compress(&state, $0) }
                pendingCount = 0
            }
        }
    }

    /// Hashes a u64, big-endian.
    mutating func update(bigEndian value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { update($0) }
    }

    /// Pads, finishes and returns the digest's eight words (big-endian byte order on the wire).
    mutating func finalize() -> Words {
        let bitLength = length &* 8
        var padding: Block = (0, 0, 0, 0, 0, 0, 0, 0)
        // 0x80, then zeros up to 56 mod 64, then the bit length.
        let zeros = (pendingCount < 56 ? 56 : 120) - pendingCount - 1
        withUnsafeMutableBytes(of: &padding) { $0[0] = 0x80 }
        // At most 1 + 63 bytes: one block of padding holds them.
        withUnsafeBytes(of: padding) { update(UnsafeRawBufferPointer(rebasing: $0[0..<(1 + zeros)])) }
        withUnsafeBytes(of: bitLength.bigEndian) { update($0) }
        return state
    }

    /// Whether compressions run on the CPU's SHA instructions (x86 SHA-NI): decided once, at
    /// first use. `LAMPLIGHTER_SHA256_SOFTWARE=1` in the environment keeps the Swift code
    /// (for measuring one against the other).
    static let usesHardware: Bool = {
        if let forced = getenv("LAMPLIGHTER_SHA256_SOFTWARE"), String(cString: forced) == "1" { return false }
        return lamplighter_sha256_hardware_available() == 1
    }()

    /// One compression of a 64-byte block into `state`: on the CPU's SHA instructions when it
    /// has them (the largest item of the daemon's profile while it takes in status reports
    /// was this function in Swift: two per frame tag; issue 13), else in Swift.
    static func compress(_ state: inout Words, _ block: UnsafeRawBufferPointer) {
        guard usesHardware else {
            softwareCompress(&state, block)
            return
        }
        hardwareCompress(&state, block)
    }

    /// ``compress(_:_:)`` on the SHA instructions (only where ``usesHardware``).
    static func hardwareCompress(_ state: inout Words, _ block: UnsafeRawBufferPointer) {
        // The tuple of eight UInt32 is laid out as C's uint32_t[8].
        withUnsafeMutableBytes(of: &state) { words in
            lamplighter_sha256_compress_hardware(
                words.baseAddress!.assumingMemoryBound(to: UInt32.self), block.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// ``compress(_:_:)`` in Swift (FIPS 180-4 §6.2.2).
    static func softwareCompress(_ state: inout Words, _ block: UnsafeRawBufferPointer) {
        var schedule: (Block, Block, Block, Block) = ((0, 0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0, 0))
        withUnsafeMutableBytes(of: &schedule) { raw in
            let w = raw.bindMemory(to: UInt32.self)
            for t in 0..<16 {
                let b = block.baseAddress!.advanced(by: 4 * t)
                w[t] = UInt32(b.load(as: UInt8.self)) << 24 | UInt32(b.load(fromByteOffset: 1, as: UInt8.self)) << 16
                    | UInt32(b.load(fromByteOffset: 2, as: UInt8.self)) << 8 | UInt32(b.load(fromByteOffset: 3, as: UInt8.self))
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = state
            k.withUnsafeBufferPointer { k in
                for t in 0..<64 {
                    let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                    let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                    h = g
                    g = f
                    f = e
                    e = d &+ t1
                    d = c
                    c = b
                    b = a
                    a = t1 &+ t2
                }
            }
            state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
        }
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}

/// HMAC-SHA256 (RFC 2104) keyed once: the inner and outer pad states are compressed when the
/// key is set, so a MAC of a short message costs two more compressions and no heap.
///
/// A value type of fixed size (about 70 bytes): copy it per message, as SPEC.md §4.3 suggests
/// for firmware too.
public struct HMACSHA256: Sendable {
    private let inner: SHA256Stream.Words
    private let outer: SHA256Stream.Words

    /// A keyed HMAC. Keys longer than one block (64 bytes) are hashed first, as RFC 2104 says.
    public init(key: UnsafeRawBufferPointer) {
        var block: SHA256Stream.Block = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &block) { raw in
            if key.count > SHA256Stream.blockSize {
                var hash = SHA256Stream()
                hash.update(key)
                let digest = hash.finalize()
                withUnsafeBytes(of: Self.bigEndian(digest)) { raw.copyMemory(from: $0) }
            } else if key.count > 0 {
                raw.copyMemory(from: key)
            }
        }
        var inner = SHA256Stream.initial
        var outer = SHA256Stream.initial
        var pad = block
        withUnsafeMutableBytes(of: &pad) { raw in for i in 0..<64 { raw[i] ^= 0x36 } }
        withUnsafeBytes(of: pad) { SHA256Stream.compress(&inner, $0) }
        pad = block
        withUnsafeMutableBytes(of: &pad) { raw in for i in 0..<64 { raw[i] ^= 0x5c } }
        withUnsafeBytes(of: pad) { SHA256Stream.compress(&outer, $0) }
        self.inner = inner
        self.outer = outer
    }

    /// A keyed HMAC from key bytes.
    public init(key: [UInt8]) {
        self = key.withUnsafeBytes { HMACSHA256(key: $0) }
    }

    /// The full 32-byte MAC of the concatenation of `parts`.
    public func authenticationCode(_ parts: UnsafeRawBufferPointer...) -> [UInt8] {
        var stream = SHA256Stream(state: inner, length: 64)
        for part in parts { stream.update(part) }
        let words = finish(&stream)
        return withUnsafeBytes(of: Self.bigEndian(words)) { Array($0) }
    }

    /// The full 32-byte MAC of `message`.
    public func authenticationCode(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticationCode($0) }
    }

    /// The first 8 bytes of HMAC(`counter` as a big-endian u64 ‖ `message`), as a big-endian
    /// u64: a frame tag (SPEC.md §4.3). No heap allocation.
    public func tag(counter: UInt64, message: UnsafeRawBufferPointer) -> UInt64 {
        var stream = SHA256Stream(state: inner, length: 64)
        stream.update(bigEndian: counter)
        stream.update(message)
        let words = finish(&stream)
        return UInt64(words.0) << 32 | UInt64(words.1)
    }

    private func finish(_ stream: inout SHA256Stream) -> SHA256Stream.Words {
        let innerDigest = Self.bigEndian(stream.finalize())
        var outerStream = SHA256Stream(state: outer, length: 64)
        withUnsafeBytes(of: innerDigest) { outerStream.update($0) }
        return outerStream.finalize()
    }

    private static func bigEndian(_ w: SHA256Stream.Words) -> SHA256Stream.Words {
        (w.0.bigEndian, w.1.bigEndian, w.2.bigEndian, w.3.bigEndian, w.4.bigEndian, w.5.bigEndian, w.6.bigEndian, w.7.bigEndian)
    }
}
