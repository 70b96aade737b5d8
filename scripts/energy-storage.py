#!/usr/bin/env python3
"""Measures what hourly energy costs on disk: fills a SQLite file with the energy_hour table
exactly as FleetStore's v9 migration makes it (the SQL is read from
Sources/FleetStore/FleetStore.swift, so the two cannot drift) and prints bytes per lamp per
day and what a year of a fleet takes.

Every lamp gets a row for every hour (the worst case: a lamp's 0.5 W controller standby moves
its counter by day too), with night values of a 100 W lamp dimmed by a program (up to
100,000 mWh, 3,600 lit seconds) and day values of standby.

  python3 scripts/energy-storage.py [--lamps 1000] [--days 30] [--fleet 20000]
"""
import argparse
import os
import random
import re
import sqlite3
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def migration_sql():
    source = open(os.path.join(ROOT, "Sources", "FleetStore", "FleetStore.swift"), encoding="utf-8").read()
    match = re.search(r'registerMigration\("v9: hourly energy per lamp"\).*?sql: """(.*?)"""', source, re.S)
    if not match:
        raise SystemExit("the v9 migration was not found in FleetStore.swift")
    return match.group(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lamps", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--fleet", type=int, default=20000)
    args = parser.parse_args()
    random.seed(17)
    directory = tempfile.mkdtemp()
    path = os.path.join(directory, "energy.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE lamp (id TEXT PRIMARY KEY NOT NULL)")
    db.executescript(migration_sql())
    db.executemany("INSERT INTO lamp (id) VALUES (?)", [(f"lamp-{n:05d}",) for n in range(args.lamps)])
    start = 1_796_032_800 // 3600  # 2026-11-30T10:00Z
    # As the daemon writes: every 5 s a batch of every lamp's current hour; here one write per
    # lamp and hour, in hour order, which gives the same pages as the daemon's upserts.
    for hour in range(start, start + args.days * 24):
        night = (hour % 24) >= 16 or (hour % 24) < 8
        rows = []
        for lamp in range(1, args.lamps + 1):
            if night:
                lit = 3600
                full = 100_000
                used = int(full * random.choice([1.0, 0.6, 0.3])) + 500
            else:
                lit, full, used = 0, 0, 500
            rows.append((lamp, hour, used, full, lit))
        db.executemany("INSERT INTO energy_hour (lamp, hour, used, full, lit) VALUES (?, ?, ?, ?, ?)", rows)
        db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("DROP TABLE lamp")
    db.execute("VACUUM")
    db.close()
    # What the energy table and its index take, from SQLite's own page count.
    size = os.path.getsize(path)
    db = sqlite3.connect(path)
    empty = db.execute("PRAGMA page_size").fetchone()[0] * 2
    db.close()
    per_lamp_day = (size - empty) / (args.lamps * args.days)
    year = per_lamp_day * args.fleet * 365
    print(f"{args.lamps} lamps x {args.days} days = {args.lamps * args.days * 24} lamp-hours: {size} bytes")
    print(f"bytes per lamp per day: {per_lamp_day:.0f} ({per_lamp_day / 24:.1f} per lamp-hour, table and index)")
    print(f"a year of {args.fleet} lamps: {year / 1e9:.2f} GB ({year / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
