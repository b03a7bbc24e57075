#!/usr/bin/env bash
# Disk benchmark (prints figures; it is not a test): the same in-guest block benchmark
# (scripts/bench/blkbench.c, O_DIRECT, after a warm-up: 64 MiB sequential write and read in
# 1 MiB requests, 4 KiB random reads for 3 s) on
#
#   swiftpc-xvda  swiftpc --machine pvh --xen, the disk as --disk IMG,if=xen (xen-blkfront,
#                 which by default sends requests of at most 32 pages, 128 KiB)
#   xvda-1M       the same with xen_blkfront.max_indirect_segments=256 (1 MiB requests, the
#                 size ata_piix sends)
#   swiftpc-ide   swiftpc --machine pc, the disk on the PIIX3 IDE controller (ata_piix)
#   qemu-ide      qemu-system-x86_64 -accel tcg, the disk on its IDE controller
#
# one after the other, each with Debian's kernel and the test initramfs (guest-images/) plus
# /bin/blkbench, on a fresh 128 MiB raw image. Prints each engine's figures and the ratios to
# swiftpc's IDE and to QEMU's IDE. Needs gcc (static libc) and, for the QEMU column,
# qemu-system-x86 (apt-get install qemu-system-x86).
#
# Usage: scripts/bench/xen-disk.sh [--only swiftpc-xvda,xvda-1M,swiftpc-ide,qemu-ide] [--timeout S]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
only="swiftpc-xvda,xvda-1M,swiftpc-ide,qemu-ide" limit=600
swiftpc="$root/.build/release/swiftpc"
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only=$2; shift 2 ;;
        --timeout) limit=$2; shift 2 ;;
        --swiftpc) swiftpc=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "xen-disk: unknown option $1" >&2; exit 2 ;;
    esac
done
kernel="$root/guest-images/bzImage" initrd="$root/guest-images/initramfs.cpio.gz"
for f in "$kernel" "$initrd" "$swiftpc"; do [ -f "$f" ] || { echo "xen-disk: $f is missing (scripts/setup.sh)" >&2; exit 2; }; done
command -v gcc >/dev/null || { echo "xen-disk: gcc is needed to build blkbench" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The benchmark program, static, in a second cpio archive after the test initramfs (the
# kernel unpacks concatenated archives in order).
mkdir -p "$tmp/extra/bin"
gcc -static -O2 -o "$tmp/extra/bin/blkbench" "$root/scripts/bench/blkbench.c" || exit 2
(cd "$tmp/extra" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet | gzip -n) > "$tmp/extra.cpio.gz"
cat "$initrd" "$tmp/extra.cpio.gz" > "$tmp/initrd"

declare -A figures
run() {
    local name=$1; shift
    truncate -s 0 "$tmp/disk.img" && truncate -s 128M "$tmp/disk.img"
    echo "xen-disk: $name" >&2
    timeout "$limit" "$@" > "$tmp/$name.log" 2>&1 < /dev/null
    if ! grep -q "SWIFTPC-BENCH randread4k" "$tmp/$name.log"; then
        echo "xen-disk: $name produced no figures; its log ends:" >&2
        tail -n 15 "$tmp/$name.log" >&2
        return
    fi
    for key in seqwrite seqread randread4k; do
        figures[$name,$key]=$(sed -n "s/.*SWIFTPC-BENCH $key \([0-9.]*\).*/\1/p" "$tmp/$name.log" | tail -n 1)
    done
}
append="quiet swiftpc.disktest=bench"
case ",$only," in *,swiftpc-xvda,*)
    run swiftpc-xvda "$swiftpc" run --machine pvh --xen --accel interp -m 256M --kernel "$kernel" --initrd "$tmp/initrd" \
        --append "console=hvc0 $append" --disk "$tmp/disk.img,if=xen" ;;
esac
case ",$only," in *,xvda-1M,*)
    run xvda-1M "$swiftpc" run --machine pvh --xen --accel interp -m 256M --kernel "$kernel" --initrd "$tmp/initrd" \
        --append "console=hvc0 $append xen_blkfront.max_indirect_segments=256" --disk "$tmp/disk.img,if=xen" ;;
esac
case ",$only," in *,swiftpc-ide,*)
    run swiftpc-ide "$swiftpc" run --accel interp -m 256M --kernel "$kernel" --initrd "$tmp/initrd" \
        --append "console=ttyS0 $append" --disk "$tmp/disk.img" ;;
esac
case ",$only," in *,qemu-ide,*)
    if command -v qemu-system-x86_64 >/dev/null; then
        run qemu-ide qemu-system-x86_64 -accel tcg -m 256M -nographic -no-reboot -kernel "$kernel" -initrd "$tmp/initrd" \
            -append "console=ttyS0 $append" -drive "file=$tmp/disk.img,format=raw,if=ide,cache=writeback" -net none
    else
        echo "xen-disk: qemu-system-x86_64 is not installed: no QEMU column" >&2
    fi ;;
esac

printf '%-14s %14s %14s %16s\n' engine "seqwrite MB/s" "seqread MB/s" "randread4k IOPS"
for name in swiftpc-xvda xvda-1M swiftpc-ide qemu-ide; do
    [ -n "${figures[$name,seqread]:-}" ] || continue
    printf '%-14s %14s %14s %16s\n' "$name" "${figures[$name,seqwrite]}" "${figures[$name,seqread]}" "${figures[$name,randread4k]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
for xvda in swiftpc-xvda xvda-1M; do
    for base in swiftpc-ide qemu-ide; do
        [ -n "${figures[$xvda,seqread]:-}" ] && [ -n "${figures[$base,seqread]:-}" ] || continue
        printf '%-22s %6s %14s %16s\n' "$xvda/$base" \
            "$(ratio "${figures[$xvda,seqwrite]}" "${figures[$base,seqwrite]}")" \
            "$(ratio "${figures[$xvda,seqread]}" "${figures[$base,seqread]}")" \
            "$(ratio "${figures[$xvda,randread4k]}" "${figures[$base,randread4k]}")"
    done
done
