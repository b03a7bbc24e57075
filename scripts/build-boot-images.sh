#!/usr/bin/env bash
# Builds the disk and CD images that boot through the firmware (SeaBIOS), from Debian
# packages, into guest-images/ (git-ignored). Run after scripts/build-guest-images.sh:
#
#   guest-images/boot-disk.img      MBR + one active FAT16 partition with SYSLINUX (the
#                                   `syslinux` package), the Debian kernel and the busybox
#                                   initramfs; boots Linux with its console on ttyS0 and
#                                   runs the /init self-test
#   guest-images/boot-disk-vga.img  the same with the console on the VGA text screen
#   guest-images/boot-disk-shell.img  a shell on the VGA console (for the SDL window test)
#   guest-images/memtest.img        the same partition layout booting memtest86+ (Debian's
#                                   memtest86+ package, its BIOS image through SYSLINUX)
#   guest-images/grub.iso           a GRUB rescue CD made with grub-mkrescue (grub-pc-bin,
#                                   xorriso): El Torito boot to GRUB's menu
#
# No loop devices or root mounts: the FAT file system is made and filled in the image file
# with dosfstools, mtools and syslinux's mtools-based installer.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/guest-images"
SCRIPT="$ROOT/scripts/build-boot-images.sh"
KERNEL="$OUT/bzImage"
INITRD="$OUT/initramfs.cpio.gz"
MEMTEST=/boot/memtest86+x64.bin

say() { echo "build-boot-images: $*"; }
die() { echo "build-boot-images: error: $*" >&2; exit 1; }

[ -f "$KERNEL" ] && [ -f "$INITRD" ] || die "run scripts/build-guest-images.sh first (no guest-images/bzImage or initramfs)"

need=()
for p in syslinux syslinux-common mtools dosfstools grub-pc-bin grub-common xorriso memtest86+ python3; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing packages ${need[*]}; install them (as root: apt-get install ${need[*]})"
    say "installing ${need[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
MBR=/usr/lib/syslinux/mbr/mbr.bin
[ -f "$MBR" ] || die "$MBR not found (syslinux-common)"

TMP="$(mktemp -d /tmp/swiftpc-boot-images.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT

# 1 MiB before the partition, as partitioning tools align it.
PART_START=2048

# Writes an MBR partition table with one active FAT16 (LBA, type 0x0E) partition from
# PART_START to the end of the image, behind SYSLINUX's boot code.
write_mbr() {
    local img="$1" sectors="$2"
    python3 - "$img" "$MBR" "$PART_START" "$sectors" <<'PY'
import struct, sys
img, mbr, start, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
code = open(mbr, 'rb').read()[:440]
count = total - start
# CHS fields are saturated (1023/254/63): LBA fields are what SeaBIOS and Linux use.
entry = struct.pack('<B3sB3sII', 0x80, b'\xfe\xff\xff', 0x0E, b'\xfe\xff\xff', start, count)
table = entry + bytes(48)
with open(img, 'r+b') as f:
    f.write(code.ljust(446, b'\0'))
    f.write(table)
    f.write(b'\x55\xaa')
PY
}

# build_disk IMAGE SYSLINUX_CFG FILE... : a partitioned disk whose FAT partition holds the
# files (host path:8.3 name) and the configuration, made bootable by SYSLINUX.
build_disk() {
    local img="$1" cfg="$2"; shift 2
    local bytes=$(( 4 * 1024 * 1024 ))
    for spec in "$@"; do bytes=$(( bytes + $(stat -c %s "${spec%%:*}") )); done
    # FAT16 needs at least 4085 clusters: 16 MiB is comfortably above that.
    [ "$bytes" -ge $(( 16 * 1024 * 1024 )) ] || bytes=$(( 16 * 1024 * 1024 ))
    local sectors=$(( (bytes / 512 + PART_START + 2047) / 2048 * 2048 ))
    rm -f "$img.tmp"
    truncate -s $(( sectors * 512 )) "$img.tmp"
    write_mbr "$img.tmp" "$sectors"
    local offset=$(( PART_START * 512 ))
    mkfs.fat -F 16 -n SWIFTPC --offset "$PART_START" -h "$PART_START" "$img.tmp" $(( (sectors - PART_START) / 2 )) >/dev/null
    for spec in "$@"; do mcopy -i "$img.tmp@@$offset" "${spec%%:*}" "::${spec##*:}"; done
    printf '%s\n' "$cfg" >"$TMP/syslinux.cfg"
    mcopy -i "$img.tmp@@$offset" "$TMP/syslinux.cfg" ::syslinux.cfg
    syslinux --offset "$offset" --install "$img.tmp"
    mv "$img.tmp" "$img"
    say "wrote ${img#$ROOT/} ($(( sectors / 2048 )) MiB)"
}

fresh() {  # fresh OUTPUT INPUT...: the output exists and is newer than every input
    local out="$1"; shift
    [ -f "$out" ] || return 1
    for input in "$@" "$SCRIPT"; do [ "$out" -nt "$input" ] || return 1; done
}

linux_cfg() {  # linux_cfg APPEND
    printf 'SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz %s\n' "$1"
}

if fresh "$OUT/boot-disk.img" "$KERNEL" "$INITRD"; then say "boot-disk.img is up to date"; else
    build_disk "$OUT/boot-disk.img" "$(linux_cfg 'console=ttyS0 swiftpc.selftest swiftpc.loop=2000 swiftpc.disks')" \
        "$KERNEL:vmlinuz" "$INITRD:initrd.gz"
fi
if fresh "$OUT/boot-disk-vga.img" "$KERNEL" "$INITRD"; then say "boot-disk-vga.img is up to date"; else
    build_disk "$OUT/boot-disk-vga.img" "$(linux_cfg 'console=tty0 swiftpc.selftest swiftpc.loop=2000')" \
        "$KERNEL:vmlinuz" "$INITRD:initrd.gz"
fi
if fresh "$OUT/boot-disk-shell.img" "$KERNEL" "$INITRD"; then say "boot-disk-shell.img is up to date"; else
    # Kernel messages on both consoles; /dev/console (the shell) is the last one, the screen.
    build_disk "$OUT/boot-disk-shell.img" "$(linux_cfg 'console=ttyS0 console=tty0')" \
        "$KERNEL:vmlinuz" "$INITRD:initrd.gz"
fi
if fresh "$OUT/memtest.img" "$MEMTEST"; then say "memtest.img is up to date"; else
    build_disk "$OUT/memtest.img" "$(printf 'DEFAULT memtest\nPROMPT 0\nTIMEOUT 0\nLABEL memtest\n  LINUX memtest.bin\n')" \
        "$MEMTEST:memtest.bin"
fi
if fresh "$OUT/grub.iso"; then say "grub.iso is up to date"; else
    mkdir -p "$TMP/iso/boot/grub"
    cat >"$TMP/iso/boot/grub/grub.cfg" <<'EOF'
set timeout=-1
menuentry "swiftpc GRUB test entry" {
    echo "selected"
}
EOF
    grub-mkrescue -o "$OUT/grub.iso.tmp" "$TMP/iso" >"$TMP/grub.log" 2>&1 || { cat "$TMP/grub.log" >&2; die "grub-mkrescue failed"; }
    mv "$OUT/grub.iso.tmp" "$OUT/grub.iso"
    say "wrote guest-images/grub.iso ($(( $(stat -c %s "$OUT/grub.iso") / 1024 )) KiB)"
fi
