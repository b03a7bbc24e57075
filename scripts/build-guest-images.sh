#!/usr/bin/env bash
# Builds the guest images swiftpc's whole-system tests boot, from Debian packages, into
# guest-images/ at the repository root (git-ignored):
#
#   guest-images/bzImage            the kernel of Debian's current linux-image-amd64
#   guest-images/initramfs.cpio.gz  a busybox-static initramfs whose /init
#                                   (guests/initramfs/init) prints SWIFTPC-INIT-OK and
#                                   runs a shell on the console
#   guest-images/bzImage-686        the 32-bit kernel of Debian's linux-image-686-pae (i386),
#                                   booted through the 32-bit boot protocol
#   guest-images/initramfs-686.cpio.gz  the same initramfs with busybox-static:i386
#
# The i386 packages need the i386 architecture in dpkg (`dpkg --add-architecture i386`,
# then `apt-get update`); as root the script adds it itself. They are downloaded with
# `apt-get download` and unpacked with `dpkg -x` into a temporary directory, never installed.
# SWIFTPC_NO_I386=1 skips the i386 images.
#
# Idempotent: each output is rebuilt only when it is missing or older than its inputs (the
# kernel package version apt resolves; the init script, busybox and this script).
# Needs root only to install missing tools with apt-get (busybox-static, cpio, gzip);
# run `apt-get update` once before on a fresh machine. Nothing is installed into the host's
# /boot: the kernel package is downloaded and unpacked into a temporary directory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/guest-images"
SCRIPT="$ROOT/scripts/build-guest-images.sh"
INIT_SRC="$ROOT/guests/initramfs/init"
BUSYBOX=/bin/busybox

say() { echo "build-guest-images: $*"; }
die() { echo "build-guest-images: error: $*" >&2; exit 1; }

TMP="$(mktemp -d /tmp/swiftpc-guest-images.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
# apt-get download drops root privileges to the _apt user when it can; let it write here.
chmod 755 "$TMP"

# --- tools -------------------------------------------------------------------------------

package_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

need_packages=()
package_installed busybox-static || need_packages+=(busybox-static)
command -v cpio >/dev/null 2>&1 || need_packages+=(cpio)
command -v gzip >/dev/null 2>&1 || need_packages+=(gzip)
if [ "${#need_packages[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "missing packages ${need_packages[*]}; install them (as root: apt-get install ${need_packages[*]})"
    say "installing ${need_packages[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_packages[@]}" >"$TMP/apt.log" 2>&1 \
        || { cat "$TMP/apt.log" >&2; die "apt-get install ${need_packages[*]} failed"; }
fi
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found after installing busybox-static"

mkdir -p "$OUT"

# --- (a) kernel --------------------------------------------------------------------------

# linux-image-amd64 is a metapackage; the kernel is the linux-image-<abi>-amd64 it depends on.
KPKG="$(apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1)"
[ -n "$KPKG" ] || die "cannot resolve the kernel package linux-image-amd64 depends on (run apt-get update first)"
KVER="$(apt-cache policy "$KPKG" | sed -n 's/^ *Candidate: //p')"
[ -n "$KVER" ] && [ "$KVER" != "(none)" ] || die "no installable version of $KPKG (run apt-get update first)"
KSTAMP="$OUT/bzImage.package"
WANT="$KPKG $KVER"

# The modules the initramfs loads for its disk checks (swiftpc.disktest), in load order:
# the PIIX IDE driver with libata and the SCSI disk driver, Xen's block and network frontends
# (they load only on Xen), and VFAT.
MODULES=(scsi_common scsi_mod libata ata_piix crc64 crc64_rocksoft_generic crc64-rocksoft crct10dif_common
    crct10dif_generic crc-t10dif t10-pi sd_mod xen-blkfront xen-netfront fat vfat nls_cp437 nls_ascii)
MODDIR="$OUT/modules"

if [ -f "$OUT/bzImage" ] && [ -f "$KSTAMP" ] && [ "$(cat "$KSTAMP")" = "$WANT" ] && [ "$OUT/bzImage" -nt "$SCRIPT" ] \
    && [ -f "$MODDIR/order" ] && [ "$MODDIR/order" -nt "$SCRIPT" ]; then
    say "kernel: guest-images/bzImage is up to date ($WANT)"
else
    say "kernel: downloading $KPKG $KVER"
    (cd "$TMP" && apt-get download "$KPKG=$KVER" >"$TMP/download.log" 2>&1) \
        || { cat "$TMP/download.log" >&2; die "apt-get download $KPKG=$KVER failed"; }
    DEB="$(ls "$TMP"/"$KPKG"_*.deb 2>/dev/null | head -n 1)"
    [ -n "$DEB" ] || die "apt-get download left no .deb for $KPKG"
    say "kernel: unpacking $(basename "$DEB") into a temporary directory"
    dpkg -x "$DEB" "$TMP/kernel"
    VMLINUZ="$(ls "$TMP"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)"
    [ -n "$VMLINUZ" ] || die "$(basename "$DEB") contains no /boot/vmlinuz-*"
    cp "$VMLINUZ" "$OUT/bzImage.tmp"
    mv "$OUT/bzImage.tmp" "$OUT/bzImage"
    rm -rf "$MODDIR" && mkdir -p "$MODDIR"
    for m in "${MODULES[@]}"; do
        KO="$(find "$TMP"/kernel/lib/modules -name "$m.ko" | head -n 1)"
        [ -n "$KO" ] || die "$(basename "$DEB") has no module $m.ko"
        cp "$KO" "$MODDIR/"
        echo "$m" >>"$MODDIR/order.tmp"
    done
    mv "$MODDIR/order.tmp" "$MODDIR/order"
    echo "$WANT" >"$KSTAMP.tmp" && mv "$KSTAMP.tmp" "$KSTAMP"
    say "kernel: wrote guest-images/bzImage from $(basename "$VMLINUZ") ($(stat -c %s "$OUT/bzImage") bytes)"
fi

# --- (b) initramfs -----------------------------------------------------------------------

INITRAMFS="$OUT/initramfs.cpio.gz"
up_to_date=1
[ -f "$INITRAMFS" ] || up_to_date=0
for input in "$INIT_SRC" "$BUSYBOX" "$SCRIPT" "$MODDIR/order"; do
    [ -f "$INITRAMFS" ] && [ "$INITRAMFS" -nt "$input" ] || up_to_date=0
done

# One newc cpio entry (the "new ASCII" format of cpio(5)) for a character device: GNU cpio
# archives only nodes that exist on disk, and creating /dev/console with mknod would need
# privileges; the kernel opens /dev/console for PID 1 before /init runs, so it must be in
# the archive. Fields: magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
# devminor, rdevmajor, rdevminor, namesize, check; name NUL-terminated and padded to 4.
newc_entry() {
    local name="$1" mode="$2" rmaj="$3" rmin="$4" ino="$5"
    local namesize=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$namesize" 0
    printf '%s\0' "$name"
    local pad=$(( (4 - (110 + namesize) % 4) % 4 ))
    [ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

if [ "$up_to_date" -eq 1 ]; then
    say "initramfs: guest-images/initramfs.cpio.gz is up to date"
else
    say "initramfs: staging busybox-static ($("$BUSYBOX" | head -n 1 | cut -d' ' -f1-2)) and /init"
    STAGE="$TMP/initramfs"
    mkdir -p "$STAGE"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin}
    cp "$BUSYBOX" "$STAGE/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -sf busybox "$STAGE/bin/$applet"
    done
    install -m 0755 "$INIT_SRC" "$STAGE/init"
    mkdir -p "$STAGE/lib/modules" "$STAGE/mnt"
    cp "$MODDIR"/*.ko "$MODDIR/order" "$STAGE/lib/modules/"
    say "initramfs: packing newc cpio with gzip"
    {
        (cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
        # A second archive with the console device (char 5:1); the kernel unpacks
        # concatenated archives in order.
        newc_entry dev/console $((0020600)) 5 1 1
        newc_entry 'TRAILER!!!' 0 0 0 0
    } | gzip -9 -n >"$INITRAMFS.tmp"
    mv "$INITRAMFS.tmp" "$INITRAMFS"
    say "initramfs: wrote guest-images/initramfs.cpio.gz ($(stat -c %s "$INITRAMFS") bytes)"
fi

# --- (c) 32-bit kernel and (d) its initramfs ---------------------------------------------

if [ "${SWIFTPC_NO_I386:-0}" = 1 ]; then
    say "i386: skipped (SWIFTPC_NO_I386=1)"
    say "done: $OUT"
    exit 0
fi

if ! dpkg --print-foreign-architectures | grep -qx i386; then
    [ "$(id -u)" -eq 0 ] || die "the i386 images need the i386 architecture in dpkg; as root: dpkg --add-architecture i386 && apt-get update (or set SWIFTPC_NO_I386=1)"
    say "i386: adding the i386 architecture to dpkg and updating the package lists"
    dpkg --add-architecture i386
    apt-get update >"$TMP/update.log" 2>&1 || { cat "$TMP/update.log" >&2; die "apt-get update failed"; }
fi

# Resolves an i386 package to the version apt would take: prints "name version".
i386_candidate() {
    local v
    v="$(apt-cache policy "$1:i386" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    [ -n "$v" ] && [ "$v" != "(none)" ] || die "no installable version of $1:i386 (run apt-get update after dpkg --add-architecture i386)"
    echo "$1 $v"
}

# Downloads package $1 (i386) at version $2 and unpacks it into $TMP/$3.
i386_unpack() {
    local pkg="$1" ver="$2" dest="$3" deb
    (cd "$TMP" && apt-get download "$pkg:i386=$ver" >"$TMP/download-$dest.log" 2>&1) \
        || { cat "$TMP/download-$dest.log" >&2; die "apt-get download $pkg:i386=$ver failed"; }
    deb="$(ls "$TMP"/"$pkg"_*_i386.deb 2>/dev/null | head -n 1)"
    [ -n "$deb" ] || die "apt-get download left no .deb for $pkg:i386"
    dpkg -x "$deb" "$TMP/$dest" || die "dpkg -x $(basename "$deb") failed"
}

KPKG32="$(apt-cache depends linux-image-686-pae:i386 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-686-pae\)\(:i386\)\{0,1\}$/\1/p' | head -n 1)"
[ -n "$KPKG32" ] || die "cannot resolve the kernel package linux-image-686-pae:i386 depends on (run apt-get update after dpkg --add-architecture i386)"
WANT32="$(i386_candidate "$KPKG32")"
KSTAMP32="$OUT/bzImage-686.package"
if [ -f "$OUT/bzImage-686" ] && [ -f "$KSTAMP32" ] && [ "$(cat "$KSTAMP32")" = "$WANT32" ] && [ "$OUT/bzImage-686" -nt "$SCRIPT" ]; then
    say "i386 kernel: guest-images/bzImage-686 is up to date ($WANT32)"
else
    say "i386 kernel: downloading $WANT32"
    i386_unpack "$KPKG32" "${WANT32#* }" kernel32
    VMLINUZ="$(ls "$TMP"/kernel32/boot/vmlinuz-* 2>/dev/null | head -n 1)"
    [ -n "$VMLINUZ" ] || die "$KPKG32 contains no /boot/vmlinuz-*"
    cp "$VMLINUZ" "$OUT/bzImage-686.tmp"
    mv "$OUT/bzImage-686.tmp" "$OUT/bzImage-686"
    echo "$WANT32" >"$KSTAMP32.tmp" && mv "$KSTAMP32.tmp" "$KSTAMP32"
    say "i386 kernel: wrote guest-images/bzImage-686 from $(basename "$VMLINUZ") ($(stat -c %s "$OUT/bzImage-686") bytes)"
fi

WANTBB32="$(i386_candidate busybox-static)"
INITRAMFS32="$OUT/initramfs-686.cpio.gz"
BBSTAMP32="$OUT/initramfs-686.package"
up_to_date=1
[ -f "$INITRAMFS32" ] && [ -f "$BBSTAMP32" ] && [ "$(cat "$BBSTAMP32")" = "$WANTBB32" ] || up_to_date=0
for input in "$INIT_SRC" "$SCRIPT"; do
    [ -f "$INITRAMFS32" ] && [ "$INITRAMFS32" -nt "$input" ] || up_to_date=0
done
if [ "$up_to_date" -eq 1 ]; then
    say "i386 initramfs: guest-images/initramfs-686.cpio.gz is up to date ($WANTBB32)"
else
    say "i386 initramfs: downloading $WANTBB32"
    i386_unpack busybox-static "${WANTBB32#* }" busybox32
    BB32="$TMP/busybox32/bin/busybox"
    [ -x "$BB32" ] || die "busybox-static:i386 contains no /bin/busybox"
    STAGE="$TMP/initramfs32"
    mkdir -p "$STAGE"/{bin,sbin,dev,proc,sys,tmp,root,etc,usr/bin,usr/sbin,mnt}
    cp "$BB32" "$STAGE/bin/busybox"
    # The applet list comes from the i386 binary when the host runs 32-bit programs, else
    # from the host's busybox-static (the same source and configuration).
    APPLETS="$("$BB32" --list 2>/dev/null || "$BUSYBOX" --list)"
    for applet in $APPLETS; do
        [ "$applet" = busybox ] || ln -sf busybox "$STAGE/bin/$applet"
    done
    install -m 0755 "$INIT_SRC" "$STAGE/init"
    say "i386 initramfs: packing newc cpio with gzip"
    {
        (cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet)
        newc_entry dev/console $((0020600)) 5 1 1
        newc_entry 'TRAILER!!!' 0 0 0 0
    } | gzip -9 -n >"$INITRAMFS32.tmp"
    mv "$INITRAMFS32.tmp" "$INITRAMFS32"
    echo "$WANTBB32" >"$BBSTAMP32.tmp" && mv "$BBSTAMP32.tmp" "$BBSTAMP32"
    say "i386 initramfs: wrote guest-images/initramfs-686.cpio.gz ($(stat -c %s "$INITRAMFS32") bytes)"
fi

say "done: $OUT"
