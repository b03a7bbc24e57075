#!/usr/bin/env bash
# Peer boot benchmark (prints figures; it is not a test and passes/fails nothing).
#
# Boots the same Linux guest (guest-images/bzImage + guest-images/initramfs.cpio.gz, built
# by scripts/build-guest-images.sh) with the same kernel command line on three emulators,
# one after the other so that they do not compete for the host's cores:
#
#   swiftpc    .build/release/swiftpc run --accel interp (our interpreter)
#   qemu-tcg   qemu-system-x86_64 -accel tcg (a JIT: the speed to aim for)
#   bochs      Debian's bochs (an interpreter like ours: the closest peer)
#
# The guest's /init (guests/initramfs/init), given `swiftpc.selftest`, prints
# SWIFTPC-INIT-OK, times a busybox shell loop of swiftpc.loop=N iterations itself
# (`SWIFTPC-CHECK loop N <ms>ms`), runs a few more checks, prints SWIFTPC-SELFTEST-DONE
# and powers off. For each engine scripts/bench/peer_boot.py watches the serial output as
# it streams and measures, from the start of the emulator process:
#   ready(s)      time to SWIFTPC-INIT-OK
#   loop(s)       the loop time the guest reported (its own clock)
#   loop-wall(s)  the same loop timed on the host (an emulator's guest clock can drift)
#   total(s)      time to SWIFTPC-SELFTEST-DONE (Bochs: to its poweroff, see below)
#   peakRSS(MiB)  the emulator process's peak resident set (wait4's ru_maxrss)
#   cpu(s)        its user+system CPU time (below the wall time when the host is busy)
# and prints them side by side with swiftpc/peer ratios. The host's other load shows up in
# all of them; run it on a quiet machine for figures to quote.
#
# Usage: scripts/bench/peer-boot.sh [--loop N] [--only swiftpc,qemu,bochs] [--timeout S]
#   --loop N      iterations of the guest's shell loop (default 200000)
#   --only LIST   comma-separated subset of swiftpc, qemu, bochs (default: all three)
#   --timeout S   per-engine limit in seconds (default 900)
#   --swiftpc P   the swiftpc binary (default .build/release/swiftpc)
#   --images DIR  where bzImage and initramfs.cpio.gz are (default guest-images/); both
#                 options let a git worktree without its own build use the main checkout's
#
# Missing QEMU/Bochs tools are installed with apt-get when running as root; an engine that
# cannot be installed or run gets a row saying so instead of numbers. Generated files (the
# Bochs disk image, logs) go to a temporary directory that is removed at the end, or kept
# with PEER_BOOT_KEEP=1 to look at the serial logs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELPER="$ROOT/scripts/bench/peer_boot.py"
SWIFTPC="$ROOT/.build/release/swiftpc"
IMAGES="$ROOT/guest-images"

LOOP=200000
BOCHS_IPS="${BOCHS_IPS:-60000000}"
ONLY="swiftpc,qemu,bochs"
TIMEOUT=900

die() { echo "peer-boot: error: $*" >&2; exit 1; }
say() { echo "peer-boot: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --loop) LOOP="${2:?--loop needs a number}"; shift 2 ;;
        --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
        --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
        --swiftpc) SWIFTPC="${2:?--swiftpc needs a path}"; shift 2 ;;
        --images) IMAGES="${2:?--images needs a directory}"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1 (see --help)" ;;
    esac
done
[[ "$LOOP" =~ ^[0-9]+$ ]] || die "--loop must be a number"
[[ "$TIMEOUT" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
for e in ${ONLY//,/ }; do
    case "$e" in swiftpc|qemu|bochs) ;; *) die "--only: unknown engine $e (swiftpc, qemu, bochs)" ;; esac
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }
KERNEL="$IMAGES/bzImage"
INITRD="$IMAGES/initramfs.cpio.gz"

# The benchmark is meaningless without the project's own pieces: fail with one line.
for f in "$KERNEL" "$INITRD"; do
    [ -f "$f" ] || die "missing $f; run scripts/setup.sh (or scripts/build-guest-images.sh) first"
done
if wants swiftpc; then
    [ -x "$SWIFTPC" ] || die "missing $SWIFTPC; run scripts/setup.sh (or swift build -c release) first"
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed for the timing helper"

# The one kernel command line all three engines get.
APPEND="console=ttyS0 quiet swiftpc.selftest swiftpc.loop=$LOOP"
KVER="$(cut -d' ' -f1 "$IMAGES/bzImage.package" 2>/dev/null | sed 's/^linux-image-//')" || true
[ -n "$KVER" ] || KVER="$(file -b "$KERNEL" 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')" || true

WORK="$(mktemp -d /tmp/swiftpc-peer-boot.XXXXXX)"
if [ "${PEER_BOOT_KEEP:-0}" = 1 ]; then
    say "keeping logs in $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
RESULTS="$WORK/results.jsonl"

# Snapshot the images so that every engine boots the very same bytes even if
# scripts/build-guest-images.sh rewrites guest-images/ while the benchmark runs.
cp "$KERNEL" "$WORK/bzImage"
cp "$INITRD" "$WORK/initramfs.cpio.gz"
KERNEL="$WORK/bzImage"
INITRD="$WORK/initramfs.cpio.gz"
: >"$RESULTS"

# A row for an engine that could not be run (the table shows the reason).
skip() { printf '{"engine": "%s", "error": "%s"}\n' "$1" "$2" >>"$RESULTS"; say "$1: $2"; }

# Installs Debian packages that are missing; returns non-zero if that is not possible.
# apt-get update is only run when the first attempt fails (stale or empty package lists).
ensure_packages() {
    local missing=() p
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || { say "not root: cannot install ${missing[*]}"; return 1; }
    say "installing ${missing[*]} with apt-get"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"$WORK/apt.log" 2>&1; then
        apt-get update >>"$WORK/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1 \
            || { say "apt-get install ${missing[*]} failed (see $WORK/apt.log)"; return 1; }
    fi
}

# Runs one engine under the timing helper; its JSON line goes to the results.
measure() {
    local engine="$1"; shift
    say "$engine: booting (loop $LOOP; this can take minutes)"
    if ! python3 "$HELPER" run --engine "$engine" --timeout "$TIMEOUT" --log "$WORK/$engine.log" "$@" >>"$RESULTS"; then
        skip "$engine" "timing helper failed (see $WORK/$engine.log)"
    fi
}

# --- swiftpc ------------------------------------------------------------------------------
# The interpreter explicitly (auto would pick KVM where /dev/kvm works); serial on stdout.
if wants swiftpc; then
    measure swiftpc -- "$SWIFTPC" run --accel interp -m 256M \
        --kernel "$KERNEL" --initrd "$INITRD" --append "$APPEND"
fi

# --- QEMU (TCG) -----------------------------------------------------------------------------
# -nographic puts the serial port on stdout; -no-reboot so a guest reset ends it too. The
# guest's ACPI poweroff ends QEMU with status 0.
if wants qemu; then
    if ensure_packages qemu-system-x86 && command -v qemu-system-x86_64 >/dev/null 2>&1; then
        measure qemu-tcg -- qemu-system-x86_64 -accel tcg -m 256M -nographic -no-reboot \
            -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
    else
        skip qemu-tcg "not installed (apt-get install qemu-system-x86)"
    fi
fi

# --- Bochs -----------------------------------------------------------------------------------
# Bochs has no direct kernel loading (its -kernel-like options are for its own BIOS only),
# so it boots like a PC: its BIOS loads SYSLINUX from a disk image, and SYSLINUX loads the
# same bzImage and initramfs with the same command line. The disk is a "superfloppy": a
# FAT16 file system without a partition table whose boot sector is SYSLINUX's, built with
# mtools so that no loop mount (and no root) is needed. Its geometry is a whole number of
# 16-head, 63-sector cylinders so the bochsrc can state the CHS geometry exactly.
#
# Debian's bochs has neither the "nogui" display nor a way to skip its internal debugger:
# the headless display is rfb with timeout=0 (it listens for a VNC client on TCP 5900 but
# does not wait for one), and the debugger prompt at reset is answered by an -rc file
# containing `c`. Bochs emulates the UART's baud rate, so output is paced at 9600 baud
# (console=ttyS0 sets no speed) and the guest's poweroff overtakes the last queued lines
# (SWIFTPC-SELFTEST-DONE among them): Bochs's total is then the time of the poweroff, which
# the guest does right after DONE, and the table says so. Bochs also goes through a BIOS
# and a boot loader reading 9 MB through INT 13h, which swiftpc and QEMU skip by loading
# the kernel directly; the notes give when SYSLINUX and the kernel's clock started.
# On the guest's ACPI poweroff Bochs stops with ">>PANIC<< ACPI control: soft power off"
# and exit status 1 — a normal end here.
build_bochs_disk() {
    local img="$1" heads=16 spt=63 cyl=40   # 40 x 16 x 63 x 512 = 19.7 MiB
    local need=$(( $(stat -c %s "$KERNEL") + $(stat -c %s "$INITRD") + 2 * 1024 * 1024 ))
    while [ $(( cyl * heads * spt * 512 )) -lt "$need" ]; do cyl=$(( cyl + 8 )); done
    BOCHS_CYL="$cyl"
    # (Called from an `if`, where set -e does not apply: every step checks itself.)
    rm -f "$img"
    truncate -s $(( cyl * heads * spt * 512 )) "$img" || return 1
    mkfs.fat -F 16 -n SWIFTPC -h 0 -g "$heads/$spt" "$img" >/dev/null || return 1
    # 8.3 names: SYSLINUX's FAT reader copes with long names, but short ones leave no doubt.
    # SERIAL first: SYSLINUX then prints its banner on COM1 too, which marks when the BIOS
    # has handed over to the loader (the table shows that time). Its "Loading ..." lines
    # would mark the hand-over to the kernel, but SYSLINUX omits them when the kernel
    # command line says `quiet`.
    cat >"$WORK/syslinux.cfg" <<EOF
SERIAL 0 9600
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL vmlinuz
  APPEND initrd=initrd.gz $APPEND
EOF
    mcopy -i "$img" "$KERNEL" ::vmlinuz || return 1
    mcopy -i "$img" "$INITRD" ::initrd.gz || return 1
    mcopy -i "$img" "$WORK/syslinux.cfg" ::syslinux.cfg || return 1
    syslinux --install "$img"
}

if wants bochs; then
    if ensure_packages bochs bochsbios vgabios syslinux syslinux-common mtools dosfstools \
            && command -v bochs >/dev/null 2>&1; then
        DISK="$WORK/bochs-disk.img"
        if build_bochs_disk "$DISK" 2>"$WORK/disk.log"; then
            # cpu: a 64-bit model (the Debian kernel is x86-64).
            # clock/ips: with sync=none every guest clock (PIT, TSC, LAPIC, RTC ticks) counts
            #   emulated instructions at `ips` per second, so guest time is wall time only
            #   when ips is Bochs's real speed; ~60 MIPS was measured for this guest on the
            #   project's machines (BOCHS_IPS overrides it). sync=realtime was tried and is
            #   worse: the guest's uptime ran ~5x slower than the wall clock, stretching every
            #   guest timeout. With sync=none Bochs's guest-reported loop is instructions/ips,
            #   the same on every run (51.12 s at 60 MIPS here); the table's host-timed
            #   loop-wall is the figure to compare.
            # error/info: ignore: the kernel reads MSRs Bochs does not model (APERF/MPERF on
            #   every tick); logging each costs time and fills the log.
            cat >"$WORK/bochsrc" <<EOF
display_library: rfb, options="timeout=0"
memory: guest=256, host=256
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=corei7_sandy_bridge_2600k, ips=$BOCHS_IPS
clock: sync=none, time0=local
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=$DISK, mode=flat, cylinders=$BOCHS_CYL, heads=16, spt=63
boot: disk
com1: enabled=1, mode=file, dev=$WORK/bochs-serial.log
speaker: enabled=0
# No host audio: with the default ALSA driver and no sound card, Bochs 2.7 aborts at start
# ("*** buffer overflow detected ***").
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
log: $WORK/bochs-internal.log
panic: action=fatal
error: action=ignore
info: action=ignore
debug: action=ignore
EOF
            printf 'c\n' >"$WORK/bochs.rc"
            measure bochs --serial-file "$WORK/bochs-serial.log" --ok-status 1 \
                --loader-marker SYSLINUX -- \
                bochs -q -f "$WORK/bochsrc" -rc "$WORK/bochs.rc"
        else
            skip bochs "could not build the SYSLINUX disk image (see $WORK/disk.log)"
        fi
    else
        skip bochs "not installed (apt-get install bochs bochsbios vgabios syslinux mtools dosfstools)"
    fi
fi

echo
python3 "$HELPER" report --kernel "$KVER" --loop "$LOOP" --append "$APPEND" <"$RESULTS"
