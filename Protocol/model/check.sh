#!/usr/bin/env bash
# Model-checks Protocol/model/link.pml (protocol 1.2's link machine and a lamp) with spin.
#
#   bash Protocol/model/check.sh              the design (must pass), then the broken variants (must fail)
#   bash Protocol/model/check.sh --design     only the design
#   bash Protocol/model/check.sh --mutants    only the broken variants
#
# Every run is exhaustive (no bitstate, no hash compaction). Exits non-zero if the design
# violates a property, if a broken variant is NOT caught, or if any run errs, is cut short
# (search depth, memory) or times out (MODEL_TIMEOUT seconds a run, default 300).
# Needs spin and gcc (Debian: apt-get install spin gcc). See README.md for what is checked.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-all}"
case "$mode" in all | --design | --mutants) ;; *) echo "usage: $0 [--design|--mutants]" >&2; exit 2 ;; esac
timeout_s="${MODEL_TIMEOUT:-300}"
for tool in spin gcc timeout; do
  command -v "$tool" >/dev/null || { echo "model: $tool not found (Debian: apt-get install spin gcc)" >&2; exit 2; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/link.pml" "$work/"

# Scenarios: which faults, how many (README.md "Bounds"). One exhaustive run covers every
# interleaving of every fault of its scenario, at any point.
NET="-DMAX_CMDS=3 -DMAX_LOSS=2 -DMAX_DUP=1 -DMAX_DELAY=1 -DMAX_RECONNECT=1 -DMAX_RESTART=1 -DMAX_RESTORE=0 -DMAX_FRESH=0 -DMAX_BOGUS=0"
DB="-DMAX_CMDS=3 -DMAX_LOSS=1 -DMAX_DUP=0 -DMAX_DELAY=1 -DMAX_RECONNECT=1 -DMAX_RESTART=0 -DMAX_RESTORE=1 -DMAX_FRESH=1 -DMAX_BOGUS=0"
FAULTY="-DMAX_CMDS=3 -DMAX_LOSS=2 -DMAX_DUP=1 -DMAX_DELAY=1 -DMAX_RECONNECT=1 -DMAX_RESTART=1 -DMAX_RESTORE=0 -DMAX_FRESH=0 -DMAX_BOGUS=1"
# Every fault of NET and DB at once, fewer losses: safety only (its liveness run takes minutes).
ALL="-DMAX_CMDS=3 -DMAX_LOSS=1 -DMAX_DUP=1 -DMAX_DELAY=1 -DMAX_RECONNECT=1 -DMAX_RESTART=1 -DMAX_RESTORE=1 -DMAX_FRESH=1 -DMAX_BOGUS=0"

failures=0
printf '%-44s %-7s %-6s %12s %12s %6s %9s\n' "run" "check" "result" "states" "transitions" "depth" "seconds"

# run NAME KIND EXPECT DEFINES: KIND safety (assertions, invariants, end states; shortest:
# the same, searching on for the shortest counterexample), live
# (<>[] converged, every run, including runs that stop), fair (the same under weak fairness);
# EXPECT pass or fail.
run() {
  local name="$1" kind="$2" expect="$3" defs="$4"
  local dir="$work/$name-$kind"
  mkdir -p "$dir"
  cp "$work/link.pml" "$dir/"
  local cflags runflags
  case "$kind" in
    safety) cflags="-DSAFETY -DNOCLAIM"; runflags="" ;;
    # A broken variant: search on for the shortest counterexample (-i), to print it.
    shortest) cflags="-DSAFETY -DNOCLAIM -DREACH"; runflags="-i" ;;
    live) cflags="-DNOFAIR"; runflags="-a -N conv" ;;
    fair) cflags="-DNFAIR=3"; runflags="-a -f -N conv" ;;
  esac
  if ! (cd "$dir" && spin $defs -a link.pml >spin.out 2>&1); then
    echo "model: spin -a failed for $name:"; cat "$dir/spin.out"; failures=$((failures + 1)); return
  fi
  if ! (cd "$dir" && gcc -O2 -w -DMEMLIM=8192 $cflags -o pan pan.c 2>gcc.out); then
    echo "model: gcc failed for $name:"; cat "$dir/gcc.out"; failures=$((failures + 1)); return
  fi
  local status=0
  (cd "$dir" && timeout "$timeout_s" ./pan -m1000000 -w24 $runflags >pan.out 2>&1) || status=$?
  local out="$dir/pan.out"
  local states transitions depth seconds errors result
  states="$(awk '/states, stored/ {print $1; exit}' "$out")"
  transitions="$(awk '/transitions \(=/ {print $1; exit}' "$out")"
  depth="$(sed -n 's/.*depth reached \([0-9]*\).*/\1/p' "$out" | head -1)"
  seconds="$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds.*/\1/p' "$out" | head -1)"
  errors="$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)"
  if [ "$status" -ne 0 ]; then
    result="ERROR"
    echo "model: pan exited with $status for $name ($kind)$([ "$status" -eq 124 ] && echo ": timed out after ${timeout_s}s")"
    tail -20 "$out"
  elif grep -q "max search depth too small\|out of memory\|memory limit\|hash table is full" "$out"; then
    result="ERROR"
    echo "model: the search of $name ($kind) was cut short:"; grep "max search depth too small\|out of memory\|memory limit\|hash table is full" "$out"
  elif [ "$errors" = "0" ]; then
    result="pass"
  elif [ -n "$errors" ]; then
    result="fail"
  else
    result="ERROR"; echo "model: no result from pan for $name ($kind):"; tail -20 "$out"
  fi
  printf '%-44s %-7s %-6s %12s %12s %6s %9s\n' "$name" "$kind" "$(echo "$result" | tr a-z A-Z)" "${states:--}" "${transitions:--}" "${depth:--}" "${seconds:--}"
  if [ "$result" = "fail" ]; then
    # The counterexample, as the model's own event lines (spin replays the trail).
    local what
    what="$(grep -m1 -o 'assertion violated.*\|acceptance cycle.*' "$out" || true)"
    echo "    found: $what"
    (cd "$dir" && spin $defs -t link.pml 2>&1) | grep -E '^ *(OPERATOR|NET|LAMP|L:|C:|CONTROLLER|DB)' | sed 's/^ */      /' || true
  fi
  if [ "$result" != "$expect" ]; then
    [ "$expect" = "fail" ] && [ "$result" = "pass" ] && echo "model: $name ($kind) should FAIL (the broken rule must be caught) but passed"
    failures=$((failures + 1))
  fi
}

if [ "$mode" != "--mutants" ]; then
  echo "== the design (protocol 1.2 rules 1-5 with the restore fix): every property must hold"
  for scenario in NET DB FAULTY; do
    defs="${!scenario}"
    name="design/$(echo "$scenario" | tr 'A-Z' 'a-z')"
    run "$name" safety pass "$defs"
    run "$name" live pass "$defs"
    [ "$scenario" = FAULTY ] || run "$name" fair pass "$defs"
  done
  run "design/all" safety pass "$ALL"
fi

if [ "$mode" != "--design" ]; then
  echo "== broken variants: each must be caught"
  run "ack-out-of-flight/faulty" shortest fail "$FAULTY -DBROKEN_ACK_OUT_OF_FLIGHT"
  run "believe-ahead/db" shortest fail "$DB -DBROKEN_BELIEVE_AHEAD"
  run "lamp-applies-stale/net" shortest fail "$NET -DBROKEN_LAMP_STALE"
  run "no-retry/net" live fail "$NET -DBROKEN_NO_RETRY"
  # The epoch is what makes the briefed hello rule sound across databases: without the restore
  # (which breaks that rule anyway, below) the briefed rules pass, and fail without the epoch.
  run "brief-rules/db-without-restore" safety pass "$DB -DMAX_RESTORE=0 -DBRIEF_RULES"
  run "brief-rules-no-epoch/db-without-restore" shortest fail "$DB -DMAX_RESTORE=0 -DBRIEF_RULES -DBROKEN_NO_EPOCH"
  echo "== the rules exactly as briefed (a hello at the desired version proves it): the restore flaw"
  run "brief-rules/db" shortest fail "$DB -DBRIEF_RULES"
fi

if [ "$failures" -ne 0 ]; then
  echo "model: $failures run(s) did not give the expected result"
  exit 1
fi
echo "model: every run gave the expected result"
