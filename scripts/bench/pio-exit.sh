#!/bin/sh
# Port-I/O exit cost: a minimal C program against swiftpc's KVM engine, same guest loop.
# Usage: scripts/bench/pio-exit.sh [N]      (N exits per measurement, default 200000)
# A benchmark, not a test: it prints figures and never fails on a time.
set -eu
N=${1:-200000}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${TMPDIR:-/tmp}/swiftpc-pio-exit.$$
trap 'rm -f "$out"' EXIT

gcc -O2 -Wall -o "$out" "$here/pio_exit.c"
c_ns=$("$out" "$N")
echo "C (bare KVM_RUN loop):        $c_ns ns/exit"

# swiftpc's own path: `swiftpc bench --pio-exits N` calls KVMBenchmarks.portIORoundTrip and
# prints "swiftpc port-I/O exit round trip: X ns (N exits)" as its last line. Builds share the machine: serialize them.
lock=/tmp/swiftpc-build.lock
build() { if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi; }
if (cd "$root" && build swift build -c release --product swiftpc >/dev/null 2>&1) \
    && swift_out=$("$root/.build/release/swiftpc" bench --pio-exits "$N" 2>/dev/null | tail -1 \
                   | sed -E 's/.*: ([0-9.]+) ns.*/\1/') \
    && [ -n "$swift_out" ] && echo "$swift_out" | grep -Eq '^[0-9]+(\.[0-9]+)?$'; then
    echo "swiftpc (run loop + PortIOBus): $swift_out ns/exit"
    awk -v s="$swift_out" -v c="$c_ns" 'BEGIN { printf "ratio swiftpc/C:               %.2f\n", s / c }'
else
    echo "swiftpc: not measured ('swiftpc bench --pio-exits N' failed; is /dev/kvm usable?)"
fi
