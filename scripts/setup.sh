#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for swiftpc: installs what the project needs from Debian
# packages and PyPI, assembles the project's own guests, builds the guest images from
# Debian packages, and builds the release binary. Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(nasm libsdl2-dev libpixman-1-dev busybox-static cpio gzip xz-utils zstd make gcc
    seabios syslinux syslinux-common mtools dosfstools grub-pc-bin grub-common xorriso memtest86+ python3
    xvfb xdotool x11-apps)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import iced_x86" 2>/dev/null; then
    echo "setup: installing iced-x86 (the reference decoder for the decoder's differential test)"
    python3 -m pip install -q iced-x86 2>&1 | grep -v "WARNING: Running pip as the 'root' user" || true
fi

echo "setup: assembling the project's guests"
make -s -C guests

if [ -x scripts/build-guest-images.sh ]; then
    echo "setup: building guest images from Debian packages"
    scripts/build-guest-images.sh
fi
if [ -x scripts/build-boot-images.sh ]; then
    echo "setup: building firmware-boot disk and CD images"
    scripts/build-boot-images.sh
fi

# SeaBIOS and its VGA BIOS for firmware boots (--bios defaults to roms/bios-256k.bin).
mkdir -p roms
for rom in bios-256k.bin vgabios-stdvga.bin; do
    [ -f "roms/$rom" ] || cp "/usr/share/seabios/$rom" "roms/$rom"
done

echo "setup: building swiftpc (release)"
# The filter's own "no match" must not hide the build's status (pipefail is on): a failed
# build stops setup instead of leaving an old binary in place.
build_filter() { grep -E "error|warning: |Compiling|Build complete" | { grep -v "^\[" || true; } || true; }
swift build -c release 2>&1 | build_filter
test -x .build/release/swiftpc
echo "setup: done (.build/release/swiftpc)"
