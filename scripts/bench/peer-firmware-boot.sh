#!/usr/bin/env bash
# Peer benchmark (not a test): boots guest-images/boot-disk.img — SeaBIOS, SYSLINUX, the
# Debian kernel and the busybox initramfs — on swiftpc (interpreter) and on QEMU with TCG,
# in one run, and prints the time from start to the guest's ready marker (SWIFTPC-INIT-OK),
# the whole self-test, and peak RSS, side by side with ratios.
#
#   bash scripts/bench/peer-firmware-boot.sh
#
# Needs scripts/setup.sh to have run (release binary, boot images); installs qemu-system-x86
# if it is missing. Both emulators get the same image through a read-only / snapshot drive.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELPER="$ROOT/scripts/bench/peer_boot.py"
DISK="$ROOT/guest-images/boot-disk.img"
SWIFTPC="$ROOT/.build/release/swiftpc"
TIMEOUT="${TIMEOUT:-900}"
say() { echo "peer-firmware-boot: $*" >&2; }
[ -f "$DISK" ] || { say "no $DISK: run scripts/setup.sh"; exit 2; }
[ -x "$SWIFTPC" ] || { say "no $SWIFTPC: run scripts/setup.sh"; exit 2; }
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    say "installing qemu-system-x86"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
fi
WORK="$(mktemp -d /tmp/swiftpc-peer-fw.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

say "swiftpc: booting through SeaBIOS (this can take a minute)"
python3 "$HELPER" run --engine swiftpc --timeout "$TIMEOUT" --log "$WORK/swiftpc.log" --loader-marker SYSLINUX -- \
    "$SWIFTPC" run --accel interp -m 256M --disk "$DISK,readonly" >>"$RESULTS"
say "qemu-tcg: booting through SeaBIOS"
python3 "$HELPER" run --engine qemu-tcg --timeout "$TIMEOUT" --log "$WORK/qemu.log" --loader-marker SYSLINUX -- \
    qemu-system-x86_64 -accel tcg -machine pc -m 256 -display none -serial stdio -monitor none -no-reboot \
    -drive "file=$DISK,format=raw,snapshot=on" >>"$RESULTS"
python3 "$HELPER" report --kernel "$(cat "$ROOT/guest-images/bzImage.package" 2>/dev/null || echo '?')" --loop 2000 \
    --append "(from boot-disk.img's syslinux.cfg)" <"$RESULTS"
