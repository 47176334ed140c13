"""Finding a leaked goroutine and a slow channel with goro's seeing-inside tools.

A small service fans requests out to workers. Two bugs hide in it:
  1. `lookup` forgets to answer when the key is missing, so whoever waits for that answer
     (here `fetch`) blocks forever: a leaked goroutine;
  2. `slow_store` takes 20 ms per write behind an unbuffered channel, so `writer`s queue up
     on it: a slow channel.

The leak report names the leaked goroutine and the line that started it; the block profile
(read with `go tool pprof -top`, when Go is installed) puts the goroutines waiting on the slow
channel on top; the dump shows every goroutine with what it waits on and for how long.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import goro
from goro.testing import find_leaks, snapshot

goro.set_block_profile_rate(1)  # sample every wait (as runtime.SetBlockProfileRate(1))

TABLE = {"a": 1, "b": 2}


def lookup(key, reply):
    if key in TABLE:
        reply.send(TABLE[key])
    # bug 1: no reply for a missing key


def fetch(key, results):
    reply = goro.Chan()
    goro.go(lookup, key, reply)
    results.send((key, reply.recv()))  # blocks forever for a missing key


def slow_store(writes):
    for _ in writes:
        goro.sleep(0.02)  # bug 2: slow, and nothing buffers in front of it


def writer(i, writes, wg):
    writes.send(i)
    wg.done()


before = snapshot()
results = goro.Chan(10)
for key in ["a", "b", "missing"]:
    goro.go(fetch, key, results)  # the leaked one is started here
got = dict(results.recv() for _ in range(2))
print("fetched", got)

writes, wg = goro.Chan(), goro.WaitGroup()
goro.go(slow_store, writes)
wg.add(10)
for i in range(10):
    goro.go(writer, i, writes, wg)
wg.wait()
writes.close()

# 1. The leak: `fetch` waits on its own `reply`, which nothing else can reach any more, so
#    goro.leaks() names it as Go's goroutineleak profile would (unreachable=True; on CPython
#    3.11-3.13, elsewhere only a threshold finds it); `blocked_longer_than` adds goroutines
#    merely blocked for long.
goro.sleep(0.3)
leaked = goro.leaks(blocked_longer_than=0.25)
print("\nleak report:\n" + goro.leak_report(blocked_longer_than=0.25))
assert [g.func for g in leaked] == ["__main__.fetch"], leaked
assert leaked[0].waiting_for == "chan receive"
assert leaked[0].started_at.endswith("find_leak.py:53"), leaked[0].started_at
if (3, 11) <= sys.version_info[:2] <= (3, 13):
    never = goro.leaks()
    assert [(g.func, g.unreachable) for g in never] == [("__main__.fetch", True)], never
# goro.testing finds the same thing relative to a snapshot (what a test would fail on).
left = find_leaks(before, timeout=0.1)
assert [g.func for g in left] == ["__main__.fetch"], left

# 2. The slow channel: the block profile, as `go tool pprof -top` reads it.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "block.pb.gz")
    goro.write_profile("block", path)
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if os.path.exists(go):
        out = subprocess.run([go, "tool", "pprof", "-top", path], capture_output=True,
                             text=True, check=True).stdout
        print("go tool pprof -top block.pb.gz:\n" + out)
        top = out.split("flat%", 1)[1].splitlines()[1].split()[-1]
        assert top == "__main__.writer", top
    else:
        print("(go not installed: block profile written but not read)")

# 3. The dump: every goroutine, its state, how long, its function and where it started.
dump = goro.dump()
print("dump:\n" + dump)
assert re.search(r"\[chan receive, [\d.]+m?s( \(leaked\))?\]:\n__main__\.fetch\n", dump), dump
goro.set_block_profile_rate(0)
print("found: the leaked fetch and the slow writes")
