#!/usr/bin/env python3
"""Timing helper for scripts/bench/peer-boot.sh (a benchmark, not a test).

Two subcommands:

  run    Start one emulator, watch the guest's serial output as it streams and time the
         marker lines of guests/initramfs/init from the moment the process was started.
         Prints one JSON object on stdout.

             peer_boot.py run --engine NAME --timeout S [--serial-file PATH]
                              [--log PATH] -- COMMAND...

         Without --serial-file the serial console is the process's stdout (swiftpc, QEMU
         -nographic); with it, the emulator writes the serial port to PATH (Bochs) and the
         file is polled.

  report Read the JSON objects of `run` (one per line) on stdin and print the table.

Why Python: the marker times need sub-second timestamps taken as each line arrives, and
the peak RSS comes exactly from os.wait4()'s rusage of the emulator process (the kernel
keeps ru_maxrss for the child; polling /proc/PID/status could miss the last growth and the
entry is gone once the process exits). The emulator is started directly, without `timeout`
or `/usr/bin/time` in between, so that the waited-for child *is* the emulator.
"""

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import time

READY = b"SWIFTPC-INIT-OK"
MOUNTS = b"SWIFTPC-CHECK mounts"          # printed just before the loop starts
LOOP = re.compile(rb"SWIFTPC-CHECK loop (\d+) (\d+)ms")
DONE = b"SWIFTPC-SELFTEST-DONE"
KSTAMP = re.compile(rb"^\[\s*(\d+\.\d+)\]")
# After DONE the guest syncs and powers off; give the emulator this long to exit by itself
# (that is part of a normal run) before it is stopped.
EXIT_GRACE = 15.0


def run(args):
    t0 = time.monotonic()
    log = open(args.log, "wb") if args.log else open(os.devnull, "wb")
    if args.serial_file:
        # The serial port goes to a file; the process's own output is only diagnostics.
        try:
            os.unlink(args.serial_file)
        except FileNotFoundError:
            pass
        proc = subprocess.Popen(args.command, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    else:
        proc = subprocess.Popen(args.command, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    started = time.monotonic()

    res = {"engine": args.engine, "ready": None, "loop_guest": None, "loop_iters": None,
           "loop_host": None, "done": None, "exit": None, "status": None,
           "rss_kib": None, "note": "", "start_cost": started - t0}
    t_mounts = None
    buf = b""
    serial = None
    deadline = t0 + args.timeout
    stop_at = None          # set once DONE is seen: the end of the grace period
    exited = None           # (status, rusage) once waited for
    captured = bytearray()  # the whole serial output, saved next to the log
    eof = False

    def on_line(line, now):
        nonlocal t_mounts
        captured.extend(line + b"\n")
        if args.loader_marker and "loader" not in res and args.loader_marker.encode() in line:
            res["loader"] = now - t0
        # The first printk line with a timestamp tells when the kernel's clock started
        # (early in start_kernel, after the boot loader and the kernel's decompressor).
        m = KSTAMP.match(line)
        if m and "kernel_t0" not in res:
            res["kernel_t0"] = now - t0 - float(m.group(1))
        if res["ready"] is None and READY in line:
            res["ready"] = now - t0
        if t_mounts is None and MOUNTS in line:
            t_mounts = now
        m = LOOP.search(line)
        if m and res["loop_guest"] is None:
            res["loop_iters"] = int(m.group(1))
            res["loop_guest"] = int(m.group(2)) / 1000.0
            if t_mounts is not None:
                res["loop_host"] = now - t_mounts
        if res["done"] is None and DONE in line:
            res["done"] = now - t0

    def feed(data, now):
        nonlocal buf
        buf += data
        # Serial consoles end lines with \r\n; split on \n and drop the \r.
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            on_line(line.rstrip(b"\r"), now)

    while True:
        now = time.monotonic()
        if exited is None:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid == proc.pid:
                exited = (status, rusage)
                res["exit"] = time.monotonic() - t0
        # Read what the guest printed since the last look.
        if args.serial_file:
            if serial is None and os.path.exists(args.serial_file):
                serial = open(args.serial_file, "rb")
            if serial is not None:
                data = serial.read()
                if data:
                    feed(data, now)
            if exited is None:
                time.sleep(0.02)
        else:
            if eof:
                if exited is not None:
                    break
                time.sleep(0.05)
            else:
                r, _, _ = select.select([proc.stdout], [], [], 0.05)
                if r:
                    data = os.read(proc.stdout.fileno(), 65536)
                    if data:
                        feed(data, time.monotonic())
                    else:
                        eof = True     # stdout closed; keep waiting for the exit
                elif exited is not None:
                    break
        if exited is not None and args.serial_file:
            # Pick up the last bytes the emulator flushed on its way out, then stop.
            if serial is not None:
                data = serial.read()
                if data:
                    feed(data, time.monotonic())
            break
        if res["done"] is not None and stop_at is None:
            stop_at = now + EXIT_GRACE
        if exited is None and (now > deadline or (stop_at is not None and now > stop_at)):
            if now > deadline:
                res["note"] = "timeout after %ds" % args.timeout
            # Stop the emulator (its own process group, started above), then reap it.
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(50):
                pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    break
                time.sleep(0.1)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, rusage = os.wait4(proc.pid, 0)
            exited = (status, rusage)
            res["exit"] = time.monotonic() - t0
            res["killed"] = True
            if not args.serial_file:
                break
    if buf:
        on_line(buf.rstrip(b"\r"), time.monotonic())

    status, rusage = exited
    res["status"] = os.waitstatus_to_exitcode(status)
    res["status_ok"] = res["status"] in args.ok_status or bool(res.get("killed"))
    res["rss_kib"] = rusage.ru_maxrss        # KiB on Linux
    res["cpu_s"] = rusage.ru_utime + rusage.ru_stime
    if args.log:
        log.close()
        with open(args.log + ".serial", "wb") as f:
            f.write(bytes(captured))
        if res["ready"] is None:
            # The guest never came up: the emulator's last words say why.
            with open(args.log, "rb") as f:
                lines = [l.strip() for l in f.read().decode("utf-8", "replace").splitlines()]
            lines = [l for l in lines if l]
            if lines:
                res["note"] = (res["note"] + "; " if res["note"] else "") + lines[-1][:100]
    print(json.dumps(res))


def fmt(v, width, prec=1):
    return ("%*.*f" % (width, prec, v)) if isinstance(v, (int, float)) else "%*s" % (width, v or "-")


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0:
        return "%.2f" % (a / b)
    return "n/a"


def report(args):
    rows = [json.loads(line) for line in sys.stdin if line.strip()]
    by = {r["engine"]: r for r in rows}
    head = "%-10s %9s %8s %13s %9s %13s %7s  %s"
    print("peer boot benchmark (kernel %s, loop %s)" % (args.kernel, args.loop))
    if args.append:
        print("kernel command line: %s" % args.append)
    # loop(s) is what the guest measured with its own clock; loop-wall(s) is the same loop
    # timed on the host (from the line printed just before it to its result line), which
    # does not depend on how well an emulator keeps guest time.
    print(head % ("engine", "ready(s)", "loop(s)", "loop-wall(s)", "total(s)",
                  "peakRSS(MiB)", "cpu(s)", "notes"))
    for r in rows:
        if "error" in r:
            print(head % (r["engine"], "-", "-", "-", "-", "-", "-", r["error"]))
            continue
        total = r.get("done")
        notes = []
        if total is None and r.get("loop_guest") is not None and r.get("exit") is not None \
                and not r.get("killed"):
            # The guest finished its checks and powered off, but the end of its output was
            # still in the UART's transmit buffer (Bochs sends at the emulated baud rate).
            total = r["exit"]
            notes.append("total = poweroff (DONE line lost in the UART buffer)")
        if r.get("loader") is not None:
            notes.append("boot loader up at %.1fs" % r["loader"])
        if r.get("kernel_t0") is not None:
            notes.append("kernel clock 0 at ~%.1fs" % r["kernel_t0"])
        if r.get("ready") is None:
            notes.append("no SWIFTPC-INIT-OK")
        if r.get("note"):
            notes.append(r["note"])
        if not r.get("status_ok", True):
            notes.append("exit status %s" % r["status"])
        rss = r["rss_kib"] / 1024.0 if r.get("rss_kib") is not None else None
        r["_total"] = total
        print(head % (
            r["engine"], fmt(r.get("ready"), 9), fmt(r.get("loop_guest"), 8, 2),
            fmt(r.get("loop_host"), 13, 2), fmt(total, 9), fmt(rss, 13, 0),
            fmt(r.get("cpu_s"), 7), "; ".join(notes)))
    s = by.get("swiftpc")
    for peer in ("qemu-tcg", "bochs"):
        p = by.get(peer)
        if s is None or p is None or "error" in s or "error" in p:
            continue
        print("ratios swiftpc/%-8s ready %s  loop %s  loop-wall %s  total %s  peakRSS %s" % (
            peer, ratio(s.get("ready"), p.get("ready")),
            ratio(s.get("loop_guest"), p.get("loop_guest")),
            ratio(s.get("loop_host"), p.get("loop_host")),
            ratio(s.get("_total"), p.get("_total")),
            ratio(s.get("rss_kib"), p.get("rss_kib"))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--engine", required=True)
    r.add_argument("--timeout", type=float, default=900)
    r.add_argument("--serial-file")
    r.add_argument("--log")
    r.add_argument("--loader-marker",
                   help="a boot loader's line whose time is reported as 'boot loader up'")
    r.add_argument("--ok-status", type=int, action="append", default=[0],
                   help="exit status meaning the guest powered off (default 0)")
    r.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("report")
    p.add_argument("--kernel", default="?")
    p.add_argument("--loop", default="?")
    p.add_argument("--append")
    args = ap.parse_args()
    if args.cmd == "run":
        if args.command and args.command[0] == "--":
            args.command = args.command[1:]
        if not args.command:
            ap.error("run: no command")
        run(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
