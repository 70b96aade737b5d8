import FleetCore
import Foundation
import LampProtocol
import OperatorAPI

/// The one way out for every ``FleetEvent``: stored in the event history when the event's
/// ``FleetEvent/storedKind`` says so (batched by the writer), and offered to the live
/// stream's subscribers as ``FleetEvent/streamType``. Call sites emit; they never name an
/// event twice. A lamp's own events are the exception: ``LampEventCommitter`` stores them
/// (before their acks) and then only ``publish(_:slot:atMilliseconds:)``es them.
public final class FleetEvents: Sendable {
    let writer: ReportedStateWriter
    let hub: EventHub
    let fleet: FleetState
    /// Delivers events to webhooks (nil: a store without webhooks).
    let webhooks: WebhookDispatcher?

    /// Events stored through `writer`, streamed through `hub`, offered to `webhooks`.
    init(writer: ReportedStateWriter, hub: EventHub, fleet: FleetState, webhooks: WebhookDispatcher? = nil) {
        self.webhooks = webhooks
        self.writer = writer
        self.hub = hub
        self.fleet = fleet
    }

    /// Stores and publishes an event of the lamp in `slot` (nil: a lamp not in the fleet, or
    /// no lamp), at `now`.
    func emit(_ event: FleetEvent, slot: Int? = nil, atMilliseconds now: UInt64) {
        if let record = event.record(atMilliseconds: now) {
            writer.append(record)
        }
        publish(event, slot: slot, atMilliseconds: now)
    }

    /// Offers an event to the live stream only (a lamp's event, once the committer stored it).
    func publish(_ event: FleetEvent, slot: Int? = nil, atMilliseconds now: UInt64) {
        webhooks?.offer(event, atMilliseconds: now)
        guard hub.isActive else { return }
        switch event {
        case .command(let snapshot, _):
            hub.publishCommand(snapshot.target, event: FleetEvents.streamEvent(event, atMilliseconds: now))
        case .incident(let incident) where event.lampID == nil:
            // A cabinet's incident: on the fleet channel (no lamp or group channel names a cabinet).
            hub.publishFleet(FleetEvents.streamEvent(.incident(incident), atMilliseconds: now))
        default:
            guard let lampID = event.lampID else { return }
            let fleet = self.fleet
            let isStatus: Bool
            if case .status = event { isStatus = true } else { isStatus = false }
            hub.publishLamp(
                lampID, isStatus: isStatus, atMilliseconds: now,
                groups: {
                    // An event emitted without its slot (an incident's) finds it only if a group channel asks.
                    if let slot { return fleet.groups(of: slot) }
                    return fleet.withModel { model in model.slot(of: lampID).map { model.groups(of: $0) } } ?? []
                },
                make: { FleetEvents.streamEvent(event, atMilliseconds: now) })
        }
    }

    /// Offers another controller's stored event (read from the shared history) to the live
    /// stream only: that controller stored it and offered it to its webhooks. A kind this
    /// controller does not know is left out.
    func publishStored(_ record: EventRecord) {
        guard hub.isActive, let type = FleetEvent.streamType(storedKind: record.kind) else { return }
        let fleet = self.fleet
        hub.publishLamp(
            record.lampID, isStatus: false, atMilliseconds: record.atMilliseconds,
            groups: { fleet.withModel { model in model.slot(of: record.lampID).map { model.groups(of: $0) } } ?? [] },
            make: {
                var stream = StreamEvent(type: type, at: Date(unixMilliseconds: record.atMilliseconds), lamp: record.lampID.value)
                switch record.kind {
                case "fault.raised", "fault.cleared":
                    stream.fault = record.detail
                    stream.raised = record.kind == "fault.raised"
                case "online", "offline":
                    break
                default:
                    stream.kind = record.kind
                    stream.detail = record.detail
                }
                return stream
            })
    }

    /// Emits the events a change of the fleet model produced (command progress).
    func emit(_ events: [FleetEvent], atMilliseconds now: UInt64) {
        for event in events {
            emit(event, atMilliseconds: now)
        }
    }

    /// The stream's JSON form of an event.
    static func streamEvent(_ event: FleetEvent, atMilliseconds now: UInt64) -> StreamEvent {
        var stream = StreamEvent(type: event.streamType, at: Date(unixMilliseconds: now), lamp: event.lampID?.value)
        switch event {
        case .status(_, let report):
            stream.level = Double(report.level.permille) / 10
            stream.mode = report.mode.description
            stream.lit = report.isLit
            stream.powerWatts = Double(report.powerDeciwatts) / 10
            stream.faults = FaultNames.names(report.faults)
        case .lamp(_, let lampEvent) where lampEvent.kind == .faultRaised || lampEvent.kind == .faultCleared:
            stream.fault = FaultNames.name(Int(lampEvent.detail))
            stream.raised = lampEvent.kind == .faultRaised
        case .command(let snapshot, _):
            stream.command = CommandProgress(snapshot)
        case .incident(let incident):
            stream.incident = FleetService.view(incident)
        case .online, .offline:
            break
        default:
            stream.kind = event.storedKind
            stream.detail = event.detail
        }
        return stream
    }
}

extension CommandProgress {
    /// The API's view of a command's progress.
    init(_ snapshot: CommandProgressSnapshot) {
        self.init(
            id: snapshot.id, target: snapshot.target.description, action: snapshot.action.description,
            createdAt: Date(unixMilliseconds: snapshot.createdAtMilliseconds), total: snapshot.total, applied: snapshot.applied,
            failed: snapshot.failed, pending: snapshot.pending, offline: snapshot.offline, failedLamps: snapshot.failedLamps,
            appliedLatency: LatencySummary(milliseconds: snapshot.latenciesMilliseconds))
    }
}
