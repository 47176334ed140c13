"""asyncio forms of goro's waits (see src/aio.rs for the mechanism).

Each first tries without waiting; when it must wait it starts a wait in the runtime (one
select over its cases: channel operations, or a WaitGroup, Mutex or Pool) and awaits a future
that the loop's bridge settles with (index, value, ok). A cancelled await consumes and
delivers nothing; if the wait won the race against the cancellation, a channel operation's
result is returned (the cancellation is absorbed, as asyncio.wait_for does), so no value is
lost, and a mutex handed over is unlocked again (as asyncio.Lock does) before the
CancelledError goes on."""

import asyncio
import weakref

from . import _goro
from ._goro import Closed

_bridges = weakref.WeakKeyDictionary()


class _Keep(BaseException):
    """Carries a result that won the race against a cancellation out of `_wait`'s undo."""

    def __init__(self, r):
        self.r = r


def _ended(ctx):
    """Raises the context's end, if it has ended: checked first, as the blocking calls do."""
    if ctx is not None:
        e = ctx.err()
        if e is not None:
            raise e


def _bridge(loop):
    b = _bridges.get(loop)
    if b is None:
        b = _goro._Bridge()
        loop.add_reader(b.fd, b.drain)
        _bridges[loop] = b
    return b


async def _wait(cases, timeout, undo=None, ctx=None):
    """(index, value, ok) of the case that completed. `undo(result)` reverts a completion
    that raced a cancellation; without it the result is returned instead of the cancel.
    With `ctx`, the context is one more case (the same wait, as the blocking calls do):
    its end raises Cancelled or DeadlineExceeded; an end that raced a cancellation of the
    task leaves the CancelledError to go on (nothing happened)."""
    if ctx is not None:
        n = len(cases)
        inner = undo

        def undo_ctx(r):
            if r[0] != n and inner is not None:
                inner(r)
            elif r[0] != n:
                raise _Keep(r)

        try:
            r = await _wait(cases + (ctx,), timeout, undo_ctx)
        except _Keep as k:
            return k.r  # a case that won the race against the cancel: its result stands
        if r[0] == n:
            raise ctx.err()
        return r
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    op = _goro._async_start(cases, timeout, fut, _bridge(loop))
    if op is None:
        return fut.result()
    try:
        return await fut
    except asyncio.CancelledError:
        if fut.done() and not fut.cancelled():
            result = fut.result  # settled before the cancellation reached us
        elif op.cancel():
            raise
        else:
            # The wait completed before the cancel: a value was taken from a channel (or
            # handed to a receiver), a mutex handed to us.
            result = op.result_now
        try:
            r = result()
        except TimeoutError:
            raise asyncio.CancelledError() from None
        if undo is None:
            return r
        undo(r)
        raise


async def send(ch, value, timeout=None, ctx=None):
    _ended(ctx)
    if ch.try_send(value):
        return None
    if timeout == 0:
        raise TimeoutError("timed out")
    _, _, ok = await _wait((_goro.send(ch, value),), timeout, ctx=ctx)
    if not ok:
        raise Closed("channel closed")
    return None


async def recv(ch, timeout=None, ctx=None):
    _ended(ctx)
    v, ok = ch.try_recv()  # raises Closed once closed and drained
    if ok:
        return v
    if timeout == 0:
        raise TimeoutError("timed out")
    _, v, ok = await _wait((_goro.recv(ch),), timeout, ctx=ctx)
    if not ok:
        raise Closed("channel closed")
    return v


async def anext(ch):
    try:
        return await recv(ch)
    except Closed:
        raise StopAsyncIteration from None


async def select(*cases, timeout=None, ctx=None):
    r = _goro.select(*cases, default=True, ctx=ctx)
    if r[0] >= 0:
        return r
    if timeout == 0:
        raise TimeoutError("timed out")
    return await _wait(cases, timeout, ctx=ctx)


async def wait_source(src, timeout=None, ctx=None):
    """WaitGroup.wait_async, Pool.wait_async (the start tries first): nothing to undo."""
    _ended(ctx)
    await _wait((src,), timeout, undo=lambda r: None, ctx=ctx)


async def lock(mu, timeout=None, ctx=None):
    _ended(ctx)
    if mu.try_lock():
        return None
    await _wait((mu,), timeout, undo=lambda r: mu.unlock(), ctx=ctx)


async def unlock(mu, *_exc):
    mu.unlock()
    return False


async def ready(obj):
    """`async with` entry that needs no wait (Group)."""
    return obj


async def group_end(g, exc=None):
    """Group.wait_async and `async with goro.Group()`'s exit: awaits the moment no member
    runs (the group's `ended` source), then raises what they raised, as Group.__exit__.
    Cancelling the awaiting task cancels the group's context, then the CancelledError goes
    on (the members stop at their next ctx-aware wait)."""
    if exc is not None:
        g.cancel()
    while True:
        try:
            await _wait((g,), None, undo=lambda r: None)
        except asyncio.CancelledError:
            g.cancel()
            raise
        r = g._finish_nowait(exc)
        if r is not None:  # else a member started meanwhile: wait again
            return r
