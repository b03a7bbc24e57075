#!/usr/bin/env bash
# A long run of the conformance suite's random differential runner: random instruction
# streams under KVM (the host CPU as the oracle) and the interpreter, seed after seed, until
# the time budget is spent. Every mismatch is printed shrunk, with its seed, bytes and
# initial state, so that `swiftpc conformance --accel kvm --random N --seed S` reproduces it.
#
#   scripts/conformance-soak.sh [SECONDS] [STREAMS_PER_SEED]    (defaults: 600, 20000)
#
# Exit status: 0 when every seed agreed, 1 when any mismatched, 2 when KVM is not usable.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
streams=${2:-20000}
bin=.build/release/swiftpc
if [ ! -x "$bin" ]; then
    echo "soak: building swiftpc (release)"
    swift build -c release 2>&1 | grep -E "error|Build complete" || true
fi
if [ ! -r /dev/kvm ]; then
    echo "soak: /dev/kvm is not usable; the random runner needs KVM as its oracle" >&2
    exit 2
fi
end=$(( $(date +%s) + budget ))
seed=${SOAK_SEED:-$(date +%s)}
seeds=0
failed=0
echo "soak: ${budget} s budget, ${streams} streams per seed and mode, first seed ${seed}"
while [ "$(date +%s)" -lt "$end" ]; do
    out=$("$bin" conformance --accel kvm --filter random --random "$streams" --seed "$seed" 2>&1)
    status=$?
    seeds=$((seeds + 1))
    echo "$out" | grep -E "^random(64|32):"
    if [ "$status" -ne 0 ]; then
        failed=$((failed + 1))
        echo "$out" | grep -vE "^(engine|kvm\+interp|[0-9]+ passed)"
    fi
    seed=$((seed + 1))
done
echo "soak: ${seeds} seeds, ${failed} with mismatches"
[ "$failed" -eq 0 ]
