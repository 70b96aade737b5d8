#!/usr/bin/env bash
# Checks packaging/lamplighterd.service with systemd-analyze verify, as installed: the unit
# with its prefix filled in, beside a stand-in executable. Skips (exit 0, saying so) where
# systemd-analyze is missing; installs it with --install (apt: the systemd package).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v systemd-analyze >/dev/null; then
    if [ "${1:-}" = "--install" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
    else
        echo "check-systemd-unit: SKIPPED, systemd-analyze is not installed (scripts/check-systemd-unit.sh --install brings it)"
        exit 0
    fi
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
printf '#!/bin/sh\nexit 0\n' > "$work/bin/lamplighterd"
chmod +x "$work/bin/lamplighterd"
sed "s|@PREFIX@|$work|g" packaging/lamplighterd.service > "$work/lamplighterd.service"
# Any complaint about the unit (a misspelt key, a bad value) is a failure, as is a non-zero exit.
status=0
output="$(systemd-analyze verify "$work/lamplighterd.service" 2>&1)" || status=$?
complaints="$(printf '%s\n' "$output" | grep -F 'lamplighterd.service' || true)"
if [ "$status" -ne 0 ] || [ -n "$complaints" ]; then
    printf '%s\n' "$output"
    echo "check-systemd-unit: FAILED"
    exit 1
fi
echo "check-systemd-unit: packaging/lamplighterd.service verified"
