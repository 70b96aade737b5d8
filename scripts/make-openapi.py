#!/usr/bin/env python3
"""Writes Sources/Controller/Resources/openapi.json, the operator API's OpenAPI 3.1 document,
which lamplighterd serves at GET /openapi.json. Edit this script (or the Swift types it reads),
never the JSON: the document says so in info.x-generated-by.

- Schemas come from the Codable structs in Sources/OperatorAPI/*.swift: every stored property
  with its JSON type (Date is a date-time string), its `///` comment as description, and every
  non-optional property in `required`. APICoding.encoder() (synthesized Codable) leaves nil
  optionals out rather than writing null, so in what the server sends an optional property is
  simply not required; in request bodies (what the server decodes, where null reads as absent)
  optionals also allow null, OpenAPI 3.1 style (`"type": ["number", "null"]`). The server
  refuses a field a request body's type does not have (400 naming it), so request bodies say
  `additionalProperties: false` (the event stream's requests excepted: it ignores them).
- Paths, operations, roles and status codes come from the PATHS table below.

Run it after changing either; the JSON is pretty-printed with sorted keys, so reruns are stable:
  python3 scripts/make-openapi.py          rewrite the document
  python3 scripts/make-openapi.py --check  exit 1 if the document is not what this script writes

ControllerTests compares the document's paths and methods with the router; ExecutableTests
(APIContractTests) validates real responses of a running daemon against these schemas.
"""
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
API_SOURCES = os.path.join(ROOT, "Sources", "OperatorAPI")
OUTPUT = os.path.join(ROOT, "Sources", "Controller", "Resources", "openapi.json")

# Bodies the server decodes (requests and stream requests): their optionals may also be null.
REQUEST_TYPES = {
    "LampRegistration", "LampUpdate", "GroupCreate", "GroupMembersChange", "CommandRequest", "TokenCreate", "ProgramSave",
    "ProgramAssign", "StreamRequest", "RekeyRequest", "WebhookCreate",
}
ROLES = ["viewer", "operator", "admin"]
# Closed sets of values, where the server checks them (requests) or only ever sends these.
ENUMS = {
    ("CommandRequest", "action"): ["level", "on", "off", "override", "resume", "identify", "reboot"],
    ("TokenCreate", "role"): ROLES,
    ("TokenView", "role"): ROLES,
    ("StreamRequest", "op"): ["subscribe", "unsubscribe"],
    ("DesiredView", "mode"): ["program", "level", "on", "off", "override"],
    ("IncidentView", "state"): ["open", "acknowledged", "resolved"],
    ("IncidentView", "kind"): ["lamp-failure", "lit-by-day", "power-out-of-tolerance", "cycling", "dark-at-night", "cabinet-power-lost"],
}
SCALARS = {
    "String": {"type": "string"},
    "Bool": {"type": "boolean"},
    "Int": {"type": "integer"}, "Int64": {"type": "integer"}, "Int32": {"type": "integer"},
    "UInt32": {"type": "integer"}, "UInt64": {"type": "integer"},
    "Double": {"type": "number"}, "Float": {"type": "number"},
    "Date": {"type": "string", "format": "date-time"},
}


def describe(lines):
    """A `///` comment as Markdown text, DocC symbol links as code."""
    text = "\n".join(line.rstrip() for line in lines).strip()
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def read_structs():
    """{name: (description, [(property, swift type, description)])} of every public Codable struct."""
    structs = {}
    for file in sorted(os.listdir(API_SOURCES)):
        if not file.endswith(".swift"):
            continue
        comment, current = [], None
        for line in open(os.path.join(API_SOURCES, file), encoding="utf-8"):
            line = line.rstrip("\n")
            header = re.match(r"^public struct (\w+)\s*:([^{]*)\{", line)
            if header:
                conformances = [c.strip() for c in header.group(2).split(",")]
                current = None
                if "Codable" in conformances:
                    current = header.group(1)
                    structs[current] = (describe(comment), [])
                comment = []
                continue
            if line == "}":
                current, comment = None, []
                continue
            doc = re.match(r"^ {0,4}/// ?(.*)$", line)
            if doc:
                comment.append(doc.group(1))
                continue
            stored = re.match(r"^    public (?:var|let) (\w+): ([^={]+?)\s*$", line)
            if current and stored:
                structs[current][1].append((stored.group(1), stored.group(2), describe(comment)))
            comment = []
    return structs


def schema_of(swift_type, structs, nullable):
    """The JSON schema of a Swift type; nullable: also allow null."""
    if swift_type.endswith("?"):
        raise SystemExit(f"nested optional {swift_type} is not supported")
    array = re.fullmatch(r"\[(\w+\??)\]", swift_type)
    dictionary = re.fullmatch(r"\[String: (\w+)\]", swift_type)
    if array:
        schema = {"type": "array", "items": schema_of(array.group(1), structs, False)}
    elif dictionary:
        schema = {"type": "object", "additionalProperties": schema_of(dictionary.group(1), structs, False)}
    elif swift_type in SCALARS:
        schema = dict(SCALARS[swift_type])
    elif swift_type in structs:
        reference = {"$ref": f"#/components/schemas/{swift_type}"}
        return {"oneOf": [reference, {"type": "null"}]} if nullable else reference
    else:
        raise SystemExit(f"make-openapi.py: no JSON schema for the Swift type {swift_type}; add it to SCALARS")
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def component_schemas():
    structs = read_structs()
    schemas = {}
    for name, (description, properties) in structs.items():
        if not properties:
            raise SystemExit(f"make-openapi.py: found no stored properties in {name}")
        schema = {"type": "object", "properties": {}}
        required = []
        if description:
            schema["description"] = description
        for property_name, swift_type, property_description in properties:
            optional = swift_type.endswith("?")
            base = swift_type[:-1] if optional else swift_type
            property_schema = schema_of(base, structs, optional and name in REQUEST_TYPES)
            if (name, property_name) in ENUMS:
                property_schema["enum"] = ENUMS[(name, property_name)]
            if property_description:
                # OpenAPI 3.1 (JSON Schema 2020-12) allows siblings of $ref, such as a description.
                property_schema["description"] = property_description
            schema["properties"][property_name] = property_schema
            if not optional:
                required.append(property_name)
        if required:
            schema["required"] = required
        if name in REQUEST_TYPES and name != "StreamRequest":
            # The API refuses a field the request type does not have (400 naming it).
            schema["additionalProperties"] = False
        schemas[name] = schema
    for (name, property_name) in ENUMS:
        if property_name not in schemas.get(name, {}).get("properties", {}):
            raise SystemExit(f"make-openapi.py: ENUMS names {name}.{property_name}, which does not exist")
    for name in REQUEST_TYPES:
        if name not in schemas:
            raise SystemExit(f"make-openapi.py: REQUEST_TYPES names {name}, which is not a Codable struct")
    return schemas


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def arr(schema):
    return {"type": "array", "items": schema}


REFUSED = {"$ref": "#/components/responses/Refused"}


def ok(schema, code="200", description="OK"):
    response = {code: {"description": description}}
    if schema:
        response[code]["content"] = {"application/json": {"schema": schema}}
    return response


def op(summary, role, responses, params=None, body=None, codes=("400", "401", "403")):
    operation = {"summary": summary, "x-role": role, "responses": dict(responses)}
    codes = tuple(codes)
    if body and "413" not in codes:
        # Every route that reads a body refuses one over 8 MiB.
        codes += ("413",)
    # The store failing (or the token table unreadable) is a 500 with the same body; a
    # PostgreSQL store that cannot be reached (docs/cluster.md) a 503 with the reason.
    codes += ("500",) + (() if "503" in codes else ("503",))
    for code in codes:
        operation["responses"][code] = REFUSED
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def q(name, kind="string", description=None):
    parameter = {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
    if description:
        parameter["description"] = description
    return parameter


def pp(name):
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


# POST /api/v1/commands: the Idempotency-Key header (OperatorAPI's IdempotencyKey) and the
# header marking a replayed answer.
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Makes a retry safe: the caller's (token's) key, kept 24 hours. The same key with the same "
                   "request answers with the first command; with another request, 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
ACCEPTED_COMMAND = ok(ref("CommandAccepted"), "202", "Accepted (or, for a retry under the same Idempotency-Key, the "
                      "first command's answer again)")
ACCEPTED_COMMAND["202"]["headers"] = {
    "Idempotent-Replayed": {"description": "`true` when this is the answer to an earlier request with the same "
                                           "Idempotency-Key: no new command was made",
                            "schema": {"type": "string", "enum": ["true"]}},
}


DOCUMENT_SCHEMA = {
    "type": "object",
    "properties": {"openapi": {"type": "string"}, "info": {"type": "object"}, "paths": {"type": "object"},
                   "components": {"type": "object"}},
    "required": ["openapi", "info", "paths", "components"],
    "additionalProperties": True,
}

PATHS = {
    "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": ok(
        {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]},
                                          "version": {"type": "string", "description": "lamplighterd's version"}},
         "required": ["status", "version"]})}},
    "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {
        **ok(DOCUMENT_SCHEMA),
        "500": {"description": "The document is missing from the daemon's installation (its resource bundle "
                               "Lamplighter_Controller.resources must sit beside the executable); error says where it looked",
                "content": {"application/json": {"schema": ref("APIError")}}}}}},
    "/metrics": {"get": {"summary": "Prometheus text exposition", "security": [], "responses": {
        "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    "/": {"get": {"summary": "The web dashboard (index.html): sign in with a token; no token needed for the page itself",
                  "security": [], "responses": {
                      "200": {"description": "The page (Cache-Control: no-cache, with an ETag)",
                              "content": {"text/html": {"schema": {"type": "string"}}}},
                      "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                      "500": {"description": "The dashboard is missing from the daemon's installation (its resource bundle "
                                             "Lamplighter_Controller.resources must sit beside the executable); error says where it looked",
                              "content": {"application/json": {"schema": ref("APIError")}}}}}},
    "/dashboard/{file}": {"get": {"summary": "The web dashboard's static files (scripts, style sheet, icon); no token needed",
                                  "security": [], "parameters": [pp("file")], "responses": {
                                      "200": {"description": "The file, with its content type (Cache-Control: no-cache, with an ETag)",
                                              "content": {"text/javascript": {"schema": {"type": "string"}},
                                                          "text/css": {"schema": {"type": "string"}},
                                                          "image/svg+xml": {"schema": {"type": "string"}}}},
                                      "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                                      "404": REFUSED, "500": REFUSED}}},
    "/api/v1/lamps": {
        "get": op("A page of lamps, sorted by id", "viewer", ok(ref("LampPage")), [
            q("group"), q("mode", description="program, level, on, off, override"), q("online", "boolean"), q("fault", "boolean"),
            q("offset", "integer"), q("limit", "integer", description="1 to 10000, default 100")]),
        "post": op("Register one lamp or an array of lamps, all or none", "admin", ok(arr(ref("LampView")), "201", "Created"),
                   body={"oneOf": [ref("LampRegistration"), arr(ref("LampRegistration"))]},
                   codes=("400", "401", "403", "409", "413"))},
    "/api/v1/lamps/{id}": {
        "get": op("One lamp: desired versus reported, last seen, energy, recent events", "viewer",
                  ok(ref("LampView")), [pp("id")], codes=("401", "403", "404")),
        "patch": op("Change a lamp's name, place, wattage or cabinet (each field given replaces the registered one); a lamp that moves "
                    "and runs a program gets it again for its new place", "admin", ok(ref("LampView")), [pp("id")],
                    body=ref("LampUpdate"), codes=("400", "401", "403", "404")),
        "delete": op("Remove a lamp: registration, desired and reported state, group memberships (its events stay); its "
                     "link is closed with 4001", "admin", {"204": {"description": "Removed"}}, [pp("id")],
                     codes=("401", "403", "404"))},
    "/api/v1/lamps/{id}/revoke": {
        "post": op("Revoke a lamp: its live link is closed at once (4001) and its hellos are refused like an unknown "
                   "lamp's until it is restored; it stays registered and shows revoked. Its key is derived from the fleet "
                   "key: a stolen lamp's key must be presumed known, so a restore starts a key rotation. Audited", "admin",
                   ok(ref("LampView")), [pp("id")], codes=("401", "403", "404"))},
    "/api/v1/lamps/{id}/restore": {
        "post": op("Restore a revoked lamp: its hellos are accepted again, and a key rotation starts (its old key is presumed "
                   "stolen; refused once the lamp holds the new one). Audited", "admin", ok(ref("LampView")), [pp("id")],
                   codes=("401", "403", "404"))},
    "/api/v1/groups": {
        "get": op("Every group and its size", "viewer", ok(arr(ref("GroupView")))),
        "post": op("Create an empty group", "operator", ok(ref("GroupView"), "201", "Created"), body=ref("GroupCreate"),
                   codes=("400", "401", "403", "409"))},
    "/api/v1/groups/{name}": {
        "get": op("One group", "viewer", ok(ref("GroupView")), [pp("name")], codes=("401", "403", "404")),
        "delete": op("Delete a group; its lamps stay", "operator", {"204": {"description": "Deleted"}}, [pp("name")],
                     codes=("401", "403", "404"))},
    "/api/v1/groups/{name}/members": {"post": op("Add and remove lamps, all or none", "operator", ok(ref("GroupView")), [pp("name")],
                                                 body=ref("GroupMembersChange"), codes=("400", "401", "403", "404"))},
    "/api/v1/commands": {"post": op("A command to lamp:ID, group:NAME or all; durable before the answer. With an "
                                    "Idempotency-Key, a retry of the same request answers with the first command "
                                    "(Idempotent-Replayed: true) instead of making a second; the same key with another "
                                    "request is refused with 422",
                                    "operator", ACCEPTED_COMMAND, [IDEMPOTENCY_KEY], body=ref("CommandRequest"),
                                    # 503: several controllers whose PostgreSQL cannot be reached.
                                    codes=("400", "401", "403", "404", "422", "503"))},
    "/api/v1/commands/{id}": {"get": op("A command's progress", "viewer", ok(ref("CommandProgress")), [pp("id")],
                                        codes=("401", "403", "404"))},
    "/api/v1/incidents": {"get": op("Incidents (faults the controller found, about a lamp or a cabinet), newest first", "viewer",
                                    ok(arr(ref("IncidentView"))),
                                    [q("state", description="open, acknowledged, resolved"),
                                     q("kind", description="lamp-failure, lit-by-day, power-out-of-tolerance, cycling, dark-at-night, "
                                                           "cabinet-power-lost"),
                                     q("lamp"), q("cabinet"), q("limit", "integer", description="1 to 10000, default 100")])},
    "/api/v1/incidents/{id}": {"get": op("One incident", "viewer", ok(ref("IncidentView")), [pp("id")], codes=("401", "403", "404"))},
    "/api/v1/incidents/{id}/acknowledge": {
        "post": op("Acknowledge an open incident (acknowledging again changes nothing); audited", "operator", ok(ref("IncidentView")),
                   [pp("id")], codes=("401", "403", "404", "409"))},
    "/api/v1/incidents/{id}/resolve": {
        "post": op("Resolve an incident by hand; if its fault still holds, a new incident opens only once the fault clears and "
                   "is raised again. Audited", "operator", ok(ref("IncidentView")), [pp("id")], codes=("401", "403", "404", "409"))},
    "/api/v1/webhooks": {
        "get": op("Every webhook (never its secret), with the deliveries waiting in its outbox", "operator", ok(arr(ref("WebhookView")))),
        "post": op("Add a webhook: events matching its event types and targets are POSTed to its URL, signed "
                   "(Lamplighter-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">), retried with backoff, in order per "
                   "lamp. The answer is the only place its secret is shown. At most 32 webhooks (409). Audited", "admin",
                   ok(ref("WebhookView"), "201", "Created"), body=ref("WebhookCreate"), codes=("400", "401", "403", "409", "413"))},
    "/api/v1/webhooks/{id}": {
        "get": op("One webhook", "operator", ok(ref("WebhookView")), [pp("id")], codes=("401", "403", "404")),
        "delete": op("Remove a webhook and its outbox. Audited", "admin", {"204": {"description": "Removed"}}, [pp("id")],
                     codes=("401", "403", "404"))},
    "/api/v1/webhooks/{id}/deliveries": {
        "get": op("A webhook's deliveries, newest first: pending, delivered or failed (given up), with attempts and the last error",
                  "operator", ok(arr(ref("DeliveryView"))), [pp("id"), q("limit", "integer", description="1 to 10000, default 100")],
                  codes=("401", "403", "404"))},
    "/api/v1/webhooks/{id}/deliveries/{delivery}/replay": {
        "post": op("Queue a delivery again (pending now, attempts from 0), e.g. one given up. Audited", "admin",
                   ok(ref("DeliveryView")), [pp("id"), pp("delivery")], codes=("401", "403", "404"))},
    "/api/v1/events": {"get": op("The event history, newest first", "viewer", ok(arr(ref("EventView"))),
                                 [q("lamp"), q("kind"), q("before", "integer"), q("limit", "integer")])},
    "/api/v1/keys/rekey": {
        "post": op("Rotate the keys of lamp:ID, group:NAME or all (SPEC.md 8.12): each lamp gets a pending generation, sent "
                   "over its authenticated link now or when it links; both keys are accepted until the lamp proves the new one, "
                   "then the old one is refused (4001). A lamp whose last hello was of protocol 1.0 or 1.1 cannot be rotated: "
                   "it is listed in refused (409 when it is the only lamp named). Audited", "admin", ok(ref("RekeyResult")),
                   body=ref("RekeyRequest"), codes=("400", "401", "403", "404", "409", "413"))},
    "/api/v1/keys/master/rotate": {
        "post": op("Rotate the fleet master key without downtime: a new key becomes current, the old one stays in the key "
                   "file (one per line, current first, 0600) for lamps not yet moved, and every lamp is rekeyed onto the new "
                   "master over its link, now or when it links; no link is closed. 409 when the key was given with --fleet-key "
                   "or the key file is full. Audited", "admin", ok(ref("KeysView")), codes=("401", "403", "409"))},
    "/api/v1/keys/master/retire": {
        "post": op("Drop the older master keys from the key file; 409 while any lamp still derives its key from one. Audited",
                   "admin", ok(ref("KeysView")), codes=("401", "403", "409"))},
    "/api/v1/keys": {
        "get": op("Lamps by key generation, rotations pending, lamps that cannot be rotated", "admin", ok(ref("KeysView")),
                  codes=("401", "403"))},
    "/api/v1/energy": {"get": op(
        "Energy of a lamp, a group or the fleet per UTC hour, day or month: used (from the lamps' energy counters), at full power "
        "for the same time lit (the registered wattage), and saved (the difference). A lamp offline for a while has its counter's "
        "gain spread over the hours it was away; a counter that went back (a reset) counts nothing for that interval. Steps "
        "without energy are left out", "viewer", ok(ref("EnergyReport")),
        [q("target", description="all (default), group:NAME or a lamp id"),
         q("from", description="ISO 8601 time or date, included; default a day before to"),
         q("to", description="ISO 8601 time or date, not included; default now"),
         q("step", description="hour (default), day or month; at most 10000 rows")],
        codes=("400", "401", "403", "404"))},
    "/api/v1/stats": {"get": op("Live counters", "viewer", ok(ref("StatsView")), codes=("401", "403"))},
    "/api/v1/audit": {"get": op("The audit log, newest first", "operator", ok(arr(ref("AuditView"))),
                                [q("actor"), q("action"), q("before", "integer"), q("limit", "integer")])},
    "/api/v1/tokens": {
        "get": op("Every token (never the secret)", "admin", ok(arr(ref("TokenView"))), codes=("401", "403")),
        "post": op("Create a token; the secret is in this answer only", "admin", ok(ref("TokenCreated"), "201", "Created"),
                   body=ref("TokenCreate"), codes=("400", "401", "403", "409"))},
    "/api/v1/tokens/{name}": {"delete": op("Revoke a token at once", "admin", {"204": {"description": "Revoked"}}, [pp("name")],
                                           codes=("401", "403", "404"))},
    "/api/v1/programs": {"get": op("Every lighting program", "viewer", ok(arr(ref("ProgramView"))), codes=("401", "403"))},
    "/api/v1/programs/{name}": {
        "get": op("One program, with its file text", "viewer", ok(ref("ProgramView")), [pp("name")], codes=("401", "403", "404")),
        "put": op("Create or change a program from its file text; lamps running it get the new revision. Errors name the line and field",
                  "operator", {**ok(ref("ProgramView")), **ok(ref("ProgramView"), "201", "Created")}, [pp("name")],
                  body=ref("ProgramSave")),
        "delete": op("Delete a program no lamp runs", "operator", {"204": {"description": "Deleted"}}, [pp("name")],
                     codes=("401", "403", "404", "409"))},
    "/api/v1/programs/{name}/assign": {"post": op("Run a program on lamp:ID, group:NAME or all: durable, then sent as desired state",
                                                  "operator", ok(ref("ProgramAssigned"), "202", "Accepted"), [pp("name")],
                                                  body=ref("ProgramAssign"), codes=("400", "401", "403", "404"))},
    "/api/v1/programs/{name}/preview": {"get": op(
        "One night of a program at a place, local noon to noon, as its lamps run it (the fleet's time zone). The place defaults "
        "to lamplighterd run --latitude --longitude, the date to the night under way", "viewer", ok(ref("ProgramPreview")),
        [pp("name"), q("date", description="the evening's local date, YYYY-MM-DD"),
         q("latitude", "number", description="decimal degrees, with longitude"), q("longitude", "number", description="decimal degrees")],
        codes=("400", "401", "403", "404"))},
    "/api/v1/programs/{name}/forecast": {"get": op(
        "A year of a program at a place: per month, hours lit and energy (kWh) from the solar calculator, every night local noon "
        "to noon in the time zone asked for (default: the fleet's, the rule its lamps run programs by), so months and clock "
        "times such as 23:00 are local; a night counted in the month of its evening. Power is taken as proportional to level. "
        "The place defaults to lamplighterd run --latitude --longitude, the year to the next, the wattage to the registered "
        "wattages of the lamps the program is assigned to, summed", "viewer", ok(ref("ProgramForecast")),
        [pp("name"), q("year", "integer", description="1970 to 2199"),
         q("latitude", "number", description="decimal degrees, with longitude"), q("longitude", "number", description="decimal degrees"),
         q("wattage", "number", description="watts in all, above 0"),
         q("timezone", description="an IANA time zone such as Europe/Amsterdam, or a POSIX rule; unknown: 400")],
        codes=("400", "401", "403", "404"))},
    "/api/v1/whoami": {"get": op("The caller's token name and role (any valid token), and the dashboard's map tile server",
                                 "viewer", ok(ref("WhoAmI")), codes=("401",))},
    "/api/v1/stream": {"get": op("The live event stream: a WebSocket of JSON text. Send StreamRequest, receive StreamEvent. "
                                 "Browsers pass the token as ?token=", "viewer", {"101": {"description": "Switching to WebSocket"}},
                                 [q("token", description="for clients that cannot set headers")],
                                 codes=("401", "403", "426", "503"))},
}


def document():
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lamplighterd operator API",
            "version": "1.0.0",
            "description": "Operate a fleet of networked street lamps. Every /api/v1 route needs a bearer token; x-role names "
                           "the least role it needs (viewer < operator < admin).",
            "x-generated-by": "scripts/make-openapi.py (edit the script, not this file)",
        },
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": component_schemas(),
            "responses": {"Refused": {"description": "Refused: the error says why, field names the input at fault "
                                                     "(500: the daemon failed, e.g. its database)",
                                      "content": {"application/json": {"schema": ref("APIError")}}}},
        },
        "paths": PATHS,
    }


def main():
    text = json.dumps(document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if sys.argv[1:] == ["--check"]:
        current = open(OUTPUT, encoding="utf-8").read() if os.path.exists(OUTPUT) else ""
        if current != text:
            sys.exit(f"{os.path.relpath(OUTPUT, ROOT)} is not what scripts/make-openapi.py writes: run it")
        return
    if sys.argv[1:]:
        sys.exit("usage: make-openapi.py [--check]")
    os.makedirs(os.path.dirname(OUTPUT), exist_ok=True)
    with open(OUTPUT, "w", encoding="utf-8") as output:
        output.write(text)


if __name__ == "__main__":
    main()
