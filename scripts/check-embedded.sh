#!/usr/bin/env bash
# Compiles LampProtocol and LightingPrograms as Embedded Swift for the two firmware targets lamps use, so the
# codec the controller runs is the codec a lamp can link (issue: "Embedded Swift").
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for target in riscv32-none-none-eabi armv7em-none-none-eabi; do
    swiftc -target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library \
        -Osize -module-name LampProtocol -c Sources/LampProtocol/*.swift Sources/LampProtocol/Messages/*.swift \
        -o "$out/LampProtocol-$target.o"
    size=$(stat -c %s "$out/LampProtocol-$target.o")
    echo "embedded: LampProtocol compiles for $target (object file $size bytes)"
done
for target in riscv32-none-none-eabi armv7em-none-none-eabi; do
    swiftc -target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library \
        -Osize -module-name LightingPrograms -c Sources/LightingPrograms/*.swift -o "$out/LightingPrograms-$target.o"
    echo "embedded: LightingPrograms compiles for $target (object file $(stat -c %s "$out/LightingPrograms-$target.o") bytes)"
done
