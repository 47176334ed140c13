"""asyncio forms of channel operations (see src/aio.rs for the mechanism).

Each first tries without waiting; when it must wait it starts a callback wait in the runtime
and awaits a future that the loop's bridge settles. A cancelled await consumes and delivers
nothing; if the operation won the race against the cancellation, its result is returned
(the cancellation is absorbed, as asyncio.wait_for does), so no value is lost."""

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


async def _wait(ch, is_send, value, timeout):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    op = _goro._async_start(ch, is_send, value, timeout, fut, _bridge(loop))
    if op is None:
        return fut.result()
    try:
        return await fut
    except asyncio.CancelledError:
        if op.cancel():
            raise
        # The operation completed before the cancel: a value was taken from the channel (or
        # handed to a receiver). Deliver the result rather than lose it; the task goes on
        # (as asyncio.wait_for does when its inner future completed first).
        try:
            return op.result_now()
        except TimeoutError:
            raise asyncio.CancelledError() from None


async def send(ch, value, timeout=None):
    if ch.try_send(value):
        return None
    if timeout == 0:
        raise TimeoutError("timed out")
    _, ok = await _wait(ch, True, value, timeout)
    if not ok:
        raise Closed("channel closed")
    return None


async def recv(ch, timeout=None):
    v, ok = ch.try_recv()  # raises Closed once closed and drained
    if ok:
        return v
    if timeout == 0:
        raise TimeoutError("timed out")
    v, ok = await _wait(ch, False, None, timeout)
    if not ok:
        raise Closed("channel closed")
    return v


async def anext(ch):
    try:
        return await recv(ch)
    except Closed:
        raise StopAsyncIteration from None
