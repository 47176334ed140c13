"""Timeouts: a receive with timeout=, a context with a deadline shared by several calls,
select on ctx.done() with goro.after, and a Ticker."""
import time

import goro

ch = goro.Chan()
t = time.monotonic()
try:
    ch.recv(timeout=0.05)
    raise SystemExit("expected a timeout")
except TimeoutError:
    print("recv timed out after %.3f s" % (time.monotonic() - t))

# One deadline for a whole conversation: every call given ctx= stops when it passes
# (goro.DeadlineExceeded, a TimeoutError), whichever call is waiting then.
with goro.with_timeout(0.1) as ctx:
    goro.go(lambda: (goro.sleep(0.02), ch.send("hello")))
    print("got", ch.recv(ctx=ctx))
    t = time.monotonic()
    try:
        ch.recv(ctx=ctx)  # nobody sends again
        raise SystemExit("expected the deadline")
    except goro.DeadlineExceeded as e:
        assert isinstance(e, TimeoutError)
        print("deadline exceeded after %.3f s more" % (time.monotonic() - t))

goro.go(lambda: (goro.sleep(0.2), ch.try_send("too late")))
ctx = goro.with_timeout(0.05)
i, v, ok = goro.select(goro.recv(ch), goro.recv(ctx.done()), goro.recv(goro.after(5)))
print("select chose", ["the value", "ctx.done()", "the timer"][i], "->", ctx.err())
assert i == 1 and isinstance(ctx.err(), goro.DeadlineExceeded)

tk = goro.Ticker(0.01)
ticks = [tk.C.recv() for _ in range(3)]
tk.stop()
print("3 ticks, %.1f ms apart" % (1000 * (ticks[2] - ticks[0]) / 2))
assert ticks == sorted(ticks)
