import FleetCore
import LampProtocol
import PostgresNIO

/// The schema: PostgreSQL's equivalent of the SQLite schema after its migrations v1 to v12,
/// as migration 1 of `schema_migrations`. Integers are BIGINT (Unix ms, versions), blobs
/// BYTEA, ids TEXT.
extension PostgresStore {
    /// A migration: its version, what it does, its statements (one per string: PostgreSQL
    /// prepares one statement at a time).
    struct Migration: Sendable {
        var version: Int64
        var name: String
        var statements: [String]
    }

    /// The advisory lock (its two keys) held while migrating: daemons starting together on
    /// one database migrate one after the other.
    static let migrationLock: (Int32, Int32) = (0x4c_4d_50_00, 1)

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "lamps, state, events, commands, tokens, audit, programs, incidents, energy, webhooks (SQLite's v1 to v12)",
            statements: [
                """
                CREATE TABLE lamp (
                    id TEXT PRIMARY KEY,
                    name TEXT,
                    latitude DOUBLE PRECISION,
                    longitude DOUBLE PRECISION,
                    wattage DOUBLE PRECISION,
                    cabinet TEXT,
                    created_at BIGINT NOT NULL,
                    revoked_at BIGINT,
                    key_generation BIGINT NOT NULL DEFAULT 0,
                    key_pending BIGINT,
                    key_master TEXT,
                    key_pending_master TEXT,
                    -- The lamp's number in energy_day (SQLite's rowid there).
                    number BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
                )
                """,
                "CREATE INDEX lamp_by_cabinet ON lamp (cabinet)",
                "CREATE TABLE group_def (name TEXT PRIMARY KEY, description TEXT, created_at BIGINT NOT NULL)",
                """
                CREATE TABLE lamp_group (
                    name TEXT NOT NULL,
                    lamp_id TEXT NOT NULL REFERENCES lamp (id) ON DELETE CASCADE,
                    PRIMARY KEY (name, lamp_id)
                )
                """,
                "CREATE INDEX lamp_group_by_lamp ON lamp_group (lamp_id)",
                """
                CREATE TABLE program (
                    name TEXT PRIMARY KEY,
                    revision BIGINT NOT NULL,
                    source TEXT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    updated_by TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE desired_state (
                    lamp_id TEXT PRIMARY KEY REFERENCES lamp (id) ON DELETE CASCADE,
                    control_version BIGINT NOT NULL,
                    intent TEXT NOT NULL,
                    level BIGINT,
                    override_until BIGINT,
                    fade BIGINT NOT NULL,
                    config_version BIGINT NOT NULL,
                    report_interval BIGINT NOT NULL,
                    fail_safe_level BIGINT NOT NULL,
                    power_on_level BIGINT NOT NULL,
                    min_level BIGINT NOT NULL,
                    max_level BIGINT NOT NULL,
                    updated_at BIGINT NOT NULL,
                    program_name TEXT REFERENCES program (name),
                    program_revision BIGINT NOT NULL DEFAULT 0
                )
                """,
                "CREATE INDEX desired_by_program ON desired_state (program_name)",
                """
                CREATE TABLE reported_state (
                    lamp_id TEXT PRIMARY KEY REFERENCES lamp (id) ON DELETE CASCADE,
                    applied_version BIGINT NOT NULL,
                    config_version BIGINT NOT NULL,
                    firmware TEXT,
                    status BYTEA,
                    reported_at BIGINT NOT NULL,
                    last_seen BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE event (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    lamp_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    at BIGINT NOT NULL,
                    sequence BIGINT,
                    lamp_time BIGINT
                )
                """,
                "CREATE INDEX event_by_lamp ON event (lamp_id, at)",
                "CREATE INDEX event_by_time ON event (at)",
                "CREATE UNIQUE INDEX event_once ON event (lamp_id, sequence, lamp_time) WHERE sequence IS NOT NULL",
                """
                CREATE TABLE command (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    target TEXT NOT NULL,
                    action TEXT NOT NULL,
                    version BIGINT NOT NULL,
                    created_at BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE api_token (
                    name TEXT PRIMARY KEY,
                    role TEXT NOT NULL,
                    hash BYTEA NOT NULL UNIQUE,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE audit (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at BIGINT NOT NULL,
                    actor TEXT NOT NULL,
                    role TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    outcome TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_by_actor ON audit (actor, id)",
                "CREATE INDEX audit_by_time ON audit (at)",
                "CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                """
                CREATE TABLE idempotency_key (
                    caller TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request TEXT NOT NULL,
                    command_id BIGINT NOT NULL REFERENCES command (id),
                    lamps BIGINT NOT NULL,
                    created_at BIGINT NOT NULL,
                    PRIMARY KEY (caller, key)
                )
                """,
                "CREATE INDEX idempotency_key_by_time ON idempotency_key (created_at)",
                """
                CREATE TABLE energy_day (
                    lamp BIGINT NOT NULL REFERENCES lamp (number) ON DELETE CASCADE,
                    day BIGINT NOT NULL,
                    hours BYTEA NOT NULL,
                    PRIMARY KEY (lamp, day)
                )
                """,
                """
                CREATE TABLE incident (
                    id BIGINT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    lamp_id TEXT,
                    cabinet TEXT,
                    opened_at BIGINT NOT NULL,
                    state TEXT NOT NULL,
                    acknowledged_by TEXT,
                    acknowledged_at BIGINT,
                    resolved_by TEXT,
                    resolved_at BIGINT,
                    detail TEXT NOT NULL
                )
                """,
                "CREATE INDEX incident_by_state ON incident (state)",
                "CREATE INDEX incident_by_lamp ON incident (lamp_id)",
                "CREATE INDEX incident_by_cabinet ON incident (cabinet)",
                """
                CREATE TABLE webhook (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    url TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    events TEXT NOT NULL,
                    targets TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    created_by TEXT NOT NULL
                )
                """,
                """
                CREATE TABLE webhook_delivery (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    webhook_id BIGINT NOT NULL REFERENCES webhook (id) ON DELETE CASCADE,
                    lamp TEXT NOT NULL,
                    type TEXT NOT NULL,
                    event TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    state TEXT NOT NULL,
                    attempts BIGINT NOT NULL DEFAULT 0,
                    next_attempt_at BIGINT NOT NULL,
                    last_status BIGINT,
                    last_error TEXT,
                    finished_at BIGINT
                )
                """,
                "CREATE INDEX webhook_delivery_pending ON webhook_delivery (state, webhook_id, lamp, id)",
                "CREATE INDEX webhook_delivery_by_webhook ON webhook_delivery (webhook_id, id)",
            ]),
        Migration(
            version: 2, name: "the control version counter several controllers share (issue 14 b)",
            statements: [
                "CREATE TABLE cluster_counter (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                """
                INSERT INTO cluster_counter (name, value) VALUES ('control_version',
                    GREATEST(COALESCE((SELECT MAX(control_version) FROM desired_state), 0), COALESCE((SELECT MAX(version) FROM command), 0)))
                """,
            ]),
        Migration(
            version: 3, name: "controllers and the lamps they hold, with leases (issue 14 b)",
            statements: [
                "CREATE TABLE cluster_instance (id TEXT PRIMARY KEY, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL, lease_until BIGINT NOT NULL)",
                "CREATE TABLE lamp_owner (lamp_id TEXT PRIMARY KEY, instance TEXT NOT NULL, lease_until BIGINT NOT NULL)",
                "CREATE INDEX lamp_owner_by_instance ON lamp_owner (instance)",
            ]),
        Migration(
            version: 4, name: "the controller that wrote each event, for the others' live streams (issue 14 b)",
            statements: ["ALTER TABLE event ADD COLUMN instance TEXT"]),
        Migration(
            version: 5, name: "ownership claims in order: a late notice of an older claim closes no link (issue 14 b)",
            statements: [
                "CREATE SEQUENCE lamp_claim",
                "ALTER TABLE lamp_owner ADD COLUMN claim BIGINT NOT NULL DEFAULT 0",
            ]),
        Migration(
            version: 6, name: "the program revision counter several controllers share (issue 14 b)",
            statements: [
                """
                INSERT INTO cluster_counter (name, value) VALUES ('program_revision',
                    GREATEST(COALESCE((SELECT MAX(program_revision) FROM desired_state), 0), COALESCE((SELECT MAX(revision) FROM program), 0)))
                """
            ]),
        Migration(
            version: 7, name: "a change number on every lamp, so a lost notice of a change is caught up (issue 14 b)",
            statements: [
                "CREATE SEQUENCE lamp_change",
                "ALTER TABLE lamp ADD COLUMN change BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE lamp ALTER COLUMN change SET DEFAULT nextval('lamp_change')",
                "CREATE INDEX lamp_by_change ON lamp (change)",
                """
                CREATE FUNCTION lamp_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    NEW.change := nextval('lamp_change');
                    RETURN NEW;
                END
                $$
                """,
                // Any real change of the lamp's row: registration, place, revocation, keys.
                "CREATE TRIGGER lamp_changed BEFORE UPDATE ON lamp FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION lamp_changed()",
                """
                CREATE FUNCTION lamp_touched() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' THEN
                        UPDATE lamp SET change = nextval('lamp_change') WHERE id = OLD.lamp_id;
                    ELSE
                        UPDATE lamp SET change = nextval('lamp_change') WHERE id = NEW.lamp_id;
                    END IF;
                    RETURN NULL;
                END
                $$
                """,
                // Its groups, and its program (not its control state: commands have their own notices).
                "CREATE TRIGGER lamp_group_changed AFTER INSERT OR DELETE ON lamp_group FOR EACH ROW EXECUTE FUNCTION lamp_touched()",
                """
                CREATE TRIGGER lamp_program_changed AFTER UPDATE ON desired_state FOR EACH ROW
                WHEN (OLD.program_name IS DISTINCT FROM NEW.program_name OR OLD.program_revision IS DISTINCT FROM NEW.program_revision)
                EXECUTE FUNCTION lamp_touched()
                """,
            ]),
        Migration(
            version: 8, name: "room on every page of the per-lamp state, so a fleet command's update stays on its page (issue 14)",
            statements: [
                // A fleet command updates every lamp's desired row, and the acks every reported
                // row, changing no indexed column: with room left on the page these are
                // heap-only updates (no index entries written). 100,000 rows: about 160 ms
                // instead of 480-510 ms on this machine at rest; at 100,000 lamps under load the
                // command's durable write took 2.4 to 5.6 s before. Pages filled before this
                // migration get the room back as their old row versions are vacuumed.
                "ALTER TABLE desired_state SET (fillfactor = 50)",
                "ALTER TABLE reported_state SET (fillfactor = 50)",
            ]),
    ]

    /// Brings the schema up to date in one transaction under the migration lock: a daemon
    /// that waited finds the work done. The fleet epoch (SPEC.md §5.4) is made with the
    /// schema.
    func migrate() async throws {
        try await transaction { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(Self.migrationLock.0), \(Self.migrationLock.1))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int64>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int64.self) {
                applied.insert(version)
            }
            if let newest = applied.max(), let known = Self.migrations.last?.version, newest > known {
                throw FleetStoreError(
                    "the PostgreSQL database \(location) has schema version \(newest), newer than this lamplighterd knows (\(known)): run a newer lamplighterd")
            }
            for migration in Self.migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                if migration.version == 1 {
                    var generator = SystemRandomNumberGenerator()
                    let epoch = FleetEpoch.random(using: &generator).description
                    try await connection.query("INSERT INTO metadata (key, value) VALUES ('fleet_epoch', \(epoch))", logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                logger.info("migrated PostgreSQL schema", metadata: ["version": "\(migration.version)", "database": "\(location)"])
            }
        }
    }
}
