import ArgumentParser
import Foundation
import OperatorAPI
import OperatorClient

/// `lampctl webhooks [add|list|show|remove|deliveries|replay]`.
struct Webhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Webhooks: events POSTed to a maintenance system, signed, retried, in order per lamp.",
        discussion: """
            Each delivery carries Lamplighter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 \
            of "<t>.<body>" with the secret>, Lamplighter-Delivery (its id: drop repeats) and \
            Lamplighter-Event. A failed delivery is retried with backoff and holds back that \
            lamp's later ones. Adding and removing needs an admin token.
            """,
        subcommands: [Add.self, List.self, Show.self, Remove.self, Deliveries.self, Replay.self], defaultSubcommand: List.self)

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a webhook; prints its secret once (admin).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The receiver: http:// or https:// URL.") var url: String
        @Option(help: "Event types, comma-separated: e.g. incident.*,lamp.fault,command.applied (default: all).") var events: String?
        @Option(help: "Lamps, comma-separated: all, lamp:ID, group:NAME (default: all).") var target: String?
        @Option(help: "The signing secret, 16 to 256 characters (default: generated).") var secret: String?

        func run() async throws {
            let client = options.client
            let split = { (text: String?) in text.map { $0.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) } } }
            let webhook = try await Exit.call {
                try await client.createWebhook(WebhookCreate(url: url, events: split(events), targets: split(target), secret: secret))
            }
            if options.json { return try options.printJSON(webhook) }
            Webhooks.show(webhook)
            print("secret:     \(webhook.secret ?? "-")")
            print("(the secret is shown only now: keep it with the receiver)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhooks.")
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let client = options.client
            let webhooks = try await Exit.call { try await client.webhooks() }
            if options.json { return try options.printJSON(webhooks) }
            print(
                Table.render(
                    [["ID", "URL", "EVENTS", "TARGETS", "PENDING", "BY"]]
                        + webhooks.map {
                            ["\($0.id)", $0.url, $0.events.joined(separator: ","), $0.targets.joined(separator: ","), "\($0.pending)", $0.createdBy]
                        }))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One webhook.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The webhook's id.") var id: String

        func run() async throws {
            let client = options.client
            let webhook = try await Exit.call { try await client.webhook(id) }
            if options.json { return try options.printJSON(webhook) }
            Webhooks.show(webhook)
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a webhook and its waiting deliveries (admin).")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The webhook's id.") var id: String

        func run() async throws {
            let client = options.client
            try await Exit.call { try await client.deleteWebhook(id) }
            if !options.json { print("webhook \(id) removed") }
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A webhook's deliveries, newest first.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The webhook's id.") var id: String
        @Option(help: "How many, 1 to 10000.") var limit: Int = 50

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000") }
        }

        func run() async throws {
            let client = options.client
            let deliveries = try await Exit.call { try await client.webhookDeliveries(id, limit: limit) }
            if options.json { return try options.printJSON(deliveries) }
            let time = ISO8601DateFormatter()
            print(
                Table.render(
                    [["ID", "TYPE", "LAMP", "STATE", "ATTEMPTS", "AT", "LAST"]]
                        + deliveries.map {
                            [
                                "\($0.id)", $0.type, $0.lamp ?? "-", $0.state, "\($0.attempts)", time.string(from: $0.createdAt),
                                $0.lastError ?? $0.lastStatus.map { "HTTP \($0)" } ?? "-",
                            ]
                        }))
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a delivery again (admin): it is queued now, attempts from 0.")
        @OptionGroup var options: ClientOptions
        @Argument(help: "The webhook's id.") var id: String
        @Argument(help: "The delivery's id.") var delivery: String

        func run() async throws {
            let client = options.client
            let replayed = try await Exit.call { try await client.replayDelivery(id, delivery: delivery) }
            if options.json { return try options.printJSON(replayed) }
            print("delivery \(replayed.id) (\(replayed.type)) queued again for webhook \(replayed.webhook)")
        }
    }

    static func show(_ webhook: WebhookView) {
        print(
            [
                "webhook \(webhook.id): \(webhook.url)", "events:     \(webhook.events.joined(separator: ","))",
                "targets:    \(webhook.targets.joined(separator: ","))", "pending:    \(webhook.pending)",
                "created:    \(ISO8601DateFormatter().string(from: webhook.createdAt)) by \(webhook.createdBy)",
            ].joined(separator: "\n"))
    }
}
