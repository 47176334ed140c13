"""errgroup: run tasks in a goro.Group; the first exception cancels the group's context
(g.ctx), the others' waits on it end with goro.Cancelled, and the exception is raised when
the block ends. A limit bounds how many run at once."""
import time

import goro


def task(g, i, ran):
    ran.append(i)
    if i == 3:
        raise ValueError(f"task {i} failed")
    # Long work, unless the group is cancelled first: sleep takes the context.
    goro.sleep(5, ctx=g.ctx)
    raise AssertionError("the cancellation should end this sleep long before 5 s")


t = time.monotonic()
ran = []
try:
    with goro.Group(limit=4) as g:
        for i in range(6):
            g.go(task, g, i, ran)  # waits while 4 run
except ValueError as e:
    err = e
took = time.monotonic() - t
print("first error: %s (after %.3f s; %d tasks started)" % (err, took, len(ran)))
assert "task 3" in str(err) and took < 4
assert isinstance(g.ctx.err(), goro.Cancelled)
# The Cancelled the siblings raised is the echo of the failure, not another error.
