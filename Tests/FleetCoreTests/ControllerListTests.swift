import FleetCore
import Testing

/// lampsim's failover without sockets: which URLs it accepts, how resolved addresses become
/// controllers, and which controller a lamp tries next.
@Suite("Controller list (lampsim failover)")
struct ControllerListTests {
    @Test("several URLs: repeated values and comma-separated lists, in order, with default ports and path")
    func parsesLists() throws {
        let urls = try ControllerList.parse(["ws://127.0.0.1:7350/lamp/v1, ws://127.0.0.2:7351", "wss://lamps.example.org"])
        #expect(urls.map(\.host) == ["127.0.0.1", "127.0.0.2", "lamps.example.org"])
        #expect(urls.map(\.port) == [7350, 7351, 443])
        #expect(urls.map(\.path) == ["/lamp/v1", "/lamp/v1", "/lamp/v1"])
        #expect(urls.map(\.secure) == [false, false, true])
        #expect(urls.map(\.hostIsAddress) == [true, true, false])
        let v6 = try ControllerList.parseOne("ws://[::1]:7350/lamp/v1")
        #expect(v6.host == "::1" && v6.port == 7350 && v6.hostForHeader == "[::1]" && v6.hostIsAddress)
        #expect(try ControllerList.parse(["ws://a:1"], forceTLS: true).first?.secure == true)
        #expect(try ControllerList.parseOne("ws://a").port == 80)
    }

    @Test("a bad URL in a list is refused naming its position and text and what is wrong")
    func namesTheBadURL() {
        let cases: [(String, String)] = [
            ("ws://a:1,http://b:2", "URL 2 of 2 'http://b:2': the scheme"),
            ("ws://a:1,,ws://b:2", "URL 2 of 3 '': empty"),
            ("ws://a:1,ws://b:0", "URL 2 of 2 'ws://b:0': the port must be a number from 1 to 65535"),
            ("ws://a:1,ws://b:65536", "the port must be"),
            ("ws://a:1,ws://b:x", "the port must be"),
            ("ws://:1", "no host"),
            ("ws://a b:1", "is not a host name or address"),
            ("ws://u@a:1", "a user name"),
            ("ws://a:1/lamp/v1?x=1", "a query or fragment"),
            ("ws://[::1:7350", "without its ']'"),
            ("ws://[zz]:1", "is not an IPv6 address"),
            ("ws://a:1,ws://A:1", "URL 2 of 2 'ws://A:1' is listed twice"),
            ("ws://" + String(repeating: "a", count: 254) + ":1", "longer than 253"),
        ]
        for (input, expected) in cases {
            do {
                _ = try ControllerList.parse([input])
                Issue.record("\(input) was accepted")
            } catch {
                #expect(error.description.contains(expected), "\(input): \(error.description)")
            }
        }
    }

    @Test("at most 64 URLs: 64 are accepted, 65 refused with the limit named; none at all is refused")
    func limit() throws {
        let list = (1...64).map { "ws://127.0.0.1:\(7000 + $0)" }
        #expect(try ControllerList.parse([list.joined(separator: ",")]).count == ControllerList.maximumURLs)
        #expect(throws: ControllerListError.self) { try ControllerList.parse(list + ["ws://127.0.0.1:9999"]) }
        do {
            _ = try ControllerList.parse(list + ["ws://127.0.0.1:9999"])
        } catch {
            #expect(error.description == "65 controller URLs given; at most 64")
        }
        #expect(throws: ControllerListError.self) { try ControllerList.parse([]) }
    }

    @Test("a name resolving to several addresses is several controllers; an address resolved twice kept once; unresolved adds none; at most 64")
    func endpoints() throws {
        let urls = try ControllerList.parse(["ws://lamps.example:7350,ws://127.0.0.9:7350,ws://gone.example:7350,ws://localhost:7350"])
        let endpoints = ControllerList.endpoints(urls, addresses: [["10.0.0.1", "10.0.0.2", "10.0.0.1"], ["127.0.0.9"], [], ["127.0.0.9"]])
        #expect(endpoints.map(\.address) == ["10.0.0.1", "10.0.0.2", "127.0.0.9", "127.0.0.9"])
        // One address by two names stays two controllers: with wss:// each checks its own name.
        #expect(
            endpoints.map(\.label) == [
                "ws://lamps.example:7350 at 10.0.0.1", "ws://lamps.example:7350 at 10.0.0.2", "ws://127.0.0.9:7350", "ws://localhost:7350 at 127.0.0.9",
            ])
        let many = ControllerList.endpoints([urls[0]], addresses: [(0..<100).map { "10.0.1.\($0)" }])
        #expect(many.count == ControllerList.maximumEndpoints)
    }

    @Test("lamps start spread over the controllers, move on after a failure (draws of 0: the next one), wrap around, stay after a reboot")
    func rotation() throws {
        let urls = try ControllerList.parse(["ws://c.example:7350"])
        let three = ControllerList.endpoints(urls, addresses: [["10.0.0.1", "10.0.0.2", "10.0.0.3"]])
        // Spread: 3,000 lamps, 1,000 on each.
        var counts = [0, 0, 0]
        for lamp in 0..<3000 { counts[ControllerList.next(previous: nil, move: false, in: three, lampIndex: lamp, draw: 0)!] += 1 }
        #expect(counts == [1000, 1000, 1000])
        // Failover with draws of 0: from the first to the second, the third, back to the first.
        var at = ControllerList.next(previous: nil, move: true, in: three, lampIndex: 0, draw: 0)!
        var visited = [at]
        for _ in 0..<3 {
            at = ControllerList.next(previous: three[at], move: true, in: three, lampIndex: 0, draw: 0)!
            visited.append(at)
        }
        #expect(visited == [0, 1, 2, 0])
        #expect(ControllerList.next(previous: three[1], move: false, in: three, lampIndex: 0, draw: 0) == 1)
        // DNS changed: the address it was on is gone; it starts over at its own place.
        let two = ControllerList.endpoints(urls, addresses: [["10.0.0.3", "10.0.0.4"]])
        #expect(ControllerList.next(previous: three[0], move: true, in: two, lampIndex: 5, draw: 0) == 1)
        // Still listed at a new position: the one after it.
        #expect(ControllerList.next(previous: three[2], move: true, in: two, lampIndex: 5, draw: 0) == 1)
        #expect(ControllerList.next(previous: three[2], move: false, in: two, lampIndex: 5, draw: 0) == 0)
        #expect(ControllerList.next(previous: nil, move: true, in: [], lampIndex: 0, draw: 0) == nil)
    }

    @Test("the lamps of a controller that died spread evenly over all the others, none back to it (not all to its neighbour)")
    func failoverSpreads() throws {
        let urls = try ControllerList.parse(["ws://c.example:7350"])
        let six = ControllerList.endpoints(urls, addresses: [(1...6).map { "10.0.0.\($0)" }])
        var generator = SplitMix64(seed: 14)
        var counts = [Int](repeating: 0, count: 6)
        for lamp in 0..<6000 {
            counts[ControllerList.next(previous: six[5], move: true, in: six, lampIndex: lamp, draw: generator.next())!] += 1
        }
        #expect(counts[5] == 0)
        // 1,200 each expected; the next in the list took all 6,000 before.
        #expect(counts[0..<5].allSatisfy { (1050...1350).contains($0) }, "\(counts)")
        // Every other one is reachable from each position.
        for at in 0..<6 {
            let reached = Set((0..<5).map { ControllerList.next(previous: six[at], move: true, in: six, lampIndex: 0, draw: UInt64($0))! })
            #expect(reached == Set(0..<6).subtracting([at]))
        }
        // One controller: it stays.
        #expect(ControllerList.next(previous: six[0], move: true, in: [six[0]], lampIndex: 3, draw: 99) == 0)
    }
}
