"""100,000 goroutines, each parked on its own channel, then all woken: no OS thread each."""
import os
import time

import goro

N = 100_000
wg = goro.WaitGroup()
chans = [goro.Chan() for _ in range(N)]
total = [0]


def hello(ch):
    goro.defer(wg.done)
    v = ch.recv()  # parks here (read total only after: a park is a switch)
    total[0] += v


def os_threads():
    return len(os.listdir("/proc/self/task"))


t = time.monotonic()
lent_before = goro.counters()["handoffs"]
wg.add(N)
for ch in chans:
    goro.go(hello, ch)
peak = os_threads()
print("%d goroutines started in %.2f s" % (N, time.monotonic() - t))
for i, ch in enumerate(chans):
    ch.send(1)
    if i % 10_000 == 0:
        peak = max(peak, os_threads())
wg.wait()
peak = max(peak, os_threads())
lent = goro.counters()["handoffs"] - lent_before
print("all %d said hello in %.2f s; OS threads in this process, at most: %d (GOMAXPROCS %d)"
      % (total[0], time.monotonic() - t, peak, goro.gomaxprocs()))
assert total[0] == N
# Python goroutines that only wait on goro and on the GIL need no thread of their own: the
# main thread, GOMAXPROCS workers and sysmon, and a few more; plus any spare thread the monitor
# lent a worker stalled outside a goroutine wait (a page fault on a loaded machine), which
# must stay rare: a thread per waiting goroutine would lend thousands.
assert peak <= goro.gomaxprocs() + 4 + lent, "%d OS threads (%d spares lent)" % (peak, lent)
assert lent <= 64, "%d spare threads lent for %d goroutines" % (lent, N)
