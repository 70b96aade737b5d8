#if canImport(Glibc)
import Glibc
#endif
import LampAuth
import LampProtocol

/// Counts heap allocations per encode and per decode of every message, under
/// Benchmarks/alloc/malloc-counter.so (LD_PRELOAD). Prints `name count` lines, one per
/// operation, averaged over many runs; Benchmarks/allocations compares them with
/// Benchmarks/thresholds/allocations.json.
@main
struct AllocBench {
    typealias Counter = @convention(c) () -> UInt
    static let iterations = 10_000

    static func main() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "lamplighter_malloc_count") else {
            print("alloc-bench: run under LD_PRELOAD=Benchmarks/alloc/malloc-counter.so")
            exit(2)
        }
        let count = unsafeBitCast(symbol, to: Counter.self)
        let nonce = Block16(high: 0x0011_2233_4455_6677, low: 0x8899_aabb_ccdd_eeff)
        let messages: [(String, LampMessage)] = [
            ("challenge", .challenge(Challenge(serverNonce: nonce))),
            (
                "hello",
                .hello(
                    Hello(
                        lampID: LampID("lamp-0001")!, firmware: FirmwareVersion("2.4.1")!, capabilities: [.dimmable],
                        appliedVersion: 41, configVersion: 3, programRevision: 7, clock: 1, clientNonce: nonce, fleetEpoch: FleetEpoch(rawValue: 7), mac: nonce))
            ),
            ("welcome", .welcome(Welcome(timeMilliseconds: 1, reportIntervalSeconds: 60, pingIntervalSeconds: 20, fleetEpoch: FleetEpoch(rawValue: 7), proof: nonce)!)),
            ("ack", .ack(Ack(ackedType: .setLevel, ref: 42))),
            ("nack", .nack(Nack(ackedType: .setLevel, ref: 42, reason: .staleVersion))),
            (
                "statusReport",
                .statusReport(
                    StatusReport(
                        appliedVersion: 42, level: Level(permille: 300)!, mode: .manual, isLit: true, isFading: false,
                        powerDeciwatts: 312, energyWattHours: 1, burnSeconds: 2, faults: [], temperatureCelsius: 31,
                        ambientLux: nil, programRevision: 7, clock: 1))
            ),
            ("event", .event(LampEvent(sequence: 1, kind: .faultRaised, detail: 0, time: 1))),
            ("setLevel", .setLevel(SetLevel(version: 42, level: Level(permille: 300)!, fade: FadeTime(deciseconds: 20)))),
            ("switch", .switch(Switch(version: 43, on: true, fade: .immediate))),
            ("override", .override(Override(version: 44, level: .full, fade: .immediate, durationSeconds: 7200)!)),
            ("resumeProgram", .resumeProgram(ResumeProgram(version: 45, fade: .immediate))),
            (
                "config",
                .config(
                    Config(
                        configVersion: 4, reportIntervalSeconds: 60, failSafeLevel: .full, powerOnLevel: .full,
                        minLevel: Level(permille: 10)!, maxLevel: .full)!)
            ),
            ("identify", .identify(Identify(ref: 9, durationSeconds: 30)!)),
            ("reboot", .reboot(Reboot(ref: 10))),
            (
                "programHeader",
                .programHeader(
                    ProgramHeader(
                        revision: 9, entryCount: 3, skipShorterMinutes: 15, latitudeMicrodegrees: 52_367_600,
                        longitudeMicrodegrees: 4_904_100, timeZone: "CET-1CEST,M3.5.0,M10.5.0/3")!)
            ),
            (
                "programPage",
                .programPage(
                    ProgramPage(
                        revision: 9, page: 0,
                        entries: [
                            ProgramEntryWire(trigger: 1, offsetMinutes: -10, level: .full, fade: FadeTime(deciseconds: 100), days: 0x7F)!,
                            ProgramEntryWire(trigger: 0, offsetMinutes: 1380, level: Level(permille: 300)!, fade: .immediate, days: 0x7F)!,
                            ProgramEntryWire(trigger: 2, offsetMinutes: 10, level: .off, fade: .immediate, days: 0x7F)!,
                        ])!)
            ),
        ]
        var sink: [UInt8] = []
        sink.reserveCapacity(256)
        for (name, message) in messages {
            let encoded = message.bytes
            // Encoding into a buffer that has room: the steady state of a connection.
            var before = count()
            for _ in 0..<iterations {
                sink.removeAll(keepingCapacity: true)
                message.encode(into: &sink)
            }
            report("encode.\(name)", count() - before)
            // Encoding into a new array allocates exactly that array: proves the counter counts.
            before = count()
            for _ in 0..<iterations {
                sink = message.bytes
            }
            report("bytes.\(name)", count() - before)
            before = count()
            var decodedAll = true
            encoded.withUnsafeBytes { bytes in
                for _ in 0..<iterations {
                    if (try? LampMessage.decode(bytes)) == nil { decodedAll = false }
                }
            }
            report("decode.\(name)", count() - before)
            if !decodedAll {
                print("alloc-bench: \(name) did not decode")
                exit(1)
            }
        }
        frameTags(count, nonce: nonce)
    }

    /// Sealing and checking a frame tag (SPEC.md §4.3), done for every message of a 1.2 link:
    /// the status report's 31 bytes, as the controller sees them most.
    static func frameTags(_ count: Counter, nonce: Block16) {
        let key = LampKey(bytes: [UInt8](repeating: 7, count: 32))
        var lamp = FrameAuthenticator(lampKey: key, role: .lamp, clientNonce: nonce, serverNonce: nonce)
        var controller = FrameAuthenticator(lampKey: key, role: .controller, clientNonce: nonce, serverNonce: nonce)
        var frame = [UInt8](repeating: 0x10, count: 31 + FrameAuthenticator.tagLength)
        var before = count()
        var tags: UInt64 = 0
        for _ in 0..<iterations {
            frame.withUnsafeBytes { tags ^= lamp.seal(UnsafeRawBufferPointer(rebasing: $0[0..<31])) }
        }
        report("frameTag.seal", count() - before)
        // Each frame sealed at the counter the controller expects next, outside the count.
        var sealed: [[UInt8]] = []
        sealed.reserveCapacity(iterations)
        var sender = FrameAuthenticator(lampKey: key, role: .lamp, clientNonce: nonce, serverNonce: nonce)
        for _ in 0..<iterations {
            let tag = frame.withUnsafeBytes { sender.seal(UnsafeRawBufferPointer(rebasing: $0[0..<31])) }
            withUnsafeBytes(of: tag.bigEndian) { tagBytes in
                frame.withUnsafeMutableBytes { UnsafeMutableRawBufferPointer(rebasing: $0[31...]).copyMemory(from: tagBytes) }
            }
            sealed.append(frame)
        }
        before = count()
        var opened = 0
        for index in 0..<iterations {
            sealed[index].withUnsafeBytes { if controller.open($0) != nil { opened += 1 } }
        }
        report("frameTag.open", count() - before)
        if opened != iterations || tags == 0 {
            print("alloc-bench: frame tags did not verify (\(opened) of \(iterations))")
            exit(1)
        }
    }

    static func report(_ name: String, _ allocations: UInt) {
        let perOperation = Double(allocations) / Double(iterations)
        print(name, (perOperation * 100).rounded() / 100)
    }
}
