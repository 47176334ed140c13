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


def _bridge(loop):
    b = _bridges.get(loop)
    if b is None:
        b = _goro._Bridge()
        loop.add_reader(b.fd, b.drain)
        _bridges[loop] = b
    return b


async def _wait(cases, timeout, undo=None):
    """(index, value, ok) of the case that completed. `undo(result)` reverts a completion
    that raced a cancellation; without it the result is returned instead of the cancel."""
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


async def send(ch, value, timeout=None):
    if ch.try_send(value):
        return None
    if timeout == 0:
        raise TimeoutError("timed out")
    _, _, ok = await _wait((_goro.send(ch, value),), timeout)
    if not ok:
        raise Closed("channel closed")
    return None


async def recv(ch, timeout=None):
    v, ok = ch.try_recv()  # raises Closed once closed and drained
    if ok:
        return v
    if timeout == 0:
        raise TimeoutError("timed out")
    _, v, ok = await _wait((_goro.recv(ch),), timeout)
    if not ok:
        raise Closed("channel closed")
    return v


async def anext(ch):
    try:
        return await recv(ch)
    except Closed:
        raise StopAsyncIteration from None


async def select(*cases, timeout=None):
    r = _goro.select(*cases, default=True)
    if r[0] >= 0:
        return r
    if timeout == 0:
        raise TimeoutError("timed out")
    return await _wait(cases, timeout)


async def wait_source(src, timeout=None):
    """WaitGroup.wait_async, Pool.wait_async (the start tries first): nothing to undo."""
    await _wait((src,), timeout, undo=lambda r: None)


async def lock(mu, timeout=None):
    if mu.try_lock():
        return None
    await _wait((mu,), timeout, undo=lambda r: mu.unlock())


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
