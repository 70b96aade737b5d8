#!/usr/bin/env bash
# The dashboard's browser tests (Tests/Browser/test_dashboard.py): a real lamplighterd, 1,000
# simulated lamps and headless Chromium. Installs what they need when missing: Chromium and
# its driver from Debian's packages, Selenium from PyPI (told where both are, so it never
# downloads a browser or a driver of its own); then builds and runs the tests. The tests stop
# every process they start.
#
#   scripts/browser-test.sh              Chromium (what CI runs)
#   scripts/browser-test.sh --firefox    also Firefox ESR (Debian) through marionette-driver (PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
firefox=no
for argument in "$@"; do
  case "$argument" in
    --firefox) firefox=yes ;;
    *) echo "usage: scripts/browser-test.sh [--firefox]" >&2; exit 64 ;;
  esac
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "browser-test: installing chromium and chromium-driver (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! python3 -c "import selenium" 2>/dev/null; then
  echo "browser-test: installing selenium (pip)"
  # A Debian python3 refuses a plain install (PEP 668): then into the user's site instead.
  python3 -m pip install --quiet --disable-pip-version-check selenium \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages selenium
fi
if [ "$firefox" = yes ]; then
  if ! command -v firefox-esr >/dev/null && ! command -v firefox >/dev/null; then
    echo "browser-test: installing firefox-esr (apt)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq firefox-esr >/dev/null
  fi
  if ! python3 -c "import marionette_driver" 2>/dev/null; then
    echo "browser-test: installing marionette-driver (pip)"
    python3 -m pip install --quiet --disable-pip-version-check marionette-driver \
      || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages marionette-driver
  fi
fi
scripts/setup.sh
# The products of the tests' own build (scripts/build.sh): incremental after scripts/test.sh.
scripts/build.sh --product lamplighterd
scripts/build.sh --product lampsim
scripts/build.sh --product lampctl
export LAMPLIGHTER_PRODUCTS="${LAMPLIGHTER_PRODUCTS:-$(scripts/build.sh --show-bin-path)}"
# Selenium Manager stays offline: the browser and the driver are the ones installed above.
export SE_OFFLINE=true
export CHROMIUM="${CHROMIUM:-$(command -v chromium)}" CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
status=0
python3 Tests/Browser/test_dashboard.py || status=$?
if [ "$firefox" = yes ]; then
  python3 Tests/Browser/firefox_smoke.py || status=$?
fi
exit "$status"
