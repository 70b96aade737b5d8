import FleetCore
import LampProtocol
import LightingPrograms
import Testing

@Suite("Program transfer: header, pages, applied on the last")
struct ProgramTransferTests {
    static let place = Place(latitude: 52.3676, longitude: 4.9041, timeZone: try! PosixTimeZone("CET-1CEST,M3.5.0,M10.5.0/3"))

    /// A program of `count` entries as revision `revision`.
    static func desired(revision: UInt32, entries count: Int) throws -> DesiredState {
        let entries = (0..<count).map { ProgramEntry(trigger: .time(minutes: $0 * 10), level: UInt16($0 % 2 * 500)) }
        let frames = try ProgramFrames(revision: revision, program: LightingProgram(entries: entries), place: place)
        var state = Fixtures.desired(control: 0)
        state.program = DesiredProgram(revision: revision, name: "test", frames: frames)
        return state
    }

    @Test("40 entries travel as a header and three pages, one at a time; the last ack applies it")
    func pages() throws {
        var link = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: try Self.desired(revision: 7, entries: 40))
        var sent = Fixtures.sentMessages(link.start(atMilliseconds: 0))
        guard case .programHeader(let header)? = sent.first else {
            Issue.record("no header first: \(sent)")
            return
        }
        #expect(header.entryCount == 40 && header.pageCount == 3 && header.timeZone == "CET-1CEST,M3.5.0,M10.5.0/3")
        #expect(header.latitudeMicrodegrees == 52_367_600)
        var pages: [ProgramPage] = []
        var actions = link.received(.ack(Ack(ackedType: .programHeader, ref: 7)), atMilliseconds: 1)
        for index in 0..<3 {
            sent = Fixtures.sentMessages(actions)
            guard case .programPage(let page)? = sent.first else {
                Issue.record("page \(index) not sent: \(sent)")
                return
            }
            #expect(Int(page.page) == index && link.appliedProgram == 0)
            pages.append(page)
            actions = link.received(.ack(Ack(ackedType: .programPage, ref: 7)), atMilliseconds: 2 + UInt64(index))
        }
        #expect(actions.contains(.programApplied(7)) && link.appliedProgram == 7 && link.isConverged)
        #expect(pages.map(\.entries.count) == [16, 16, 8])
        // The frames carry the program back intact.
        let (program, place) = try ProgramFrames(header: header, pages: pages).program()
        #expect(program.entries.count == 40 && program.entries[39] == ProgramEntry(trigger: .time(minutes: 390), level: 500))
        #expect(place.timeZone.text == "CET-1CEST,M3.5.0,M10.5.0/3" && abs(place.longitude - 4.9041) < 1e-6)
    }

    @Test("a stalled transfer starts again from the header; a newer program replaces one in transfer")
    func timeoutAndReplacement() throws {
        var link = LinkStateMachine(
            hello: Fixtures.hello(applied: 0, config: 1), desired: try Self.desired(revision: 7, entries: 20), requestTimeoutMilliseconds: 100)
        _ = link.start(atMilliseconds: 0)
        let page0 = Fixtures.sentMessages(link.received(.ack(Ack(ackedType: .programHeader, ref: 7)), atMilliseconds: 1))
        #expect(page0.first?.type == .programPage)
        let retry = Fixtures.sentMessages(link.tick(atMilliseconds: 200))
        #expect(retry.first?.type == .programHeader)
        // A new revision while the header is in flight: its header goes next, the old never completes.
        #expect(link.desiredChanged(try Self.desired(revision: 9, entries: 3), atMilliseconds: 201).isEmpty)
        let next = Fixtures.sentMessages(link.received(.ack(Ack(ackedType: .programHeader, ref: 7)), atMilliseconds: 202))
        guard case .programHeader(let header)? = next.first else {
            Issue.record("expected the new header: \(next)")
            return
        }
        #expect(header.revision == 9)
        let done = link.received(.ack(Ack(ackedType: .programHeader, ref: 9)), atMilliseconds: 203)
        _ = link.received(.ack(Ack(ackedType: .programPage, ref: 9)), atMilliseconds: 204)
        #expect(Fixtures.sentMessages(done).first?.type == .programPage && link.appliedProgram == 9)
    }

    @Test("a lamp that holds a newer program, or one that refuses, is not sent it again")
    func staleAndRefused() throws {
        var stale = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: try Self.desired(revision: 7, entries: 3))
        _ = stale.start(atMilliseconds: 0)
        _ = stale.received(.nack(Nack(ackedType: .programHeader, ref: 7, reason: .staleVersion)), atMilliseconds: 1)
        #expect(stale.appliedProgram == 7 && stale.isConverged)
        var refused = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1), desired: try Self.desired(revision: 8, entries: 3))
        _ = refused.start(atMilliseconds: 0)
        let actions = refused.received(.nack(Nack(ackedType: .programHeader, ref: 8, reason: .unknownType)), atMilliseconds: 1)
        #expect(actions.contains(.refused(type: .programHeader, ref: 8, reason: .unknownType)) && refused.isConverged)
        // A lamp that says in its hello it already holds it gets nothing.
        var held = LinkStateMachine(hello: Fixtures.hello(applied: 0, config: 1, program: 8), desired: try Self.desired(revision: 8, entries: 3))
        #expect(held.start(atMilliseconds: 0).isEmpty)
    }
}
