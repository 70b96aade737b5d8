import Foundation
import LampAuth
import LampProtocol
import OperatorAPI
import Testing

/// Issue 12: rotating a lamp's key over its authenticated link (SPEC.md §4.1, §8.12) with
/// `lampctl lamps rekey`: admin only, audited, both keys accepted until the lamp proves the
/// new one, the old one refused after; lamps of minor 0 and 1 refused with a clear error.
@Suite("Lamp key rotation")
struct RekeyTests {
    static let id = LampID("lamp-0001")!

    static func fleetKey(_ daemon: Daemon) throws -> FleetKey {
        let text = try String(contentsOfFile: daemon.keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try #require(FleetKey(hex: text))
    }

    /// Answers every request the controller sends with an ack until a rekey arrives; returns it.
    static func awaitRekey(_ lamp: RawLamp) throws -> Rekey {
        while true {
            let message = try lamp.receive()
            if case .rekey(let rekey) = message { return rekey }
            if message.type.rawValue >= 0x20 {
                let ref = message.bytes.withUnsafeBytes { LampMessage.referenceForNack($0) }
                try lamp.send(.ack(Ack(ackedType: message.type, ref: ref)))
            }
        }
    }

    static func refused(_ daemon: Daemon, key: LampKey) -> Bool {
        do {
            _ = try RawLamp(port: daemon.lampPort, id: id, key: key)
            return false
        } catch {
            return true
        }
    }

    @Test("rekey one lamp: it acks, its next link authenticates with the new key and not the old (4001), across a restart; audited, admin only")
    func rekeyOneLamp() async throws {
        let daemon = try Daemon(lamps: 2)
        daemon.pingInterval = 60
        try await daemon.start()
        let fleet = try Self.fleetKey(daemon)
        let oldKey = fleet.lampKey(for: Self.id)
        let lamp = try RawLamp(port: daemon.lampPort, id: Self.id, key: oldKey)
        try await waitUntil("lamp-0001 is online") { try await daemon.lamp("lamp-0001")?.online == true }

        for role in ["viewer", "operator"] {
            let (_, made): (Int, TokenCreated?) = try await daemon.request("POST", "/tokens", body: TokenCreate(name: role, role: role))
            let (status, _): (Int, APIError?) = try await daemon.request(
                "POST", "/keys/rekey", body: RekeyRequest(target: "lamp:lamp-0001"), token: try #require(made?.token))
            #expect(status == 403, "\(role)")
        }
        let run = try ProductRunner.run("lampctl", ["lamps", "rekey", "lamp-0001"] + daemon.lampctlOptions)
        #expect(run.status == 0 && run.stdout.contains("rekey lamp-0001: generation 1 pending"), "\(run.stdout) \(run.stderr)")

        let rekey = try Self.awaitRekey(lamp)
        #expect(rekey.generation == 1)
        let newKey = lamp.frames!.unwrap(rekey)
        #expect(newKey == fleet.lampKey(for: Self.id, generation: 1) && newKey != oldKey)
        try lamp.send(.ack(Ack(ackedType: .rekey, ref: rekey.ref)))
        try await waitUntil("the rotation completed") {
            let view = try await daemon.lamp("lamp-0001")
            return view?.keyGeneration == 1 && view?.keyRotationPending == nil
        }
        lamp.drop()
        #expect(Self.refused(daemon, key: oldKey), "the old key still authenticates after the rotation completed")
        _ = try RawLamp(port: daemon.lampPort, id: Self.id, key: newKey)
        #expect(try await daemon.lamp("lamp-0002")?.keyGeneration == nil)

        let keys = try ProductRunner.run("lampctl", ["lamps", "keys"] + daemon.lampctlOptions)
        #expect(keys.stdout.contains("generation 0: 1 lamp") && keys.stdout.contains("generation 1: 1 lamp"), "\(keys.stdout)")
        #expect(keys.stdout.contains("rotation pending: none"), "\(keys.stdout)")

        daemon.stop()
        try await daemon.start()
        #expect(Self.refused(daemon, key: oldKey), "the old key authenticates after a restart")
        _ = try RawLamp(port: daemon.lampPort, id: Self.id, key: newKey)
        #expect(try await daemon.lamp("lamp-0001")?.keyGeneration == 1)

        let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?limit=100")
        let actions = (audit ?? []).map { "\($0.actor) \($0.action) \($0.target) \($0.detail)" }
        #expect(actions.contains { $0.hasPrefix("admin lamps.rekey lamp:lamp-0001") }, "\(actions)")
        #expect(actions.contains("lamplighterd lamps.rekeyed lamp:lamp-0001 generation 1 (ack)"), "\(actions)")
        for role in ["viewer", "operator"] {
            #expect(actions.contains { $0.hasPrefix("\(role) denied /api/v1/keys/rekey") }, "\(actions)")
        }
        let (missing, _): (Int, APIError?) = try await daemon.request("POST", "/keys/rekey", body: RekeyRequest(target: "lamp:lamp-9999"))
        #expect(missing == 404)
        let (bad, _): (Int, APIError?) = try await daemon.request("POST", "/keys/rekey", body: RekeyRequest(target: "everything"))
        #expect(bad == 400)
    }

    @Test("the ack lost: the old key still works during the window (and gets the rekey again), the new key completes the rotation")
    func ackLost() async throws {
        let daemon = try Daemon(lamps: 1)
        daemon.pingInterval = 60
        try await daemon.start()
        let fleet = try Self.fleetKey(daemon)
        let oldKey = fleet.lampKey(for: Self.id)
        let first = try RawLamp(port: daemon.lampPort, id: Self.id, key: oldKey)
        try await waitUntil("lamp-0001 is online") { try await daemon.lamp("lamp-0001")?.online == true }
        let (status, result): (Int, RekeyResult?) = try await daemon.request("POST", "/keys/rekey", body: RekeyRequest(target: "all"))
        #expect(status == 200 && result?.pending == ["lamp-0001": 1])

        // The lamp stores the key, then its link drops before the ack goes out.
        let rekey = try Self.awaitRekey(first)
        let newKey = first.frames!.unwrap(rekey)
        first.drop()

        // Within the window the old key is still accepted, and that link is sent the key again.
        let second = try RawLamp(port: daemon.lampPort, id: Self.id, key: oldKey)
        let again = try Self.awaitRekey(second)
        #expect(again.generation == 1 && again.wrappedKey != rekey.wrappedKey, "a pad used twice")
        #expect(second.frames!.unwrap(again) == newKey)
        second.drop()
        #expect(try await daemon.lamp("lamp-0001")?.keyRotationPending == 1)

        // A second rotation requested meanwhile keeps the pending generation (the lamp may hold it).
        let (_, repeated): (Int, RekeyResult?) = try await daemon.request("POST", "/keys/rekey", body: RekeyRequest(target: "lamp:lamp-0001"))
        #expect(repeated?.pending == ["lamp-0001": 1])

        // The hello with the new key is accepted and completes the rotation.
        let third = try RawLamp(port: daemon.lampPort, id: Self.id, key: newKey)
        try await waitUntil("the rotation completed") {
            let view = try await daemon.lamp("lamp-0001")
            return view?.keyGeneration == 1 && view?.keyRotationPending == nil
        }
        third.drop()
        #expect(Self.refused(daemon, key: oldKey))
        let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?limit=100")
        let actions = (audit ?? []).map { "\($0.actor) \($0.action) \($0.target) \($0.detail)" }
        #expect(actions.contains("lamplighterd lamps.rekeyed lamp:lamp-0001 generation 1 (hello with the new key)"), "\(actions)")
    }

    @Test("rekey all with a fleet of lampsim lamps linked: no link dropped, every lamp on generation 1, a restart keeps working")
    func fleetOfSimulators() async throws {
        let count = 20
        let daemon = try Daemon(lamps: count)
        try await daemon.start()
        let sim = try Simulator(daemon, count: count, duration: 120)
        try await waitUntil("every lamp is online") { try await daemon.stats().lampsOnline == count }
        let run = try ProductRunner.run("lampctl", ["lamps", "rekey", "all"] + daemon.lampctlOptions)
        #expect(run.status == 0, "\(run.stderr)")
        try await waitUntil("every lamp holds generation 1") {
            let (_, keys): (Int, KeysView?) = try await daemon.request("GET", "/keys")
            return keys?.generations == ["1": count] && keys?.pending == []
        }
        let stats = try await daemon.stats()
        #expect(stats.lampsOnline == count && stats.handshakesAccepted == count && stats.linksReplaced == 0, "\(stats)")
        daemon.stop()
        try await daemon.start()
        try await waitUntil("every lamp is online again with its new key") { try await daemon.stats().lampsOnline == count }
        let report = try sim.finish()
        #expect(report.authRefused == 0, "a lamp's new key was refused")
        #expect(report.handshakes == 2 * count, "links dropped during the rotation: \(report.handshakes) handshakes")
    }

    @Test("fleet master key rotation with lampsim lamps linked: no link dropped, every lamp moves to the new master, the old key retired once unused, a restart keeps working")
    func masterRotation() async throws {
        let count = 20
        // lamp-0021 is registered but never links: it keeps the old master in use.
        let daemon = try Daemon(lamps: count + 1)
        try await daemon.start()
        let original = try String(contentsOfFile: daemon.keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let sim = try Simulator(daemon, count: count, duration: 120)
        try await waitUntil("every lamp is online") { try await daemon.stats().lampsOnline == count }

        let (_, made): (Int, TokenCreated?) = try await daemon.request("POST", "/tokens", body: TokenCreate(name: "op", role: "operator"))
        let (forbidden, _): (Int, APIError?) = try await daemon.request("POST", "/keys/master/rotate", token: try #require(made?.token))
        #expect(forbidden == 403)

        let run = try ProductRunner.run("lampctl", ["lamps", "rotate-master"] + daemon.lampctlOptions)
        #expect(run.status == 0 && run.stdout.contains("new master key"), "\(run.stdout) \(run.stderr)")
        let (_, rotated): (Int, KeysView?) = try await daemon.request("GET", "/keys")
        let newMaster = try #require(rotated?.currentMaster)
        #expect(rotated?.olderMasters == [FleetKey(hex: original)!.id] && newMaster != FleetKey(hex: original)!.id)
        let lines = try String(contentsOfFile: daemon.keyFile, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[1] == original && lines[0] != original)
        #expect(FleetKey(hex: lines[0])?.id == newMaster)
        let mode = try FileManager.default.attributesOfItem(atPath: daemon.keyFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        try await waitUntil("every linked lamp is on the new master") {
            let (_, keys): (Int, KeysView?) = try await daemon.request("GET", "/keys")
            return keys?.masters[newMaster] == count && keys?.pending == ["lamp-0021"]
        }
        let stats = try await daemon.stats()
        #expect(stats.lampsOnline == count && stats.handshakesAccepted == count && stats.linksReplaced == 0, "links dropped: \(stats)")

        let refused = try ProductRunner.run("lampctl", ["lamps", "retire-master"] + daemon.lampctlOptions)
        #expect(refused.status != 0 && refused.stderr.contains("1 lamps still use an older master key"), "\(refused.stdout) \(refused.stderr)")
        #expect(try String(contentsOfFile: daemon.keyFile, encoding: .utf8).split(separator: "\n").count == 2)
        let (removed, _): (Int, APIError?) = try await daemon.request("DELETE", "/lamps/lamp-0021")
        #expect(removed == 204)
        let retired = try ProductRunner.run("lampctl", ["lamps", "retire-master"] + daemon.lampctlOptions)
        #expect(retired.status == 0, "\(retired.stderr)")
        let kept = try String(contentsOfFile: daemon.keyFile, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(kept == [lines[0]])

        daemon.stop()
        try await daemon.start()
        try await waitUntil("every lamp is online again under the new master") { try await daemon.stats().lampsOnline == count }
        let report = try sim.finish()
        #expect(report.authRefused == 0, "a lamp's new key was refused")
        #expect(report.handshakes == 2 * count, "links dropped during the rotation: \(report.handshakes) handshakes")
        let (_, audit): (Int, [AuditView]?) = try await daemon.request("GET", "/audit?limit=200")
        let actions = (audit ?? []).map { "\($0.actor) \($0.action)" }
        #expect(actions.contains("admin keys.master.rotate") && actions.contains("admin keys.master.retire"), "\(actions)")
        #expect(actions.filter { $0 == "lamplighterd lamps.rekeyed" }.count == count)
    }

    @Test("a lamp of protocol 1.1 cannot be rotated: lampctl says why and exits non-zero")
    func oldLampRefused() async throws {
        let daemon = try Daemon(lamps: 1)
        try await daemon.start()
        let sim = try Simulator(daemon, count: 1, extra: ["--minor", "1"])
        try await waitUntil("lamp-0001 is online") { try await daemon.lamp("lamp-0001")?.online == true }
        let run = try ProductRunner.run("lampctl", ["lamps", "rekey", "lamp-0001"] + daemon.lampctlOptions)
        #expect(run.status != 0 && run.stderr.contains("protocol 1.1: frames are not authenticated"), "\(run.stdout) \(run.stderr)")
        let (_, keys): (Int, KeysView?) = try await daemon.request("GET", "/keys")
        #expect(keys?.unrotatable == ["lamp-0001"] && keys?.pending == [])
        _ = try sim.finish()
    }
}
