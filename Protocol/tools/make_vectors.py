#!/usr/bin/env python3
"""Writes Protocol/vectors/*.json from SPEC.md alone.

This is an independent encoder for protocol v1 (minor 2, "1.2"), written from SPEC.md without the Swift codec,
so the vectors cross-check the Swift implementation rather than echo it. It is also a small
example of a third-party implementation (the kind a firmware author writes).

Run: python3 Protocol/tools/make_vectors.py   (rewrites the files; the Swift tests read them)
"""
import hashlib
import hmac
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "vectors")

TYPES = {
    "challenge": 0x01, "hello": 0x02, "welcome": 0x03, "ack": 0x04, "nack": 0x05,
    "statusReport": 0x10, "event": 0x11, "setLevel": 0x20, "switch": 0x21, "override": 0x22,
    "resumeProgram": 0x23, "config": 0x24, "identify": 0x25, "reboot": 0x26, "rekey": 0x27,
    "programHeader": 0x30, "programPage": 0x31,
}


def short_string(text):
    data = text.encode("ascii")
    return bytes([len(data)]) + data


def encode(kind, f):
    """Encodes one message from its fields, following SPEC.md section by section."""
    t = bytes([TYPES[kind]])
    if kind == "challenge":
        return t + struct.pack(">B", f["minorVersion"]) + bytes.fromhex(f["serverNonce"])
    if kind == "hello":
        return hello_signed(f) + bytes.fromhex(f["mac"])
    if kind == "welcome":
        return welcome_signed(f) + bytes.fromhex(f["proof"])
    if kind == "ack":
        return t + struct.pack(">BI", f["ackedType"], f["ref"])
    if kind == "nack":
        return t + struct.pack(">BIB", f["ackedType"], f["ref"], f["reason"])
    if kind == "statusReport":
        state = f["mode"] | (8 if f["lit"] else 0) | (16 if f["fading"] else 0)
        temperature = -128 if f["temperatureCelsius"] is None else f["temperatureCelsius"]
        ambient = 0xFFFF if f["ambientLux"] is None else f["ambientLux"]
        return t + struct.pack(
            ">IHBHIIHbHII", f["appliedVersion"], f["level"], state, f["powerDeciwatts"],
            f["energyWattHours"], f["burnSeconds"], f["faults"], temperature, ambient,
            f["programRevision"], f["clock"])
    if kind == "event":
        return t + struct.pack(">IBHI", f["sequence"], f["kind"], f["detail"], f["time"])
    if kind == "setLevel":
        return t + struct.pack(">IHB", f["version"], f["level"], f["fade"])
    if kind == "switch":
        return t + struct.pack(">IBB", f["version"], 1 if f["on"] else 0, f["fade"])
    if kind == "override":
        return t + struct.pack(">IHBI", f["version"], f["level"], f["fade"], f["durationSeconds"])
    if kind == "resumeProgram":
        return t + struct.pack(">IB", f["version"], f["fade"])
    if kind == "config":
        return t + struct.pack(">IHHHHH", f["configVersion"], f["reportIntervalSeconds"], f["failSafeLevel"],
                               f["powerOnLevel"], f["minLevel"], f["maxLevel"])
    if kind == "identify":
        return t + struct.pack(">IH", f["ref"], f["durationSeconds"])
    if kind == "reboot":
        return t + struct.pack(">I", f["ref"])
    if kind == "rekey":
        return t + struct.pack(">II", f["ref"], f["generation"]) + bytes.fromhex(f["wrappedKey"])
    if kind == "programHeader":
        pages = (f["entryCount"] + 15) // 16
        return (t + struct.pack(">IBBHii", f["revision"], f["entryCount"], pages, f["skipShorterMinutes"],
                                f["latitude"], f["longitude"]) + short_string(f["timeZone"]))
    if kind == "programPage":
        out = t + struct.pack(">IBB", f["revision"], f["page"], len(f["entries"]))
        for entry in f["entries"]:
            out += struct.pack(">BhHBBBBBB", entry["trigger"], entry["offset"], entry["level"], entry["fade"], entry["days"],
                               entry["fromMonth"], entry["fromDay"], entry["toMonth"], entry["toDay"])
        return out
    raise ValueError(kind)


def hello_signed(f):
    """Every byte of the hello before the MAC (SPEC.md 4.2 and 5.2): from minor 2 on the fleet epoch
    follows the client nonce, and fields of a later minor follow it; the MAC is always last."""
    out = (bytes([0x02, f["minorVersion"]]) + short_string(f["lampID"]) + short_string(f["firmware"])
           + struct.pack(">HIIII", f["capabilities"], f["appliedVersion"], f["configVersion"],
                         f["programRevision"], f["clock"])
           + bytes.fromhex(f["clientNonce"]))
    if f["minorVersion"] >= 2:
        out += bytes.fromhex(f["fleetEpoch"])
    return out + bytes.fromhex(f.get("laterFields", ""))


def welcome_signed(f):
    """Every byte of the welcome before the proof (SPEC.md 5.3): the minor-2 layout adds the fleet
    epoch (present in f), a later minor adds fields after it; the proof is always last."""
    out = bytes([0x03]) + struct.pack(">QHH", f["timeMilliseconds"], f["reportIntervalSeconds"],
                                      f["pingIntervalSeconds"])
    if "fleetEpoch" in f:
        out += bytes.fromhex(f["fleetEpoch"])
    return out + bytes.fromhex(f.get("laterFields", ""))


# --- SPEC.md section 4: keys and MACs -------------------------------------------------------

def lamp_key(master, lamp_id):
    return hmac.new(master, b"lamplighter/v1/lamp-key\x00" + lamp_id.encode("ascii"), hashlib.sha256).digest()


def lamp_key_generation(master, lamp_id, generation):
    """Section 4.1: generation 0 is lamp_key; from 1 the id is followed by 0x00 and the generation (u32)."""
    if generation == 0:
        return lamp_key(master, lamp_id)
    return hmac.new(master, b"lamplighter/v1/lamp-key\x00" + lamp_id.encode("ascii") + b"\x00"
                    + struct.pack(">I", generation), hashlib.sha256).digest()


def rekey_pad(session, ref, generation):
    """Section 8.12: HMAC-SHA256(sessionKey(controller->lamp), "lamplighter/v1/rekey" 0x00 ref generation)."""
    return hmac.new(session, b"lamplighter/v1/rekey\x00" + struct.pack(">II", ref, generation), hashlib.sha256).digest()


def hello_mac(key, server_nonce, fields):
    transcript = b"lamplighter/v1/hello\x00" + server_nonce + hello_signed(fields)
    return hmac.new(key, transcript, hashlib.sha256).digest()[:16]


def welcome_proof(key, client_nonce, server_nonce, fields):
    transcript = b"lamplighter/v1/welcome\x00" + client_nonce + server_nonce + welcome_signed(fields)
    return hmac.new(key, transcript, hashlib.sha256).digest()[:16]


# --- SPEC.md section 4.3: authenticated frames ------------------------------------------------

CONTROLLER_TO_LAMP = 0x01
LAMP_TO_CONTROLLER = 0x02
TAG_LENGTH = 8


def session_key(key, direction, client_nonce, server_nonce):
    """sessionKey(dir) = HMAC-SHA256(lampKey, "lamplighter/v1/session" 0x00 dir clientNonce serverNonce)."""
    return hmac.new(key, b"lamplighter/v1/session\x00" + bytes([direction]) + client_nonce + server_nonce,
                    hashlib.sha256).digest()


def frame_tag(session, counter, message):
    """The first 8 bytes of HMAC-SHA256(sessionKey(dir), counter (u64 big-endian) || message)."""
    return hmac.new(session, struct.pack(">Q", counter) + message, hashlib.sha256).digest()[:TAG_LENGTH]


# --- valid vectors ---------------------------------------------------------------------------

NONCE_A = "00112233445566778899aabbccddeeff"
NONCE_B = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
EPOCH = "4c616d70e1191202"
OTHER_EPOCH = "0123456789abcdef"

HELLO_BASE = dict(minorVersion=0, lampID="lamp-0001", firmware="2.4.1", capabilities=0x003F,
                  appliedVersion=41, configVersion=3, programRevision=7, clock=1796083200,
                  clientNonce=NONCE_B, mac="00" * 16)

STATUS_BASE = dict(appliedVersion=42, level=300, mode=2, lit=True, fading=False, powerDeciwatts=312,
                   energyWattHours=123456, burnSeconds=36000000, faults=0, temperatureCelsius=31,
                   ambientLux=2, programRevision=7, clock=1796083260)

def entry(trigger, offset, level, fade=0, days=0x7F, season=(0, 0, 0, 0)):
    return dict(trigger=trigger, offset=offset, level=level, fade=fade, days=days,
                fromMonth=season[0], fromDay=season[1], toMonth=season[2], toDay=season[3])


# Midnight dimming (SPEC.md section 8.11's example): sunset -10 min 100 %, 23:00 30 %, sunrise +10 min off.
MIDNIGHT_DIMMING = [entry(1, -10, 1000, 100), entry(0, 1380, 300, 100), entry(2, 10, 0)]
HEADER_BASE = dict(revision=9, entryCount=3, skipShorterMinutes=15, latitude=52367600, longitude=4904100,
                   timeZone="CET-1CEST,M3.5.0,M10.5.0/3")

VALID = [
    ("program-header", "programHeader", HEADER_BASE, "midnight dimming in Amsterdam: 3 entries, one page"),
    ("program-header-empty", "programHeader", dict(HEADER_BASE, revision=10, entryCount=0, skipShorterMinutes=0, timeZone="UTC0"),
     "no entries: removes the program"),
    ("program-header-southern-west", "programHeader", dict(HEADER_BASE, entryCount=64, latitude=-33868800, longitude=-58381600,
                                                        timeZone="<-03>3"), "64 entries (4 pages), negative coordinates, quoted zone name"),
    ("program-page", "programPage", dict(revision=9, page=0, entries=MIDNIGHT_DIMMING), "the three entries of midnight dimming"),
    ("program-page-season", "programPage", dict(revision=9, page=3, entries=[
        entry(4, -720, 125, 255, 0x1F, (11, 1, 2, 29)), entry(3, 720, 1000, 0, 0x60), entry(0, 0, 0), entry(0, 1439, 1)]),
     "extremes: dawn -12 h on weekdays from 1 November to 29 February, dusk +12 h at weekends, 00:00 and 23:59"),
    ("challenge-zero-nonce", "challenge", dict(minorVersion=0, serverNonce="00" * 16), "all-zero nonce"),
    ("challenge", "challenge", dict(minorVersion=0, serverNonce=NONCE_A), "typical challenge"),
    ("hello", "hello", HELLO_BASE, "typical hello (MAC not checked by the codec)"),
    ("hello-shortest", "hello", dict(HELLO_BASE, lampID="a", firmware="1", capabilities=0, appliedVersion=0,
                                     configVersion=0, programRevision=0, clock=0), "one-byte id and firmware, fresh lamp"),
    ("hello-longest", "hello", dict(HELLO_BASE, lampID="L" * 32, firmware="~" * 32, capabilities=0xFFFF,
                                    appliedVersion=0xFFFFFFFF, configVersion=0xFFFFFFFF,
                                    programRevision=0xFFFFFFFF, clock=0xFFFFFFFF,
                                    clientNonce="ff" * 16, mac="ff" * 16), "32-byte id and firmware, every field at its maximum, unknown capability bits kept"),
    ("hello-id-alphabet", "hello", dict(HELLO_BASE, lampID="Az09._-", firmware="v 1.0 (beta)"), "every class of id character; firmware may contain spaces"),
    ("welcome", "welcome", dict(timeMilliseconds=1796083200123, reportIntervalSeconds=60, pingIntervalSeconds=20,
                                proof="5a" * 16), "typical welcome"),
    ("hello-1.2", "hello", dict(HELLO_BASE, minorVersion=2, fleetEpoch=EPOCH),
     "a minor-2 lamp: the epoch of the last welcome it accepted follows the client nonce"),
    ("hello-1.2-no-epoch", "hello", dict(HELLO_BASE, minorVersion=2, fleetEpoch="00" * 8, appliedVersion=0,
                                         configVersion=0, programRevision=0),
     "a minor-2 lamp that never accepted a minor-2 welcome: epoch all zeros"),
    ("welcome-edges", "welcome", dict(timeMilliseconds=0xFFFFFFFFFFFFFFFF, reportIntervalSeconds=3600,
                                      pingIntervalSeconds=1, proof="00" * 16), "largest time and report interval, smallest ping interval"),
    ("ack-set-level", "ack", dict(ackedType=0x20, ref=42), "set level version 42 applied"),
    ("ack-event", "ack", dict(ackedType=0x11, ref=0xFFFFFFFF), "controller acknowledges event sequence 4294967295"),
    ("nack-stale", "nack", dict(ackedType=0x20, ref=40, reason=3), "version 40 refused: older than applied"),
    ("nack-unknown-type", "nack", dict(ackedType=0x7F, ref=0, reason=2), "unknown type 0x7f refused"),
    ("nack-future-reason", "nack", dict(ackedType=0x22, ref=9, reason=200), "a reason code this version does not know is kept"),
    ("status", "statusReport", STATUS_BASE, "manual mode at 30 %, lit"),
    ("status-off-program", "statusReport", dict(STATUS_BASE, level=0, mode=0, lit=False, powerDeciwatts=0,
                                                faults=0x0001, temperatureCelsius=-5), "program mode, off by day, lamp failure bit"),
    ("status-unmeasured", "statusReport", dict(STATUS_BASE, temperatureCelsius=None, ambientLux=None, mode=3,
                                               fading=True, clock=0), "fail-safe, fading, no sensors, clock not set"),
    ("status-maximum", "statusReport", dict(appliedVersion=0xFFFFFFFF, level=1000, mode=7, lit=True, fading=True,
                                            powerDeciwatts=0xFFFF, energyWattHours=0xFFFFFFFF,
                                            burnSeconds=0xFFFFFFFF, faults=0xFFFF, temperatureCelsius=127,
                                            ambientLux=65534, programRevision=0xFFFFFFFF, clock=0xFFFFFFFF),
     "every field at its maximum; mode 7 is unknown to v1 and kept"),
    ("status-minimum", "statusReport", dict(appliedVersion=0, level=0, mode=0, lit=False, fading=False,
                                            powerDeciwatts=0, energyWattHours=0, burnSeconds=0, faults=0,
                                            temperatureCelsius=-127, ambientLux=0, programRevision=0, clock=0),
     "every field at its minimum (-127 °C: -128 means unmeasured)"),
    ("event-fault-raised", "event", dict(sequence=1, kind=1, detail=0, time=1796083300), "lamp failure raised"),
    ("event-fault-cleared", "event", dict(sequence=2, kind=2, detail=0, time=1796083400), "lamp failure cleared"),
    ("event-power-up", "event", dict(sequence=3, kind=3, detail=17, time=0), "17th power-up, clock not yet set"),
    ("event-clock-lost", "event", dict(sequence=0xFFFFFFFF, kind=4, detail=0, time=0), "clock lost, last sequence before wrap"),
    ("event-future-kind", "event", dict(sequence=5, kind=99, detail=1, time=1), "unknown kind kept as data"),
    ("set-level", "setLevel", dict(version=42, level=300, fade=20), "30 % over 2 s, version 42"),
    ("set-level-off", "setLevel", dict(version=1, level=0, fade=0), "off at once"),
    ("set-level-full", "setLevel", dict(version=0xFFFFFFFF, level=1000, fade=255), "100 % over 25.5 s, largest version"),
    ("set-level-lowest", "setLevel", dict(version=7, level=1, fade=1), "0.1 %, the lowest lit level"),
    ("switch-on", "switch", dict(version=43, on=True, fade=10), "on over 1 s"),
    ("switch-off", "switch", dict(version=44, on=False, fade=0), "off at once"),
    ("override", "override", dict(version=45, level=1000, fade=30, durationSeconds=7200), "100 % for two hours"),
    ("override-shortest", "override", dict(version=46, level=0, fade=0, durationSeconds=1), "off for one second"),
    ("override-longest", "override", dict(version=47, level=500, fade=255, durationSeconds=2592000), "50 % for 30 days"),
    ("resume-program", "resumeProgram", dict(version=48, fade=50), "resume over 5 s"),
    ("resume-program-immediate", "resumeProgram", dict(version=49, fade=0), "resume at once"),
    ("config", "config", dict(configVersion=4, reportIntervalSeconds=60, failSafeLevel=1000, powerOnLevel=1000,
                              minLevel=10, maxLevel=1000), "typical configuration"),
    ("config-edges", "config", dict(configVersion=0xFFFFFFFF, reportIntervalSeconds=1, failSafeLevel=0,
                                    powerOnLevel=0, minLevel=1, maxLevel=1), "min equals max, shortest interval"),
    ("config-longest-interval", "config", dict(configVersion=1, reportIntervalSeconds=3600, failSafeLevel=500,
                                               powerOnLevel=700, minLevel=1000, maxLevel=1000), "hourly reports, fixed level lamp"),
    ("identify", "identify", dict(ref=9, durationSeconds=30), "blink for 30 s"),
    ("identify-edges", "identify", dict(ref=0xFFFFFFFF, durationSeconds=600), "longest blink"),
    ("identify-shortest", "identify", dict(ref=0, durationSeconds=1), "one second"),
    ("reboot", "reboot", dict(ref=10), "reboot"),
    ("reboot-zero-ref", "reboot", dict(ref=0), "reference 0"),
    ("rekey", "rekey", dict(ref=11, generation=1, wrappedKey=bytes(range(0x40, 0x60)).hex()), "a new key, generation 1"),
    ("rekey-edges", "rekey", dict(ref=0xFFFFFFFF, generation=0xFFFFFFFF, wrappedKey="ff" * 32), "the last generation"),
]


def hello_with_mac():
    """The worked example's hello, with a real MAC."""
    master = bytes(range(32))
    fields = dict(HELLO_BASE)
    fields["mac"] = hello_mac(lamp_key(master, fields["lampID"]), bytes.fromhex(NONCE_A), fields).hex()
    return fields


def valid_vectors():
    out = []
    for name, kind, fields, description in VALID:
        if name == "hello":
            fields = hello_with_mac()
        data = encode(kind, fields)
        out.append(dict(name=name, description=description, type=kind, hex=data.hex(), fields=fields))
    # Forward compatibility (SPEC.md section 9): decodes, but re-encoding gives canonicalHex.
    status = encode("statusReport", STATUS_BASE)
    flagged = bytearray(status)
    flagged[7] |= 0xE0
    out.append(dict(name="status-reserved-flags", type="statusReport", hex=flagged.hex(), fields=STATUS_BASE,
                    canonicalHex=status.hex(),
                    description="reserved state bits 5-7 set by a newer lamp: ignored"))
    out.append(dict(name="set-level-newer-minor", type="setLevel", peerMinorVersion=3,
                    hex=(encode("setLevel", dict(version=42, level=300, fade=20)) + b"\xab\xcd").hex(),
                    fields=dict(version=42, level=300, fade=20),
                    canonicalHex=encode("setLevel", dict(version=42, level=300, fade=20)).hex(),
                    description="a peer at minor 3 appended two bytes: ignored"))
    # SPEC.md section 9: a later minor adds fields before the tag; a receiver keeps them for the MAC.
    hello_new = dict(HELLO_BASE, minorVersion=3, fleetEpoch=EPOCH, laterFields="010203")
    out.append(dict(name="hello-newer-minor", type="hello", hex=encode("hello", hello_new).hex(), fields=hello_new,
                    description="a hello from a minor-3 lamp: three bytes minor 2 does not know lie between the "
                                "fleet epoch and the MAC, kept (the MAC covers them)"))
    for name, fields, minor, description in [
        ("welcome-1.2", dict(timeMilliseconds=1796083200123, reportIntervalSeconds=60, pingIntervalSeconds=20,
                             fleetEpoch=EPOCH, proof="5a" * 16), 2,
         "the minor-2 layout: the fleet epoch between the ping interval and the proof"),
        ("welcome-1.2-edges", dict(timeMilliseconds=0, reportIntervalSeconds=1, pingIntervalSeconds=3600,
                                   fleetEpoch="ff" * 8, proof="00" * 16), 2,
         "smallest time and report interval, largest ping interval and epoch"),
        ("welcome-newer-minor", dict(timeMilliseconds=1796083200123, reportIntervalSeconds=60, pingIntervalSeconds=20,
                                     fleetEpoch=EPOCH, laterFields="abcd", proof="5a" * 16), 3,
         "a minor-3 controller's welcome: two unknown bytes before the proof, kept"),
    ]:
        out.append(dict(name=name, description=description, type="welcome", peerMinorVersion=minor,
                        hex=encode("welcome", fields).hex(), fields=fields))
    challenge_new = dict(minorVersion=3, serverNonce=NONCE_A)
    out.append(dict(name="challenge-newer-minor", type="challenge",
                    hex=(encode("challenge", challenge_new) + b"\x00").hex(), fields=challenge_new,
                    canonicalHex=encode("challenge", challenge_new).hex(),
                    description="a challenge from a minor-3 controller with an extra byte: ignored"))
    return out


# --- invalid vectors -------------------------------------------------------------------------

def invalid_vectors():
    set_level = encode("setLevel", dict(version=42, level=300, fade=20))
    header = encode("programHeader", HEADER_BASE)
    page = encode("programPage", dict(revision=9, page=0, entries=MIDNIGHT_DIMMING))
    status = encode("statusReport", STATUS_BASE)
    hello = encode("hello", HELLO_BASE)
    config = dict(configVersion=4, reportIntervalSeconds=60, failSafeLevel=1000, powerOnLevel=1000,
                  minLevel=10, maxLevel=1000)

    def e(code, offset, field=None, mtype=None):
        d = dict(code=code, offset=offset)
        if field is not None:
            d["field"] = field
        if mtype is not None:
            d["messageType"] = mtype
        return d

    def patched(data, offset, new):
        b = bytearray(data)
        b[offset:offset + len(new)] = new
        return bytes(b)

    v = [
        ("empty", b"", e("empty", 0), "a message must have a type byte"),
        ("unknown-type", bytes([0x7F, 0, 0, 0, 9]), e("unknownType", 0, "type", 0x7F), "type 0x7f: answer with nack(unknownType, ref 9)"),
        ("unknown-type-zero", bytes([0x00]), e("unknownType", 0, "type", 0x00), "type 0 is never used"),
        ("reserved-program-type", bytes([0x32, 0, 0, 0, 1, 0]), e("unknownType", 0, "type", 0x32), "0x32-0x3f are reserved for later program frames"),
        ("program-header-page-count", patched(header, 6, b"\x02"), e("outOfRange", 6, "pageCount", 0x30), "3 entries take 1 page, not 2"),
        ("program-header-too-many", patched(header, 5, bytes([65])), e("outOfRange", 5, "entryCount", 0x30), "at most 64 entries"),
        ("program-header-skip", patched(header, 7, struct.pack(">H", 721)), e("outOfRange", 7, "skipShorterMinutes", 0x30), "at most 12 h"),
        ("program-header-latitude", patched(header, 9, struct.pack(">i", 90000001)), e("outOfRange", 9, "latitude", 0x30), "beyond the pole"),
        ("program-header-longitude", patched(header, 13, struct.pack(">i", -180000001)), e("outOfRange", 13, "longitude", 0x30), "beyond -180"),
        ("program-header-zone-space", patched(header, 21, b" "), e("invalidCharacter", 21, "timeZone", 0x30), "a TZ rule has no spaces"),
        ("program-header-zone-empty", header[:17] + b"\x00", e("badLength", 17, "timeZone", 0x30), "a TZ rule has 1 to 63 bytes"),
        ("program-page-empty", bytes([0x31, 0, 0, 0, 9, 0, 0]), e("outOfRange", 6, "count", 0x31), "a page has 1 to 16 entries"),
        ("program-page-seventeen", bytes([0x31, 0, 0, 0, 9, 0, 17]) + page[7:18] * 17, e("outOfRange", 6, "count", 0x31), "a page has 1 to 16 entries"),
        ("program-page-number", patched(page, 5, b"\x04"), e("outOfRange", 5, "page", 0x31), "64 entries fill pages 0 to 3"),
        ("program-page-time-offset", patched(page, 19, struct.pack(">h", 1440)), e("outOfRange", 19, "offset", 0x31), "a local time is 00:00 to 23:59 (the second entry)"),
        ("program-page-solar-offset", patched(page, 8, struct.pack(">h", -721)), e("outOfRange", 8, "offset", 0x31), "a solar offset is at most 12 h"),
        ("program-page-level", patched(page, 10, struct.pack(">H", 1001)), e("outOfRange", 10, "level", 0x31), "1001 is not a level"),
        ("program-page-no-days", patched(page, 13, b"\x00"), e("outOfRange", 13, "days", 0x31), "an entry applies on at least one day"),
        ("program-page-reserved-day-bit", patched(page, 13, b"\xff"), e("outOfRange", 13, "days", 0x31), "bit 7 is not a day"),
        ("program-page-season", patched(page, 14, bytes([2, 30, 3, 1])), e("outOfRange", 14, "season", 0x31), "there is no 30 February"),
        ("program-page-truncated", page[:-3], e("truncated", len(page) - 3, "fromDay", 0x31), "the last entry is cut short"),
        ("set-level-truncated", set_level[:5], e("truncated", 5, "level", 0x20), "level missing"),
        ("set-level-truncated-one-byte", set_level[:7], e("truncated", 7, "fade", 0x20), "fade missing"),
        ("set-level-level-above-1000", patched(set_level, 5, struct.pack(">H", 1001)), e("outOfRange", 5, "level", 0x20), "1001 is not a level"),
        ("set-level-level-ffff", patched(set_level, 5, b"\xff\xff"), e("outOfRange", 5, "level", 0x20), "65535 is not a level"),
        ("set-level-trailing", set_level + b"\x00", e("trailingBytes", 8, None, 0x20), "one byte too many from a v1.0 peer"),
        ("switch-bad-on", encode("switch", dict(version=1, on=True, fade=0))[:5] + b"\x02\x00", e("outOfRange", 5, "on", 0x21), "on must be 0 or 1"),
        ("override-zero-duration", encode("override", dict(version=1, level=10, fade=0, durationSeconds=1))[:8] + struct.pack(">I", 0), e("outOfRange", 8, "durationSeconds", 0x22), "an override lasts at least 1 s"),
        ("override-too-long", encode("override", dict(version=1, level=10, fade=0, durationSeconds=1))[:8] + struct.pack(">I", 2592001), e("outOfRange", 8, "durationSeconds", 0x22), "at most 30 days"),
        ("config-zero-interval", encode("config", dict(config, reportIntervalSeconds=0)), e("outOfRange", 5, "reportIntervalSeconds", 0x24), "reports at least every 3600 s, at most every 1 s"),
        ("config-min-zero", encode("config", dict(config, minLevel=0)), e("outOfRange", 11, "minLevel", 0x24), "the minimum lit level is at least 0.1 %"),
        ("config-max-below-min", encode("config", dict(config, minLevel=500, maxLevel=400)), e("outOfRange", 13, "maxLevel", 0x24), "max below min"),
        ("config-fail-safe-above-1000", encode("config", dict(config, failSafeLevel=1001)), e("outOfRange", 7, "failSafeLevel", 0x24), "not a level"),
        ("identify-zero", encode("identify", dict(ref=1, durationSeconds=0)), e("outOfRange", 5, "durationSeconds", 0x25), "at least 1 s"),
        ("identify-too-long", encode("identify", dict(ref=1, durationSeconds=601)), e("outOfRange", 5, "durationSeconds", 0x25), "at most 600 s"),
        ("welcome-zero-report-interval", encode("welcome", dict(timeMilliseconds=1, reportIntervalSeconds=0, pingIntervalSeconds=20, proof="00" * 16)), e("outOfRange", 9, "reportIntervalSeconds", 0x03), "interval 0"),
        ("welcome-ping-too-long", encode("welcome", dict(timeMilliseconds=1, reportIntervalSeconds=60, pingIntervalSeconds=3601, proof="00" * 16)), e("outOfRange", 11, "pingIntervalSeconds", 0x03), "interval above 3600"),
        ("status-level-above-1000", patched(status, 5, struct.pack(">H", 1200)), e("outOfRange", 5, "level", 0x10), "1200 is not a level"),
        ("status-truncated", status[:30], e("truncated", 27, "clock", 0x10), "the clock needs 4 bytes, 3 remain"),
        ("status-trailing", status + b"\xff\xff", e("trailingBytes", 31, None, 0x10), "garbage after a complete report"),
        ("hello-id-empty", bytes([0x02, 0x00, 0x00]) + hello[13:], e("badLength", 2, "lampID", 0x02), "an id has 1 to 32 bytes"),
        ("hello-id-too-long", bytes([0x02, 0x00, 33]) + b"L" * 33 + hello[12:], e("badLength", 2, "lampID", 0x02), "33 bytes"),
        ("hello-id-bad-character", patched(hello, 7, b"/"), e("invalidCharacter", 7, "lampID", 0x02), "'/' is not allowed in an id"),
        ("hello-id-length-beyond-end", bytes([0x02, 0x00, 0x20, 0x61, 0x62]), e("truncated", 3, "lampID", 0x02), "announces 32 bytes, 2 follow"),
        ("hello-firmware-control-character", patched(hello, 13, b"\n"), e("invalidCharacter", 13, "firmware", 0x02), "firmware is printable ASCII"),
        ("hello-truncated-mac", hello[:-1], e("truncated", len(hello) - 16, "mac", 0x02), "the MAC needs 16 bytes, 15 remain"),
        ("challenge-truncated", bytes([0x01, 0x00]) + b"\x11" * 15, e("truncated", 2, "serverNonce", 0x01), "nonce needs 16 bytes"),
        ("challenge-trailing", encode("challenge", dict(minorVersion=0, serverNonce=NONCE_A)) + b"\x00", e("trailingBytes", 18, None, 0x01), "a minor-0 challenge has exactly 18 bytes"),
        ("ack-truncated", bytes([0x04, 0x20, 0x00, 0x00]), e("truncated", 2, "ref", 0x04), "ref needs 4 bytes"),
        ("nack-truncated", bytes([0x05, 0x20, 0, 0, 0, 1]), e("truncated", 6, "reason", 0x05), "reason missing"),
        ("event-truncated", encode("event", dict(sequence=1, kind=1, detail=0, time=1))[:8], e("truncated", 6, "detail", 0x11), "detail needs 2 bytes, 2 remain but time is missing too: detail read, then time"),
        ("reboot-trailing", encode("reboot", dict(ref=1)) + b"\x00\x00\x00", e("trailingBytes", 5, None, 0x26), "extra bytes"),
        ("rekey-generation-zero", encode("rekey", dict(ref=1, generation=0, wrappedKey="00" * 32)),
         e("outOfRange", 5, "generation", 0x27), "generation 0 is the key every lamp starts with: never sent"),
        ("rekey-truncated-key", encode("rekey", dict(ref=1, generation=1, wrappedKey="00" * 32))[:-1],
         e("truncated", 9, "wrappedKey", 0x27), "the wrapped key needs 32 bytes, 31 remain"),
        ("rekey-trailing", encode("rekey", dict(ref=1, generation=1, wrappedKey="00" * 32)) + b"\x00",
         e("trailingBytes", 41, None, 0x27), "a rekey has exactly 41 bytes"),
        ("oversize", bytes([0x20]) + b"\x00" * 1024, e("oversize", 1024, None, 0x20), "1025 bytes: larger than the 1024-byte limit"),
        ("oversize-unknown-type", bytes([0x99]) + b"\x00" * 4095, e("oversize", 1024, None, 0x99), "size is checked before the type"),
        ("type-only", bytes([0x20]), e("truncated", 1, "version", 0x20), "type byte alone"),
        ("resume-truncated", bytes([0x23, 0, 0, 0, 1]), e("truncated", 5, "fade", 0x23), "fade missing"),
    ]
    # Fix the one whose expectation is easier computed than written by hand.
    fixed = []
    for name, data, error, description in v:
        if name == "event-truncated":
            data = encode("event", dict(sequence=1, kind=1, detail=0, time=1))[:9]
            error = e("truncated", 8, "time", 0x11)
            description = "time needs 4 bytes, 1 remains"
        fixed.append(dict(name=name, description=description, hex=data.hex(), error=error))
    # Protocol 1.2 (SPEC.md 5.2, 5.3, 9): layouts that depend on the minor version.
    hello2 = encode("hello", dict(HELLO_BASE, minorVersion=2, fleetEpoch=EPOCH))
    hello1 = encode("hello", dict(HELLO_BASE, minorVersion=1))
    hello3 = encode("hello", dict(HELLO_BASE, minorVersion=3, fleetEpoch=EPOCH, laterFields="01"))
    welcome1 = encode("welcome", dict(timeMilliseconds=1, reportIntervalSeconds=60, pingIntervalSeconds=20, proof="00" * 16))
    epoch_at = len(hello1) - 16
    for name, data, minor, error, description in [
        ("hello-1.2-truncated-epoch", hello2[:epoch_at + 4], 0, e("truncated", epoch_at, "fleetEpoch", 0x02),
         "a minor-2 hello carries 8 bytes of fleet epoch after the client nonce; 4 follow"),
        ("hello-1.2-trailing", hello2 + b"\x00", 0, e("trailingBytes", len(hello2), None, 0x02),
         "the MAC is the last byte of a minor-2 hello to a minor-2 receiver"),
        ("hello-1.1-with-epoch", hello1 + bytes.fromhex(EPOCH), 0, e("trailingBytes", len(hello1), None, 0x02),
         "a minor-1 hello has no fleet epoch: the 8 bytes after its MAC are an error"),
        ("hello-newer-minor-short", hello3[:epoch_at + 8 + 10], 0, e("truncated", epoch_at + 8, "mac", 0x02),
         "a minor-3 hello needs at least 16 bytes after the fields minor 2 knows, for the MAC"),
        ("welcome-1.1-read-as-1.2", welcome1, 2, e("truncated", 21, "proof", 0x03),
         "a 29-byte welcome decoded in the minor-2 layout: 8 bytes become the epoch, the proof runs short"),
    ]:
        fixed.append(dict(name=name, description=description, hex=data.hex(), error=error, peerMinorVersion=minor))
    return fixed


# --- authentication vectors (SPEC.md section 4) ----------------------------------------------

def auth_vectors():
    """Each vector: a hello with its MAC and the welcome that answers it with its proof. The welcome
    has the layout of the lower of the controller's minor (2) and the hello's (SPEC.md 5.3), given as
    welcomeMinorVersion: decode it with that as the peer's minor."""
    out = []
    cases = [
        (bytes(range(32)).hex(), "lamp-0001", {}, "a minor-0 lamp: the 1.0 and 1.1 layouts"),
        ("aa" * 16, "a", {}, "shortest id, 16-byte master key"),
        (bytes(range(64)).hex(), "L" * 32, {}, "longest id, 64-byte master key"),
        (bytes(range(32)).hex(), "lamp-0001", dict(minorVersion=1), "a minor-1 lamp: no epoch, 29-byte welcome"),
        (bytes(range(32)).hex(), "lamp-0001", dict(minorVersion=2, fleetEpoch=OTHER_EPOCH),
         "a minor-2 lamp from another database: both messages carry an epoch, the MAC and proof cover it"),
        (bytes(range(32)).hex(), "lamp-0001", dict(minorVersion=3, fleetEpoch=EPOCH, laterFields="c0ffee"),
         "a minor-3 lamp: three bytes after the epoch, before the MAC, covered by it; the minor-2 welcome answers"),
    ]
    for master_hex, lamp_id, extra, description in cases:
        master = bytes.fromhex(master_hex)
        key = lamp_key(master, lamp_id)
        hello = dict(HELLO_BASE, lampID=lamp_id, **extra)
        hello["mac"] = hello_mac(key, bytes.fromhex(NONCE_A), hello).hex()
        welcome_minor = min(2, hello["minorVersion"])
        welcome = dict(timeMilliseconds=1796083200123, reportIntervalSeconds=60, pingIntervalSeconds=20)
        if welcome_minor >= 2:
            welcome["fleetEpoch"] = EPOCH
        proof = welcome_proof(key, bytes.fromhex(hello["clientNonce"]), bytes.fromhex(NONCE_A), welcome)
        welcome["proof"] = proof.hex()
        out.append(dict(description=description, masterKey=master_hex, lampID=lamp_id, lampKey=key.hex(),
                        serverNonce=NONCE_A, hello=hello, helloHex=encode("hello", hello).hex(), welcome=welcome,
                        welcomeHex=encode("welcome", welcome).hex(), welcomeMinorVersion=welcome_minor))
    return out


# --- DALI mapping (SPEC.md section 6.2) -------------------------------------------------------

def dali_vectors():
    import math

    def arc(level):
        return 0 if level == 0 else max(1, min(254, math.floor(1 + 253 * math.log10(level) / 3 + 0.5)))

    def level(n):
        return 0 if n == 0 else round(10 ** (3 * (n - 1) / 253))

    return dict(
        levelToArc=[[lv, arc(lv)] for lv in (0, 1, 2, 3, 5, 10, 32, 50, 100, 229, 300, 500, 700, 972, 999, 1000)],
        arcToLevel=[[n, level(n)] for n in (0, 1, 2, 50, 100, 128, 150, 200, 229, 253, 254)],
    )


# --- the worked example of SPEC.md section 12 --------------------------------------------------

def session_example():
    master = bytes(range(32))
    key = lamp_key(master, "lamp-0001")
    server_nonce = bytes.fromhex(NONCE_A)
    challenge = encode("challenge", dict(minorVersion=2, serverNonce=NONCE_A))
    hello = dict(HELLO_BASE, minorVersion=2, fleetEpoch=EPOCH)
    hello["mac"] = hello_mac(key, server_nonce, hello).hex()
    welcome = dict(timeMilliseconds=1796083200123, reportIntervalSeconds=60, pingIntervalSeconds=20, fleetEpoch=EPOCH)
    welcome["proof"] = welcome_proof(key, bytes.fromhex(hello["clientNonce"]), server_nonce, welcome).hex()
    status_before = dict(STATUS_BASE, appliedVersion=41, level=1000, mode=0, powerDeciwatts=1040, clock=1796083200)
    set_level = dict(version=42, level=300, fade=20)
    # Right after the ack the 2 s fade has only begun: level 1000 so far, fading (section 7.1).
    status_fading = dict(STATUS_BASE, level=1000, fading=True, powerDeciwatts=1040, clock=1796083201)
    # When the fade ends the lamp reports again: 300, not fading.
    status_after = dict(STATUS_BASE, clock=1796083203)
    handshake = [
        ("controller", "challenge", challenge),
        ("lamp", "hello", encode("hello", hello)),
        ("controller", "welcome", encode("welcome", welcome)),
    ]
    # Section 4.3: every later message ends with an 8-byte tag under its direction's session key,
    # over the sender's implicit counter (0 for its first message after the welcome) and the message.
    client_nonce = bytes.fromhex(hello["clientNonce"])
    keys = {
        "controller": session_key(key, CONTROLLER_TO_LAMP, client_nonce, server_nonce),
        "lamp": session_key(key, LAMP_TO_CONTROLLER, client_nonce, server_nonce),
    }
    after = [
        ("lamp", "statusReport", encode("statusReport", status_before)),
        ("controller", "setLevel", encode("setLevel", set_level)),
        ("lamp", "ack", encode("ack", dict(ackedType=0x20, ref=42))),
        ("lamp", "statusReport", encode("statusReport", status_fading)),
        ("lamp", "statusReport", encode("statusReport", status_after)),
    ]
    counters = {"controller": 0, "lamp": 0}
    steps = [dict(sender=a, type=b, hex=c.hex()) for a, b, c in handshake]
    wire = []
    for sender, kind, message in after:
        counter = counters[sender]
        counters[sender] += 1
        tag = frame_tag(keys[sender], counter, message)
        steps.append(dict(sender=sender, type=kind, hex=(message + tag).hex(), messageHex=message.hex(),
                          counter=counter, tag=tag.hex()))
        wire.append((sender, counter, message + tag))
    # Frames a receiver MUST refuse (close 4006, section 4.3), each where it would arrive.
    set_level_wire = wire[1][2]
    forged_level = encode("setLevel", dict(set_level, level=1000))
    rejected = [
        dict(description="a man in the middle rewrote the setLevel's level (300 -> 1000) and kept its tag",
             receiver="lamp", counter=0, hex=(forged_level + set_level_wire[-TAG_LENGTH:]).hex()),
        dict(description="the setLevel with one bit of its tag flipped",
             receiver="lamp", counter=0, hex=(set_level_wire[:-1] + bytes([set_level_wire[-1] ^ 0x01])).hex()),
        dict(description="the lamp's first status report (counter 0) replayed after its ack (counter 1): "
                         "same bytes, expected at counter 2",
             receiver="controller", counter=2, hex=wire[0][2].hex()),
        dict(description="two frames swapped: the lamp's counter-3 report arrives where counter 2 is expected",
             receiver="controller", counter=2, hex=wire[4][2].hex()),
        dict(description="the setLevel without its tag", receiver="lamp", counter=0, hex=set_level_wire[:-TAG_LENGTH].hex()),
        dict(description="a message too short to hold a type byte and a tag (8 bytes)",
             receiver="controller", counter=0, hex=wire[2][2][:TAG_LENGTH].hex()),
        dict(description="the setLevel sealed with the lamp-to-controller key: a frame reflected to the other "
                         "direction fails", receiver="lamp", counter=0,
             hex=(set_level_wire[:-TAG_LENGTH] + frame_tag(keys["lamp"], 0, set_level_wire[:-TAG_LENGTH])).hex()),
    ]
    return dict(masterKey=master.hex(), lampID="lamp-0001", lampKey=key.hex(),
                serverNonce=server_nonce.hex(), clientNonce=client_nonce.hex(),
                sessionKeys=dict(controllerToLamp=keys["controller"].hex(), lampToController=keys["lamp"].hex()),
                steps=steps, rejected=rejected)


def rekey_example():
    """Section 8.12 on the link of section 12: after the setLevel (controller counter 0) the
    controller sends a rekey to generation 1 (counter 1); the lamp acks it (its counter 4)."""
    example = session_example()
    master = bytes.fromhex(example["masterKey"])
    to_lamp = bytes.fromhex(example["sessionKeys"]["controllerToLamp"])
    to_controller = bytes.fromhex(example["sessionKeys"]["lampToController"])
    ref, generation = 43, 1
    new_key = lamp_key_generation(master, "lamp-0001", generation)
    pad = rekey_pad(to_lamp, ref, generation)
    wrapped = bytes(a ^ b for a, b in zip(new_key, pad))
    message = encode("rekey", dict(ref=ref, generation=generation, wrappedKey=wrapped.hex()))
    tag = frame_tag(to_lamp, 1, message)
    ack = encode("ack", dict(ackedType=0x27, ref=ref))
    ack_tag = frame_tag(to_controller, 4, ack)
    derivations = []
    for master_hex, lamp_id, gen in [(bytes(range(32)).hex(), "lamp-0001", 0), (bytes(range(32)).hex(), "lamp-0001", 1),
                                     (bytes(range(32)).hex(), "lamp-0001", 2), ("aa" * 16, "a", 0xFFFFFFFF),
                                     (bytes(range(64)).hex(), "L" * 32, 7)]:
        derivations.append(dict(masterKey=master_hex, lampID=lamp_id, generation=gen,
                                lampKey=lamp_key_generation(bytes.fromhex(master_hex), lamp_id, gen).hex()))
    return dict(derivations=derivations, rekey=dict(
        masterKey=master.hex(), lampID="lamp-0001", oldLampKey=example["lampKey"],
        clientNonce=example["clientNonce"], serverNonce=example["serverNonce"],
        controllerToLamp=to_lamp.hex(), lampToController=to_controller.hex(),
        ref=ref, generation=generation, newLampKey=new_key.hex(), pad=pad.hex(), wrappedKey=wrapped.hex(),
        counter=1, messageHex=message.hex(), tag=tag.hex(), hex=(message + tag).hex(),
        ackCounter=4, ackHex=(ack + ack_tag).hex()))


def write(name, obj):
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    valid, invalid = valid_vectors(), invalid_vectors()
    write("messages.json", dict(protocol="lamplighter.v1", minorVersion=2, description="Valid messages: decode hex "
                                "with peerMinorVersion (default 0) to fields; encode fields to canonicalHex if "
                                "present, else hex.", vectors=valid))
    write("invalid.json", dict(protocol="lamplighter.v1", minorVersion=2, description="Invalid messages and the "
                               "exact error a minor-2 decoder reports (code, byte offset, field, message type), "
                               "decoding with peerMinorVersion (default 0).", vectors=invalid))
    write("auth.json", dict(protocol="lamplighter.v1", description="Lamp key derivation, hello MAC and welcome "
                            "proof (SPEC.md section 4).", vectors=auth_vectors()))
    write("dali.json", dict(protocol="lamplighter.v1", description="Level (per mille) to DALI arc power and back "
                            "(SPEC.md section 6.2).", **dali_vectors()))
    write("session.json", dict(protocol="lamplighter.v1", description="The worked example of SPEC.md section 12: "
                               "one link from challenge to an acknowledged set-level command. After the welcome, hex is the "
                               "message as sent: messageHex and its 8-byte tag (section 4.3) under the sender's "
                               "session key and counter. rejected: frames the receiver must refuse (close 4006) when "
                               "it expects the given counter.", **session_example()))
    write("rekey.json", dict(protocol="lamplighter.v1", description="Lamp keys of later generations (SPEC.md "
                             "section 4.1) and a rekey request (section 8.12) on the link of section 12: sent at the "
                             "controller's counter 1 after the setLevel, answered by the lamp's ack at its counter 4. "
                             "hex is the message as sent, tag included.", **rekey_example()))
    print(f"{len(valid)} valid, {len(invalid)} invalid message vectors, {len(auth_vectors())} auth vectors")
