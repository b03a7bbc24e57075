#!/usr/bin/env python3
"""Time from starting `swiftpc run` to the guest's first byte on the serial console.

A benchmark, not a test: it prints figures and never fails on a time.
Usage: scripts/bench/first-byte.py [RUNS] -- swiftpc run ARGS...
"""
import os
import statistics
import subprocess
import sys
import time


def one_run(argv):
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    first = proc.stdout.read(1)
    t_first = time.perf_counter() - start
    proc.stdout.read()
    proc.wait()
    t_exit = time.perf_counter() - start
    if not first:
        raise SystemExit(f"no serial output from: {' '.join(argv)}")
    return t_first, t_exit, proc.returncode


def main():
    args = sys.argv[1:]
    runs = 10
    if args and args[0] != "--":
        runs = int(args[0])
        args = args[1:]
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    one_run(args)  # warm the page cache
    firsts, exits = [], []
    for _ in range(runs):
        f, e, _ = one_run(args)
        firsts.append(f * 1000)
        exits.append(e * 1000)
    print(f"command: {' '.join(args)}")
    print(f"runs: {runs}")
    print(f"start to first serial byte: median {statistics.median(firsts):.1f} ms, min {min(firsts):.1f} ms")
    print(f"start to exit:              median {statistics.median(exits):.1f} ms, min {min(exits):.1f} ms")


if __name__ == "__main__":
    main()
