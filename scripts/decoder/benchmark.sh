#!/usr/bin/env bash
# Decoder benchmark (issue #3): decodes the .text of host binaries (/usr/bin/* by default,
# found through ELF section headers) in a linear sweep with the swiftpc decoder built -O,
# and with iced-x86's Python binding on the same bytes. Prints instructions per second.
#   scripts/decoder/benchmark.sh [MAX_CORPUS_MB]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
max_mb="${1:-64}"
python3 "$root/scripts/decoder/extract_text.py" "$work/corpus.full" /usr/bin/* > "$work/info"
head -c $((max_mb * 1024 * 1024)) "$work/corpus.full" > "$work/corpus"
echo "corpus: $(wc -c < "$work/corpus") bytes of .text from $(cut -d' ' -f2 < "$work/info") ELF files"
cd "$work"  # swiftc leaves module files in the current directory
# One -O whole-module build of the decoder sources plus the benchmark driver (no package change).
flock /tmp/swiftpc-build.lock swiftc -O -wmo -parse-as-library -module-name X86DecoderBench \
    "$root"/Sources/X86Decoder/*.swift "$root"/Sources/X86Decoder/Generated/*.swift \
    "$root/scripts/decoder/bench_main.swift" -o "$work/bench"
"$work/bench" "$work/corpus" 5
if python3 -c 'import iced_x86' 2>/dev/null; then
    python3 "$root/scripts/decoder/iced_bench.py" "$work/corpus"
else
    echo "iced-x86 not installed: pip install iced-x86"
fi
