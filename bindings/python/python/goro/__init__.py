"""goro: goroutines, channels and select for Python, on the goro runtime.

    import goro

    def worker(n, out):
        out.send(n * n)

    out = goro.Chan()
    for i in range(3):
        goro.go(worker, i, out)
    print(sorted(out.recv() for _ in range(3)))   # [0, 1, 4]

Goroutines are real goroutines: thousands park on channels without an OS thread each, and
every blocking call releases the GIL. See CONTRACT.md (Python) for the full surface.

Sockets: goro.socket is the stdlib's socket API whose waits park the goroutine;
goro.monkey.patch_socket() makes http.client, urllib, socketserver and others use it.

Seeing inside: goro.dump() (every goroutine: state, wait, function, where started),
goro.profile(kind) / goro.write_profile(kind, path) (pprof for `go tool pprof`),
goro.leaks() / goro.leak_report(), goro.debug_serve(), goro.counters(); goro.testing fails a
test that leaves goroutines behind.
"""

import atexit as _atexit
import threading as _threading

from ._goro import (
    Cancelled,
    Chan,
    Closed,
    Context,
    DeadlineExceeded,
    Group,
    GoroutineExit,
    Mutex,
    Pool,
    RecvCase,
    SendCase,
    Ticker,
    WaitGroup,
    after,
    defer,
    exit,
    go,
    gomaxprocs,
    goroutine_id,
    num_cpu,
    num_goroutine,
    recv,
    run,
    select,
    send,
    set_excepthook,
    sleep,
    yield_,
    # Contexts
    background,
    with_cancel,
    with_deadline,
    with_timeout,
    # Seeing inside
    counters,
    debug_serve,
    dump,
    leak_report,
    profile,
    set_block_profile_rate,
    set_mutex_profile_fraction,
    set_traceback,
    start_cpu_profile,
    stop_cpu_profile,
)
from . import _goro
from ._trace import Goroutine, goroutines, leaks, write_profile

TimeoutError = TimeoutError  # the builtin: what every timeout= raises

__all__ = [
    "Chan", "Closed", "GoroutineExit", "Mutex", "Pool", "RecvCase", "SendCase", "Ticker",
    "TimeoutError", "WaitGroup", "after", "defer", "exit", "go", "gomaxprocs",
    "goroutine_id", "num_cpu", "num_goroutine", "recv", "run", "select", "select_async",
    "send", "set_excepthook", "sleep", "yield_",
    # Contexts
    "Cancelled", "Context", "DeadlineExceeded", "Group", "background", "with_cancel",
    "with_deadline", "with_timeout",
    # Seeing inside
    "Goroutine", "counters", "debug_serve", "dump", "goroutines", "leak_report", "leaks",
    "profile", "set_block_profile_rate", "set_mutex_profile_fraction", "set_traceback",
    "start_cpu_profile", "stop_cpu_profile", "write_profile",
]


def select_async(*cases, timeout=None, ctx=None):
    """select_async(*cases, timeout=None, ctx=None) -> (index, value, ok) (a coroutine)

    select() for asyncio, without blocking the event loop: the same cases and result. A
    timeout raises TimeoutError, the end of `ctx` Cancelled or DeadlineExceeded; a cancelled
    await sends and receives nothing (if a case won the race against the cancellation, its
    result is returned)."""
    from . import _aio  # asyncio is imported only by programs that use it

    return _aio.select(*cases, timeout=timeout, ctx=ctx)


def _pool_map(pool, fn, iterables, timeout):
    """Pool.map: results in order, as concurrent.futures.Executor.map; an exception is
    raised when its result is reached. Submission runs ahead of the consumer by a bounded
    window, so an endless iterable works."""
    import collections

    window = collections.deque()
    ahead = max(2, pool.workers * 4)
    items = zip(*iterables)

    def gen():
        try:
            for args in items:
                window.append(pool._submit_slot(fn, args))
                if len(window) >= ahead:
                    yield window.popleft().result(timeout)
            while window:
                yield window.popleft().result(timeout)
        finally:
            window.clear()

    return gen()


_goro._set_main_thread(_threading.main_thread().ident)


def _at_exit():
    # Before finalization: stop goroutines from re-entering Python (see rt.rs).
    _goro._shutdown(2.0)


_atexit.register(_at_exit)
