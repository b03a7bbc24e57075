#!/usr/bin/env bash
# Hostile-guest device fuzzer: boots guests/fuzz-devices.asm once per seed and fails on any
# crash (a signal, a Swift trap), hang (no exit within the limit), unexpected exit status,
# exception the guest did not cause on purpose, or file written outside the run's scratch
# folder (seen through strace when it is installed).
#
#   scripts/fuzz-devices.sh [--seeds FIRST:COUNT] [--ops N] [--timeout SECONDS] [--jobs N]
#                           [--accel interp|kvm] [--binary PATH] [--fwcfg-max BYTES] [--xen]
#                           [--keep]
#
# Defaults: seeds 1:200, 20000 operations, 60 s per run, 2 jobs, the interpreter, the release
# build (else the debug one). --fwcfg-max caps fw_cfg DMA read lengths (default: no cap, up
# to 4 GiB). --xen runs the machine with --xen (interpreter only) and makes a quarter of the
# guest's operations random Xen hypercalls and writes into its Xen pages. Each run gets its
# own folder under a temporary root (a scratch disk and CD, the guest's output); folders of
# failed runs are kept and named in the report, others removed unless --keep. Last line:
# "fuzz-devices: runs=R operations=O crashes=C hangs=H faults=F unexpected=U stray-files=S";
# the exit status is 1 when any run failed, 2 for bad arguments.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
first=1 count=200 ops=20000 limit=60 jobs=2 accel=interp binary="" fwcfg_max=0 keep=0 xen=0

die() { echo "fuzz-devices: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --keep) keep=1; shift; continue ;;
        --xen) xen=1; shift; continue ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --seeds|--ops|--timeout|--jobs|--accel|--binary|--fwcfg-max) [ $# -ge 2 ] || die "$1 needs a value" ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
    case "$1" in
        --seeds) first=${2%%:*}; count=${2#*:}; [ "$first:$count" = "$2" ] || die "--seeds FIRST:COUNT, not '$2'" ;;
        --ops) ops=$2 ;;
        --timeout) limit=$2 ;;
        --jobs) jobs=$2 ;;
        --accel) accel=$2 ;;
        --binary) binary=$2 ;;
        --fwcfg-max) fwcfg_max=$2 ;;
    esac
    shift 2
done
for n in "$first" "$count" "$ops" "$limit" "$jobs" "$fwcfg_max"; do
    case "$n" in ''|*[!0-9]*) die "'$n' is not a number" ;; esac
done
[ "$jobs" -ge 1 ] && [ "$limit" -ge 1 ] || die "--jobs and --timeout must be at least 1"
case "$accel" in interp|kvm) ;; *) die "--accel interp or kvm, not '$accel'" ;; esac
[ $xen -eq 1 ] && [ "$accel" = kvm ] && die "--xen runs on the interpreter (this host's KVM cannot forward hypercalls)"
xen_args=()
[ $xen -eq 1 ] && xen_args=(--xen)
if [ -z "$binary" ]; then
    for candidate in "$root/.build/release/swiftpc" "$root/.build/debug/swiftpc"; do
        [ -x "$candidate" ] && { binary=$candidate; break; }
    done
fi
[ -n "$binary" ] && [ -x "$binary" ] || die "no swiftpc binary (swift build, or --binary PATH)"
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
make -s -C "$root/guests" OUT="$root/guest-images/guests" || die "cannot assemble the guest (is nasm installed?)"
guest="$root/guest-images/guests/fuzz-devices.bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/swiftpc-fuzz.XXXXXX")
tracer=()
if command -v strace >/dev/null 2>&1; then
    tracer=(strace -f -qq --seccomp-bpf -e status=successful -o files.trace
            -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,truncate,mknod,mknodat)
fi

# Paths a run changed outside its folder, from the strace log (opens for writing, and every
# call that creates, renames or removes a name). Devices and /proc are not files.
stray_files() {
    local dir=$1
    [ -f "$dir/files.trace" ] || return 0
    awk '!(/O_RDONLY/ && !/O_CREAT|O_TRUNC/)' "$dir/files.trace" |
        sed -n 's/^[0-9]* *[a-z0-9]*(\([^"]*\)"\([^"]*\)".*/\2/p' |
        while read -r path; do
            case "$path" in /*) ;; *) path="$dir/$path" ;; esac
            path=$(realpath -m "$path")
            case "$path" in "$dir"|"$dir"/*|/dev/*|/proc/*) ;; *) echo "$path" ;; esac
        done
}

# One run: prints "seed class operations detail" to its folder's result file.
run_seed() {
    local seed=$1 dir="$work/seed-$1" append status class done_ops detail
    mkdir -p "$dir/tmp"
    yes "swiftpc fuzz disk $seed" | head -c $((2 << 20)) > "$dir/disk.img"
    yes "swiftpc fuzz cdrom $seed" | head -c $((1 << 20)) > "$dir/cd.iso"
    append="fuzz.seed=$seed fuzz.ops=$ops fuzz.fwcfgmax=$fwcfg_max"
    [ "$accel" = kvm ] && append="$append fuzz.kvm=1"
    [ $xen -eq 1 ] && append="$append fuzz.xen=1"
    (cd "$dir" && TMPDIR="$dir/tmp" HOME="$dir" timeout -k 5 "$limit" "${tracer[@]}" "$binary" run --accel "$accel" "${xen_args[@]}" \
        -m 64M --no-reboot --kernel "$guest" --append "$append" --disk disk.img --cdrom cd.iso \
        --vga-dump screen.png --vga-dump-text screen.txt \
        < /dev/null > "$dir/stdout" 2> "$dir/stderr")
    status=$?
    done_ops=0 detail="status $status"
    if [ $status -eq 124 ] || [ $status -eq 137 ]; then
        class=hang detail="no exit within $limit s"
    elif [ $status -gt 128 ] && [ $status -ne 253 ] || grep -a -q -E 'Fatal error|Illegal instruction|Segmentation fault|Trace/breakpoint trap|Aborted' "$dir/stderr"; then
        class=crash detail="status $status: $(grep -a -m1 -E 'Fatal error|error:|fault|trap|Abort' "$dir/stderr" | cut -c1-200)"
    elif [ $status -eq 253 ]; then
        class=fault detail=$(grep -a -m1 -o 'FUZZ fault.*' "$dir/stdout" | cut -c1-200)
    elif [ $status -eq 99 ] && grep -a -q "FUZZ done seed=$seed ops=$ops " "$dir/stdout"; then
        class=ok
    else
        class=unexpected detail="status $status: $(tail -c 300 "$dir/stderr" | tr '\n' ' ')"
    fi
    [ $status -eq 99 ] && done_ops=$(grep -a -o "FUZZ done seed=$seed ops=[0-9]*" "$dir/stdout" | sed 's/.*ops=//')
    local stray
    stray=$(stray_files "$dir" | sort -u | head -5 | tr '\n' ' ')
    if [ -n "$stray" ] && [ "$class" = ok ]; then class=stray detail="wrote $stray"; fi
    echo "$seed $class ${done_ops:-0} $detail" > "$dir/result"
    if [ "$class" = ok ] && [ $keep -eq 0 ]; then
        rm -rf "$dir/tmp" "$dir/disk.img" "$dir/cd.iso" "$dir/stdout" "$dir/stderr" "$dir/files.trace" "$dir/screen.png" "$dir/screen.txt"
    fi
}

start=$(date +%s)
for ((seed = first; seed < first + count; seed++)); do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_seed "$seed" &
done
wait

runs=0 operations=0 crashes=0 hangs=0 faults=0 unexpected=0 stray=0
while read -r seed class n detail; do
    runs=$((runs + 1)); operations=$((operations + n))
    case "$class" in
        ok) continue ;;
        crash) crashes=$((crashes + 1)) ;;
        hang) hangs=$((hangs + 1)) ;;
        fault) faults=$((faults + 1)) ;;
        stray) stray=$((stray + 1)) ;;
        *) unexpected=$((unexpected + 1)) ;;
    esac
    echo "fuzz-devices: seed $seed: $class: $detail (kept in $work/seed-$seed)"
done < <(cat "$work"/seed-*/result 2>/dev/null | sort -n)
failed=$((crashes + hangs + faults + unexpected + stray))
[ $failed -eq 0 ] && [ $keep -eq 0 ] && rm -rf "$work"
echo "fuzz-devices: accel=$accel$([ $xen -eq 1 ] && echo ' xen') seeds=$first..$((first + count - 1)) ops/run=$ops fwcfg-max=$fwcfg_max time=$(( $(date +%s) - start ))s"
echo "fuzz-devices: runs=$runs operations=$operations crashes=$crashes hangs=$hangs faults=$faults unexpected=$unexpected stray-files=$stray"
[ $failed -eq 0 ] && [ "$runs" -eq "$count" ]
