#!/usr/bin/env bash
# A private PostgreSQL server for the tests (issue 14): its own data folder
# (.build/postgres/data, or LAMPLIGHTER_POSTGRES_DIR/data), its own port (55432, or
# LAMPLIGHTER_POSTGRES_PORT), its unix socket in that folder, trust authentication for local connections only (127.0.0.1 and the
# socket), superuser "lamplighter". Nothing of the machine's own PostgreSQL is used or
# changed; PostgreSQL 15 is installed from Debian's packages when missing.
#
#   scripts/postgres.sh start   starts it (idempotent) and prints its URL
#   scripts/postgres.sh stop    stops it (the data folder stays; a start reuses it)
#   scripts/postgres.sh url     prints its URL
#
# A second server beside the first (the test that restarts one under running daemons makes
# its own): LAMPLIGHTER_POSTGRES_DIR=/tmp/pg LAMPLIGHTER_POSTGRES_PORT=55433 scripts/postgres.sh start
#
# initdb and postgres refuse to run as root: as root, the server runs as the "postgres"
# user (made by Debian's package), which is given the folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root="${LAMPLIGHTER_POSTGRES_DIR:-$PWD/.build/postgres}"
data="$root/data"
port="${LAMPLIGHTER_POSTGRES_PORT:-55432}"
url="postgres://lamplighter@127.0.0.1:$port/postgres"

find_bin() {
    for candidate in /usr/lib/postgresql/*/bin; do
        [ -x "$candidate/initdb" ] && bin="$candidate"
    done
    [ -n "${bin:-}" ]
}

install_postgres() {
    if find_bin; then return; fi
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 ||
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql
    # Debian's package starts its own cluster on 5432; ours does not need it.
    find_bin || { echo "postgres.sh: PostgreSQL was installed but no initdb was found under /usr/lib/postgresql" >&2; exit 1; }
}

# Runs a PostgreSQL program as the server's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
    install_postgres
    mkdir -p "$root"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "postgres.sh: running as root needs the 'postgres' user (Debian's postgresql package makes it)" >&2; exit 1; }
        chown postgres: "$root"
        runuser -u postgres -- test -w "$root" || {
            echo "postgres.sh: the postgres user cannot reach $root (a parent folder closed to others?): clone the repository where it can" >&2
            exit 1
        }
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$data" -U lamplighter --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$root/initdb.log" 2>&1 ||
            { cat "$root/initdb.log" >&2; exit 1; }
    fi
    if ! running; then
        # Local connections only: TCP on 127.0.0.1 and the socket in this folder.
        as_owner "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$root' -c max_connections=200" start >/dev/null ||
            { tail -20 "$root/server.log" >&2; exit 1; }
    fi
    echo "$url"
}

stop() {
    find_bin || exit 0
    if running; then
        as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$url" ;;
    *) echo "usage: scripts/postgres.sh start|stop|url" >&2; exit 64 ;;
esac
