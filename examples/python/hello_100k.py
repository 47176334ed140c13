"""100,000 goroutines, each parked on its own channel, then all woken: no OS thread each."""
import threading
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


t = time.monotonic()
wg.add(N)
for ch in chans:
    goro.go(hello, ch)
print("%d goroutines started in %.2f s; OS threads in this process: %d"
      % (N, time.monotonic() - t, threading.active_count()), end="")
import os
print(" (+%d goro workers)" % (len(os.listdir("/proc/self/task")) - threading.active_count()))
for ch in chans:
    ch.send(1)
wg.wait()
print("all %d said hello in %.2f s" % (total[0], time.monotonic() - t))
assert total[0] == N
