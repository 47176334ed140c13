"""Shared by the per-system benchmark programs: timing, RSS, verification, output."""
import json
import os
import sys
import time

now = time.perf_counter


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def threads():
    """OS threads of this process now."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def job_data():
    return list(range(100))


JOB_SUM = sum(range(100))


def check(cond, what):
    if not cond:
        print(json.dumps({"ok": False, "error": what}))
        sys.exit(1)


def report(w, value, unit, **extra):
    print(json.dumps({"ok": True, "w": w, "value": value, "unit": unit, **extra}), flush=True)


def main(table):
    w, n = sys.argv[1], int(sys.argv[2])
    table[w](n)
