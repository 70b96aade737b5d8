#!/usr/bin/env bash
# Installs what building and testing Lamplighter needs on a fresh Debian/Ubuntu machine:
# SQLite's headers (GRDB links the system libsqlite3), Python 3 (vector generator, fuzz
# corpus), spin and gcc (Protocol/model/check.sh), openssl (the TLS tests make their
# certificates with it). Does nothing when they are already there.
set -euo pipefail
need=()
[ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v python3 >/dev/null || need+=(python3)
command -v spin >/dev/null || need+=(spin)
command -v gcc >/dev/null || need+=(gcc)
[ -x /usr/bin/openssl ] || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
