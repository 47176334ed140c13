import os
import subprocess
import sys
import textwrap

import pytest


def run_py(code, *args, timeout=60, env=None, dev=False):
    """Runs `code` in a fresh interpreter; returns the CompletedProcess."""
    cmd = [sys.executable] + (["-X", "dev"] if dev else []) + ["-c", textwrap.dedent(code)]
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout, env=e)


@pytest.fixture
def py():
    return run_py


@pytest.fixture
def hook():
    """Collects exceptions reported from goroutines instead of printing them."""
    import goro

    got = []
    goro.set_excepthook(lambda gid, exc: got.append((gid, exc)))
    yield got
    goro.set_excepthook(None)


def pytest_sessionfinish(session, exitstatus):
    """At the end of the suite, as goleak.VerifyNone at the end of a Go test binary: no
    goroutine of this process may be leaked (goro.leaks(): blocked on channels only leaked
    goroutines can reach). Tests that leak on purpose do it in a child interpreter."""
    import goro

    left = goro.leaks()
    if left:
        print("\ngoro: leaked goroutines at the end of the suite:\n" + goro.leak_report())
        session.exitstatus = 1
