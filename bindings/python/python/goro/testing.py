"""goro.testing: fail a test that leaves goroutines running, as uber-go/goleak does for Go.

    from goro.testing import no_leaks

    def test_worker():
        with no_leaks():                 # or @no_leaks() on the test function
            start_workers_and_stop_them()

At the end of the block, every goroutine started inside it must have ended. Goroutines that
end a little late (a close that is still being delivered) are waited for: the check retries
with growing pauses for up to `timeout` seconds (less when goro.leaks() shows that all of
them can never run again). Then each one still alive is named in an AssertionError: its id,
state and how long it has waited, the function it runs and the file:line where it was
started, and whether it is leaked for good (blocked on channels nothing else can reach).

For pytest, `pytest_plugins = ["goro.pytest_plugin"]` in a conftest.py gives the fixture
`goro_no_leaks` (use it in a test's arguments, or with `@pytest.mark.usefixtures`).

`verify_none()` checks that no goroutine is alive at all (besides the caller and those it is
told to ignore), as goleak.VerifyNone at the end of a test binary.
"""

import functools
import time

from . import _goro, _trace

__all__ = ["no_leaks", "snapshot", "verify_none", "find_leaks"]

# Short-lived goroutines of goro itself (a timer delivering to its channel).
_INTERNAL = ("goro.timer.deliver",)


def snapshot():
    """The ids of the goroutines alive now (to pass as `since=` to verify_none)."""
    return frozenset(g.id for g in _trace.goroutines())


def _ignored(g, ignore):
    for pat in ignore:
        if callable(pat):
            if pat(g):
                return True
        elif g.func == pat or (pat.endswith("*") and g.func.startswith(pat[:-1])):
            return True
    return False


def _alive(since, ignore):
    me = _goro.goroutine_id()
    return [
        g for g in _trace.goroutines()
        if g.id != me and g.id not in since and g.func not in _INTERNAL
        and not _ignored(g, ignore)
    ]


def find_leaks(since=frozenset(), timeout=1.0, ignore=()):
    """The goroutines (goro.Goroutine) alive, other than the caller, those in `since` and
    those `ignore`d, once `timeout` seconds of retries have passed with some alive (an empty
    list as soon as none is). `ignore`: function names ("mod.fn", or a prefix ending in "*")
    or predicates taking a goro.Goroutine."""
    if isinstance(ignore, str) or callable(ignore):
        ignore = (ignore,)
    deadline = time.monotonic() + max(0.0, timeout)
    pause = 0.001
    looked = False
    while True:
        alive = _alive(since, ignore)
        if not alive:
            return []
        now = time.monotonic()
        if now >= deadline:
            return alive
        if not looked and pause >= 0.016:
            # Once, after a few retries: when every one left can never run again (goro.leaks:
            # never a false report), waiting longer cannot help.
            looked = True
            never = {g.id for g in _trace.leaks()}
            if all(g.id in never for g in alive):
                return alive
        _goro.sleep(min(pause, deadline - now))
        pause = min(pause * 2, 0.1)


def _fail(alive, timeout, what):
    n = len(alive)
    never = {g.id for g in _trace.leaks()}
    body = "\n\n".join(
        str(g) + ("\n(leaked: blocked on channels nothing else can reach)" if g.id in never
                  else "")
        for g in alive)
    raise AssertionError(
        f"goro: {n} goroutine{'s' if n != 1 else ''} {what} still running after "
        f"{timeout:g}s:\n\n{body}\n"
    )


def verify_none(timeout=1.0, ignore=(), since=frozenset()):
    """Fails (AssertionError) if any goroutine other than the caller, those in `since` (see
    snapshot()) and those `ignore`d is still alive after `timeout` seconds of retries."""
    alive = find_leaks(since, timeout, ignore)
    if alive:
        _fail(alive, timeout, "(not ignored)")


class no_leaks:
    """Context manager and decorator: every goroutine started inside must have ended when it
    exits (retrying for up to `timeout` seconds); else AssertionError naming each one and
    where it was started. `ignore` as for find_leaks. When the block raises, its exception
    goes on and no check is made."""

    def __init__(self, timeout=1.0, ignore=()):
        self.timeout = timeout
        self.ignore = ignore
        self._since = None

    def __enter__(self):
        self._since = snapshot()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return False
        alive = find_leaks(self._since, self.timeout, self.ignore)
        if alive:
            _fail(alive, self.timeout, "started here")
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with no_leaks(self.timeout, self.ignore):
                return fn(*args, **kwargs)

        return wrapper
