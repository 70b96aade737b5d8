import FleetCore
import LampProtocol
import Testing

@testable import Controller

/// Issue 14: an ownership notice closed a lamp's link with 4000 whenever it arrived, even one
/// that came after the lamp had moved back (a 6,000-lamp run stayed at 5,972 online: a lamp
/// closed with 4000 does not reconnect). Claims now carry the database's number, and a link
/// is closed only for a newer claim.
@Suite("Cluster outbox: claims in order")
struct ClusterOutboxTests {
    let lamp = LampID("lamp-1")!
    let other = LampID("lamp-2")!

    @Test("a link is closed only by a newer claim: not by an older one, and not while its own claim is being written")
    func olderClaimsOnly() {
        let outbox = ClusterOutbox()
        #expect(outbox.olderClaims([lamp], than: 5).isEmpty, "no link here")
        outbox.linked(lamp)
        #expect(outbox.olderClaims([lamp], than: 5).isEmpty, "its claim is not written yet: it will be newer")
        let taken = outbox.take()
        #expect(taken.claims.map(\.lamp) == [lamp])
        #expect(outbox.olderClaims([lamp], than: 5).isEmpty, "its claim is being written")
        outbox.claimed(taken.claims, as: 7)
        #expect(outbox.olderClaims([lamp, other], than: 6).isEmpty, "a late notice of an older claim")
        #expect(outbox.olderClaims([lamp, other], than: 7).isEmpty, "its own")
        #expect(outbox.olderClaims([lamp, other], than: 8) == [lamp])
    }

    @Test("a lamp that left and came back here is claimed again, and released first; a claim written for its earlier link is not its new link's")
    func generations() {
        let outbox = ClusterOutbox()
        outbox.linked(lamp)
        let first = outbox.take()
        // The link ends and a new one proves itself while the first claim is being written.
        outbox.unlinked(lamp)
        outbox.linked(lamp)
        outbox.claimed(first.claims, as: 3)
        #expect(outbox.olderClaims([lamp], than: 4).isEmpty, "the new link's claim is still to be written")
        let second = outbox.take()
        // Released (where still held) before the new claim, so the new claim stands.
        #expect(second.releases.isEmpty, "came back before the flush: nothing to release")
        #expect(second.claims.map(\.lamp) == [lamp])
        outbox.claimed(second.claims, as: 9)
        #expect(outbox.olderClaims([lamp], than: 8).isEmpty && outbox.olderClaims([lamp], than: 10) == [lamp])

        outbox.unlinked(lamp)
        let third = outbox.take()
        #expect(third.releases == [lamp] && third.claims.isEmpty)
        #expect(outbox.olderClaims([lamp], than: 100).isEmpty, "no link here any more")
    }

    @Test("a release that could not be written is taken again, unless the lamp linked here again")
    func failedRelease() {
        let outbox = ClusterOutbox()
        outbox.unlinked(lamp)
        outbox.unlinked(other)
        let first = outbox.take()
        #expect(Set(first.releases) == [lamp, other])
        outbox.linked(other)
        outbox.releaseFailed(first.releases)
        let again = outbox.take()
        #expect(again.releases == [lamp])
        #expect(again.claims.map(\.lamp) == [other])
    }

    @Test("a claim that could not be written is taken again by the next flush, once")
    func failedClaim() {
        let outbox = ClusterOutbox()
        outbox.linked(lamp)
        outbox.linked(other)
        let first = outbox.take()
        #expect(first.claims.count == 2)
        #expect(outbox.take().claims.isEmpty, "being written: not taken twice")
        outbox.claimFailed(first.claims)
        let again = outbox.take()
        #expect(Set(again.claims.map(\.lamp)) == [lamp, other])
        outbox.claimed(again.claims, as: 2)
        #expect(Set(outbox.olderClaims([lamp, other], than: 3)) == [lamp, other])
    }
}
