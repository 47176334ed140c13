"""Runs one example as __main__, then checks, as goleak.VerifyNone does at the end of a Go
test binary, that goro.leaks() names no leaked goroutine beyond those the example leaks on
purpose (GORO_EXAMPLE_LEAKS_ALLOWED, default 0). run_all.sh runs every example through it.

    python _leak_check.py example.py
"""
import os
import runpy
import sys

import goro

path = sys.argv[1]
sys.argv = sys.argv[1:]
status = 0
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit as e:
    status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
allowed = int(os.environ.get("GORO_EXAMPLE_LEAKS_ALLOWED", "0"))
left = [g for g in goro.leaks() if g.unreachable]
if len(left) > allowed:
    print(f"{os.path.basename(path)}: {len(left)} leaked goroutine(s), {allowed} allowed:\n"
          + goro.leak_report(), file=sys.stderr)
    status = status or 1
sys.exit(status)
