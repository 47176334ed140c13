"""Goroutines: go, run, defer, exit, exception reports, thousands parked, runtime knobs."""
import threading
import time

import pytest

import goro


def test_go_returns_id_and_runs():
    out = goro.Chan(1)
    gid = goro.go(lambda x, y=0: out.send((x, y, goro.goroutine_id())), 1, y=2)
    assert isinstance(gid, int) and gid > 0
    assert out.recv(timeout=5) == (1, 2, gid)
    assert goro.goroutine_id() == 0


def test_run_returns_result_and_raises():
    assert goro.run(lambda a, b: a * b, 6, b=7) == 42
    with pytest.raises(KeyError):
        goro.run(lambda: {}["k"])
    assert goro.run(goro.exit) is None


def test_defer_order_and_exit():
    log = []

    def body():
        goro.defer(log.append, 1)
        goro.defer(log.append, 2)
        try:
            goro.exit()
        finally:
            log.append("finally")
        log.append("unreachable")

    goro.run(body)
    assert log == ["finally", 2, 1]


def test_defer_and_exit_outside_goroutine():
    with pytest.raises(RuntimeError):
        goro.defer(print)
    with pytest.raises(RuntimeError):
        goro.exit()


def test_exceptions_are_reported_with_traceback(hook):
    wg = goro.WaitGroup()
    wg.add(3)

    def bad():
        goro.defer(wg.done)
        raise ValueError("boom")

    def leaves():
        goro.defer(wg.done)
        raise SystemExit(3)  # must not exit the process

    def quits():
        goro.defer(wg.done)
        goro.exit()  # silent

    goro.go(bad)
    goro.go(leaves)
    goro.go(quits)
    wg.wait(timeout=5)
    time.sleep(0.01)
    kinds = sorted(type(e).__name__ for _, e in hook)
    assert kinds == ["SystemExit", "ValueError"]
    assert all(e.__traceback__ is not None for _, e in hook)


def test_default_report_goes_to_stderr(py):
    r = py(
        """
        import goro, sys
        wg = goro.WaitGroup(); wg.add(2)
        def f():
            goro.defer(wg.done)
            raise ValueError("boom from goroutine")
        def g():
            goro.defer(wg.done)
            sys.exit(7)
        goro.go(f); goro.go(g); wg.wait()
        print("still alive")
        """
    )
    assert r.returncode == 0, r.stderr
    assert "still alive" in r.stdout
    assert "ValueError: boom from goroutine" in r.stderr
    assert "Traceback" in r.stderr and "SystemExit: 7" in r.stderr


def test_failing_hook_never_loses_the_exception(py):
    r = py(
        """
        import goro
        def hook(gid, e): raise RuntimeError("hook broke")
        goro.set_excepthook(hook)
        goro.run(lambda: goro.go(lambda: 1 / 0))
        goro.sleep(0.2)
        """
    )
    assert "ZeroDivisionError" in r.stderr and "hook broke" in r.stderr, r.stderr


def test_ten_thousand_parked_goroutines():
    n = 10_000
    gate = goro.Chan()
    wg = goro.WaitGroup()
    wg.add(n)
    ids = set()

    def parked(i):
        goro.defer(wg.done)
        v = gate.recv()
        ids.add(v)

    base = goro.num_goroutine()
    for i in range(n):
        goro.go(parked, i)
    deadline = time.monotonic() + 30
    while gate.try_send(-1) is False and time.monotonic() < deadline:
        time.sleep(0.001)
    assert goro.num_goroutine() >= base + n - 1
    threads = threading.active_count()
    assert threads < 50  # parked goroutines hold no OS thread each
    for i in range(n - 1):
        gate.send(i)
    wg.wait(timeout=60)
    assert len(ids) == n


def test_threading_local_is_per_goroutine():
    loc = threading.local()
    out = goro.Chan(100)

    def f(i):
        loc.v = i
        goro.sleep(0.01)
        out.send(loc.v == i)

    for i in range(100):
        goro.go(f, i)
    assert all(out.recv(timeout=5) for _ in range(100))


def test_recursion_in_goroutine():
    def rec(n):
        return 0 if n == 0 else 1 + rec(n - 1)

    assert goro.run(rec, 200) == 200


def test_runtime_knobs():
    n = goro.gomaxprocs()
    assert n >= 1
    assert goro.gomaxprocs(n) == n
    assert goro.num_cpu() >= 1
    assert goro.num_goroutine() >= 0
    with pytest.raises(ValueError):
        goro.gomaxprocs(0)
    with pytest.raises(TypeError):
        goro.go(3)
    with pytest.raises(TypeError):
        goro.set_excepthook(5)


def test_yield():
    goro.yield_()
    assert goro.run(lambda: goro.yield_()) is None


def test_gc_and_exceptions_inside_goroutines():
    import gc

    def f():
        try:
            raise KeyError("x")
        except KeyError:
            import sys

            assert sys.exc_info()[0] is KeyError
            goro.sleep(0.001)  # park with an exception being handled
            assert sys.exc_info()[0] is KeyError
        gc.collect()
        return "ok"

    out = goro.Chan(10)
    for _ in range(10):
        goro.go(lambda: out.send(f()))
    assert [out.recv(timeout=5) for _ in range(10)] == ["ok"] * 10


def test_goroutine_state_does_not_leak_into_the_next():
    """Thread states are reused (CPython < 3.12): nothing of an ended goroutine is seen."""
    loc = threading.local()

    def first():
        loc.x = "old"
        goro.defer(lambda: None)

    def second():
        return getattr(loc, "x", None)

    for _ in range(50):
        goro.run(first)
        assert goro.run(second) is None


def test_frames_on_the_root_chunk_and_past_its_edge():
    """A goroutine's first frames live on a small root chunk (datastack.rs); deeper ones chain
    CPython's own chunks. Parked goroutines at every depth across the edge keep their locals,
    frames outlive their goroutine in tracebacks, and the thread states are deleted or reused
    cleanly afterwards (a root freed by CPython would crash here or at exit)."""
    import sys

    if (3, 11) <= sys.version_info[:2] <= (3, 13) and not hasattr(sys, "gettotalrefcount"):
        assert goro._goro._root_chunk()

    def down(n, gate, depth, a=0, b=1, c=2, d=3):
        if n == 0:
            gate.recv()  # parked at this depth
            return depth
        r = down(n - 1, gate, depth, a + 1, b, c, d)
        return r if (a + n, b, c, d) == (depth, 1, 2, 3) else "corrupt"

    gates = [goro.Chan() for _ in range(60)]
    out = goro.Chan(len(gates))
    for depth, g in enumerate(gates):
        goro.go(lambda depth=depth, g=g: out.send(down(depth, g, depth)))
    goro.sleep(0.05)
    for g in reversed(gates):
        g.send(None)
    assert sorted(out.recv(timeout=10) for _ in gates) == list(range(len(gates)))

    def rec(n):
        return 0 if n == 0 else 1 + rec(n - 1)

    # Deeper than one 16 KiB chunk; before 3.11 each Python call also recursed in C, and 900
    # would overflow the goroutine's C stack.
    deep = 900 if sys.version_info >= (3, 11) else 150

    def bounce():
        # Back and forth across the root's edge, and deeper than one 16 KiB chunk.
        total = 0
        for n in list(range(40)) * 20 + [deep, 3, deep]:
            total += rec(n)
        goro.sleep(0.001)
        squares = (i * i for i in range(5))  # a generator's frame lives in the generator
        return total, sum(squares)

    assert goro.run(bounce) == (sum(range(40)) * 20 + 2 * deep + 3, 30)

    def fails(x):
        local = ["kept", x]
        raise ValueError(local)

    def body():
        try:
            fails(7)
        except ValueError as e:
            return e.__traceback__

    tbs = [goro.run(body) for _ in range(3)]
    goro.sleep(0.01)
    for tb in tbs:  # the frames were copied out of the data stack when they popped
        while tb.tb_next:
            tb = tb.tb_next
        assert tb.tb_frame.f_code.co_name == "fails"
        assert tb.tb_frame.f_locals["local"] == ["kept", 7]
