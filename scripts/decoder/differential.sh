#!/usr/bin/env bash
# Larger differential run against iced-x86 than the test suite's 100,000 per mode:
#   scripts/decoder/differential.sh [COUNT_PER_MODE] [SEED]
# Generates COUNT sequences per mode with iced's verdicts, then runs the Swift differential
# tests (release build) on those files. Any disagreement fails with a sample.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
count="${1:-1000000}"
seed="${2:-$RANDOM}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "differential: $count sequences per mode, seed $seed"
for b in 16 32 64; do
    python3 "$root/scripts/decoder/iced_reference.py" --bits "$b" --count "$count" --seed "$seed" --out "$work/d$b.txt"
done
cd "$root"
flock /tmp/swiftpc-build.lock swift build -c release --build-tests 2>&1 | tail -1
X86_DIFF_FILE_16="$work/d16.txt" X86_DIFF_FILE_32="$work/d32.txt" X86_DIFF_FILE_64="$work/d64.txt" \
    swift test -c release --skip-build --filter DifferentialTests 2>&1 | grep -E "error|disagree|Executed" | head -80
# For a systematic sweep of the opcode spaces (every prefix/map/opcode and a ModRM set; EVEX
# with every map/W/L'L/pp/b) instead of random bytes, see scripts/decoder/iced_sweep.py.
