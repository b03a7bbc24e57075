#!/bin/sh
# The host-CPU differential test (issue "Interpreter", "Differential against the host CPU")
# with more streams than the unit suite runs: random user-mode integer streams on KVM (the
# host CPU, natively at CPL 3 on kvm_pvm) and on the interpreter, compared register by
# register. Release build with testability, so the interpreter side is fast.
#   scripts/differential.sh [streams] [seed]      (defaults: 1000000, the suite's seed)
set -eu
cd "$(dirname "$0")/.."
export DIFFERENTIAL_STREAMS="${1:-1000000}"
[ $# -ge 2 ] && export DIFFERENTIAL_SEED="$2"
flock /tmp/swiftpc-build.lock swift build -c release -Xswiftc -enable-testing --build-tests 2>&1 | tail -3
flock /tmp/swiftpc-build.lock swift test -c release -Xswiftc -enable-testing --skip-build \
    --filter HostDifferentialTests.testInterpreterMatchesTheHostCPU 2>&1 | grep -v '^\[' | tail -60
