#!/usr/bin/env python3
"""Measures what energy history costs on disk: fills a SQLite file with the energy_day table
exactly as FleetStore's v11 migration makes it (the SQL is read from
Sources/FleetStore/FleetStore+Energy.swift, so the two cannot drift), each row packed as
FleetStore's EnergyDay packs it (an independent encoder here, checked against the golden bytes
that Tests/FleetStoreTests/EnergyDayTests.swift checks too), and prints bytes per lamp per day
and what a year of a fleet takes.

Every lamp gets every hour (the worst case: a lamp's 0.5 W controller standby moves its
counter by day too), with night values of a 100 W lamp dimmed by a program (up to 100,000
mWh, 3,600 lit seconds) and day values of standby.

  python3 scripts/energy-storage.py [--lamps 1000] [--days 30] [--fleet 20000]
  python3 scripts/energy-storage.py --hourly   # the v9 table (one row per lamp-hour), to compare
"""
import argparse
import os
import random
import re
import sqlite3
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

# Hour of day -> (used mWh, full mWh, lit s), or absent; and its packed bytes. The same
# example and bytes are in Tests/FleetStoreTests/EnergyDayTests.swift.
GOLDEN_DAY = {0: (100500, 100000, 3600), 1: (60500, 100000, 3600), 2: (60500, 100000, 3600), 8: (500, 0, 0), 23: (0, 0, 0)}
GOLDEN_BYTES = "e08001a31128a30d409984140e1fc14352fe8c34fe660fc9f380"


def pack_day(hours):
    """Packs {hour of day: (used, full, lit)} as EnergyDay.encoded() does (see its doc comment)."""
    bits = []

    def write(value, count):
        for shift in range(count - 1, -1, -1):
            bits.append((value >> shift) & 1)

    for hour in range(24):
        write(1 if hour in hours else 0, 1)
    previous = (0, 0, 0)
    for hour in sorted(hours):
        for field in range(3):
            difference = hours[hour][field] - previous[field]
            zigzag = (difference << 1) if difference >= 0 else ((-difference) << 1) - 1
            if zigzag == 0:
                write(0, 1)
            else:
                length = zigzag.bit_length()
                write(1, 1)
                write(length - 1, 6)
                write(zigzag, length - 1)
        previous = hours[hour]
    while len(bits) % 8:
        bits.append(0)
    return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


def migration_sql(hourly):
    if hourly:
        source = open(os.path.join(ROOT, "Sources", "FleetStore", "FleetStore.swift"), encoding="utf-8").read()
        match = re.search(r'registerMigration\("v9: hourly energy per lamp"\).*?sql: """(.*?)"""', source, re.S)
    else:
        source = open(os.path.join(ROOT, "Sources", "FleetStore", "FleetStore+Energy.swift"), encoding="utf-8").read()
        match = re.search(r'static let energyDayTableSQL = """(.*?)"""', source, re.S)
    if not match:
        raise SystemExit("the energy table's SQL was not found in Sources/FleetStore")
    return match.group(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lamps", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--fleet", type=int, default=20000)
    parser.add_argument("--hourly", action="store_true", help="measure the v9 table instead")
    args = parser.parse_args()
    if pack_day(GOLDEN_DAY).hex() != GOLDEN_BYTES:
        raise SystemExit(f"the packer disagrees with the golden bytes: {pack_day(GOLDEN_DAY).hex()}")
    random.seed(17)
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "energy.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE lamp (id TEXT PRIMARY KEY NOT NULL)")
    db.executescript(migration_sql(args.hourly))
    db.executemany("INSERT INTO lamp (id) VALUES (?)", [(f"lamp-{n:05d}",) for n in range(args.lamps)])
    start_day = 1_796_032_800 // 86400  # 2026-11-30
    # The same values hour by hour as before (one random draw per lamp and night hour, in
    # hour order); written a day at a time, as the daemon's batches end up.
    for day in range(start_day, start_day + args.days):
        days = {lamp: {} for lamp in range(1, args.lamps + 1)}
        for hour in range(day * 24, day * 24 + 24):
            night = (hour % 24) >= 16 or (hour % 24) < 8
            for lamp in range(1, args.lamps + 1):
                if night:
                    lit = 3600
                    full = 100_000
                    used = int(full * random.choice([1.0, 0.6, 0.3])) + 500
                else:
                    lit, full, used = 0, 0, 500
                days[lamp][hour % 24] = (used, full, lit)
        if args.hourly:
            rows = [(lamp, day * 24 + h, *values) for lamp, hours in days.items() for h, values in hours.items()]
            db.executemany("INSERT INTO energy_hour (lamp, hour, used, full, lit) VALUES (?, ?, ?, ?, ?)", rows)
        else:
            rows = [(lamp, day, pack_day(hours)) for lamp, hours in days.items()]
            db.executemany("INSERT INTO energy_day (lamp, day, hours) VALUES (?, ?, ?)", rows)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("DROP TABLE lamp")
    db.execute("VACUUM")
    db.close()
    # What the energy table (and its index, for --hourly) take, from SQLite's own page count.
    size = os.path.getsize(path)
    db = sqlite3.connect(path)
    empty = db.execute("PRAGMA page_size").fetchone()[0] * 2
    db.close()
    per_lamp_day = (size - empty) / (args.lamps * args.days)
    year = per_lamp_day * args.fleet * 365
    table = "energy_hour (v9)" if args.hourly else "energy_day (v11)"
    print(f"{table}: {args.lamps} lamps x {args.days} days = {args.lamps * args.days * 24} lamp-hours: {size} bytes")
    print(f"bytes per lamp per day: {per_lamp_day:.0f} ({per_lamp_day / 24:.1f} per lamp-hour)")
    print(f"a year of {args.fleet} lamps: {year / 1e9:.2f} GB ({year / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
