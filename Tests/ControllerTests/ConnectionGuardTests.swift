import NIOCore
import NIOEmbedded
import Testing

@testable import Controller

/// The limits on connections that have proved nothing yet (issue 12: slowloris and idle
/// floods), on in-memory channels with a virtual clock.
@Suite("Connection guard")
struct ConnectionGuardTests {
    static func channel(
        _ limits: ConnectionLimits, _ counters: ConnectionPhaseCounters, endsAtFirstHeader: Bool = false, loop: EmbeddedEventLoop
    ) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        try channel.pipeline.syncOperations.addHandler(
            ConnectionGuard(limits: limits, counters: counters, endsAtFirstHeader: endsAtFirstHeader))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test("a connection still in the phase at the deadline is closed; one that left it is not")
    func deadline() throws {
        let loop = EmbeddedEventLoop()
        let counters = ConnectionPhaseCounters()
        let limits = ConnectionLimits(maximumConnections: 10, deadlineMilliseconds: 1000)
        let silent = try Self.channel(limits, counters, loop: loop)
        let upgraded = try Self.channel(limits, counters, loop: loop)
        #expect(counters.current == 2)
        // The lamp port's upgrade removes the guard.
        let guardHandler = try upgraded.pipeline.syncOperations.handler(type: ConnectionGuard.self)
        try upgraded.pipeline.syncOperations.removeHandler(guardHandler).wait()
        #expect(counters.current == 1)
        loop.advanceTime(by: .milliseconds(999))
        #expect(silent.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!silent.isActive)
        #expect(upgraded.isActive)
        #expect(counters.current == 0 && counters.expired == 1 && counters.refused == 0)
    }

    @Test("over the limit a connection is closed at once, and the count comes back down")
    func limit() throws {
        let loop = EmbeddedEventLoop()
        let counters = ConnectionPhaseCounters()
        let limits = ConnectionLimits(maximumConnections: 2, deadlineMilliseconds: nil)
        let first = try Self.channel(limits, counters, loop: loop)
        let second = try Self.channel(limits, counters, loop: loop)
        let third = try Self.channel(limits, counters, loop: loop)
        loop.run()
        #expect(first.isActive && second.isActive && !third.isActive)
        #expect(counters.current == 2 && counters.refused == 1)
        _ = try first.finish()
        #expect(counters.current == 1)
        let fourth = try Self.channel(limits, counters, loop: loop)
        #expect(fourth.isActive && counters.current == 2)
        loop.advanceTime(by: .hours(1))
        #expect(fourth.isActive, "no deadline was set")
    }

    @Test("the API's phase ends with the first complete header block, even split across reads; bytes pass through")
    func firstHeader() throws {
        let loop = EmbeddedEventLoop()
        let counters = ConnectionPhaseCounters()
        let limits = ConnectionLimits(maximumConnections: 10, deadlineMilliseconds: 1000)
        let slow = try Self.channel(limits, counters, endsAtFirstHeader: true, loop: loop)
        let prompt = try Self.channel(limits, counters, endsAtFirstHeader: true, loop: loop)
        // Slowloris: header lines, never the blank line that ends them.
        try slow.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n"))
        try prompt.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r"))
        try prompt.writeInbound(ByteBuffer(string: "\n\r"))
        #expect(counters.current == 2)
        try prompt.writeInbound(ByteBuffer(string: "\nGET /next"))
        #expect(counters.current == 1)
        var passed = ""
        while let part = try prompt.readInbound(as: ByteBuffer.self) { passed += String(buffer: part) }
        #expect(passed == "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next")
        loop.advanceTime(by: .milliseconds(1000))
        #expect(!slow.isActive && prompt.isActive)
        #expect(counters.expired == 1 && counters.current == 0)
    }
}
