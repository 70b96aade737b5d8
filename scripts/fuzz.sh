#!/usr/bin/env bash
# Fuzzes the LampProtocol decoder with libFuzzer + AddressSanitizer.
#   scripts/fuzz.sh [SECONDS]   (default 60)
# The seed corpus is every vector in Protocol/vectors plus the committed crash cases in
# FuzzTesting/regressions/. A crash leaves its input in FuzzTesting/crashes/: commit it to
# FuzzTesting/regressions/ and LampProtocolTests/FuzzRegressionTests replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
work=FuzzTesting/.build/corpus
rm -rf "$work" && mkdir -p "$work" FuzzTesting/crashes
python3 - "$work" <<'PY'
import json, sys, os, glob
out = sys.argv[1]
n = 0
for path in glob.glob("Protocol/vectors/*.json"):
    data = json.load(open(path))
    for v in data.get("vectors", []):
        for key in ("hex", "helloHex", "welcomeHex"):
            if key in v:
                open(os.path.join(out, f"seed-{n}"), "wb").write(bytes.fromhex(v[key])); n += 1
    for s in data.get("steps", []):
        open(os.path.join(out, f"seed-{n}"), "wb").write(bytes.fromhex(s["hex"])); n += 1
for path in glob.glob("FuzzTesting/regressions/*"):
    open(os.path.join(out, f"seed-{n}"), "wb").write(open(path, "rb").read()); n += 1
print(f"fuzz: {n} seed inputs")
PY
binary=FuzzTesting/.build/fuzz-decoder
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name LampProtocolFuzz \
    Sources/LampProtocol/*.swift Sources/LampProtocol/Messages/*.swift FuzzTesting/FuzzDecoder.swift -o "$binary" 2>&1 | { grep -v "Cannot export local symbol" || true; }
"$binary" "$work" -max_total_time="$seconds" -max_len=1100 -artifact_prefix=FuzzTesting/crashes/ \
    -print_final_stats=1 2>&1 | grep -v "Cannot export local symbol" | tee FuzzTesting/.build/fuzz.log | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|INFO: seed|==.*ERROR)" || true
if grep -q "ERROR" FuzzTesting/.build/fuzz.log; then
    echo "fuzz: the decoder crashed; the input is in FuzzTesting/crashes/" >&2
    exit 1
fi
runs=$(grep -o "stat::number_of_executed_units: [0-9]*" FuzzTesting/.build/fuzz.log | grep -o "[0-9]*$")
echo "fuzz: ${runs:-0} inputs in ${seconds}s, no crash"
