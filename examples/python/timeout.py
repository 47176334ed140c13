"""Timeouts: a receive with timeout=, select with goro.after, and a Ticker."""
import time

import goro

ch = goro.Chan()
t = time.monotonic()
try:
    ch.recv(timeout=0.05)
    raise SystemExit("expected a timeout")
except TimeoutError:
    print("recv timed out after %.3f s" % (time.monotonic() - t))

goro.go(lambda: (goro.sleep(0.2), ch.send("too late")))
i, v, ok = goro.select(goro.recv(ch), goro.recv(goro.after(0.05)))
print("select chose", "the timer" if i == 1 else "the value")
assert i == 1

tk = goro.Ticker(0.01)
ticks = [tk.C.recv() for _ in range(3)]
tk.stop()
print("3 ticks, %.1f ms apart" % (1000 * (ticks[2] - ticks[0]) / 2))
assert ticks == sorted(ticks)
