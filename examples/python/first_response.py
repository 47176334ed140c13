"""First response: ask three replicas, take the first answer, cancel the rest (Go's
"replicated search"). The slow ones are parked in a context-aware sleep and a send; the
cancel ends both, and nothing they would have sent is left on the channel."""
import time

import goro


def replica(ctx, name, delay, answers):
    goro.sleep(delay, ctx=ctx)  # the "work"
    answers.send((name, delay), ctx=ctx)  # only the first is received


answers = goro.Chan()
t = time.monotonic()
with goro.Group() as g:
    for name, delay in (("slow", 2.0), ("fast", 0.02), ("medium", 0.5)):
        g.go(replica, g.ctx, name, delay, answers)
    name, _ = answers.recv(timeout=5)
    g.cancel()  # the others end with Cancelled, which the group does not count as errors
took = time.monotonic() - t
print("first answer from %s after %.3f s; the rest cancelled" % (name, took))
assert name == "fast" and took < 1.5
assert answers.try_recv() == (None, False)  # no late answer was delivered
