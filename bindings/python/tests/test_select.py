"""select: cases, default, timeout, None channels, closed channels, fairness."""
import collections
import time

import pytest

import goro


def test_ready_recv_and_send():
    a, b = goro.Chan(1), goro.Chan(1)
    a.send("x")
    assert goro.select(goro.recv(a), goro.recv(b)) == (0, "x", True)
    assert goro.select(goro.recv(b), goro.send(b, 7)) == (1, None, True)
    assert b.recv() == 7


def test_default():
    a = goro.Chan()
    assert goro.select(goro.recv(a), default=True) == (-1, None, False)
    assert goro.select(default=True) == (-1, None, False)


def test_timeout():
    a = goro.Chan()
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        goro.select(goro.recv(a), goro.send(a, 1), timeout=0.05)
    assert time.monotonic() - t >= 0.045
    assert a.try_recv() == (None, False)


def test_none_channel_never_ready():
    a = goro.Chan(1)
    a.send(1)
    for _ in range(20):
        assert goro.select(goro.recv(None), goro.send(None, 2), goro.recv(a), timeout=1)[0] in (2,)
        a.send(1)
    with pytest.raises(TimeoutError):
        goro.select(goro.recv(None), timeout=0.01)


def test_closed_channel_cases():
    a = goro.Chan()
    a.close()
    assert goro.select(goro.recv(a)) == (0, None, False)
    assert goro.select(goro.send(a, 1)) == (0, None, False)


def test_waits_for_a_goroutine():
    a, b = goro.Chan(), goro.Chan()
    goro.go(lambda: (goro.sleep(0.02), b.send("late")))
    assert goro.select(goro.recv(a), goro.recv(b)) == (1, "late", True)


def test_send_case_to_waiting_receiver():
    a = goro.Chan()
    out = goro.Chan(1)
    goro.go(lambda: out.send(a.recv()))
    assert goro.select(goro.send(a, "v"), timeout=2) == (0, None, True)
    assert out.recv(timeout=2) == "v"


def test_random_choice_among_ready():
    a, b = goro.Chan(1000), goro.Chan(1000)
    for i in range(1000):
        a.send(i)
        b.send(i)
    counts = collections.Counter(goro.select(goro.recv(a), goro.recv(b))[0] for _ in range(1000))
    assert 400 < counts[0] < 600, counts


def test_unsent_values_are_not_leaked():
    import gc
    import weakref

    class Obj:
        pass

    o = Obj()
    w = weakref.ref(o)
    a, b = goro.Chan(1), goro.Chan(1)
    a.send(1)
    goro.select(goro.recv(a), goro.send(None, o))
    with pytest.raises(TimeoutError):
        b.send(0)
        goro.select(goro.send(b, o), timeout=0.01)
    del o
    gc.collect()
    assert w() is None


def test_bad_case():
    with pytest.raises(TypeError):
        goro.select(goro.Chan())
    with pytest.raises(TypeError):
        goro.recv(3)
    with pytest.raises(ValueError):
        goro.select(goro.recv(None), timeout=-2)


def test_values_not_sent_come_back_after_a_wait():
    """Send cases that lose (to another case, a timeout or a close) leave no reference behind,
    and the one that wins is delivered once."""
    import sys

    v = object()
    base = sys.getrefcount(v)
    full = goro.Chan(1)
    full.send(0)
    r = goro.Chan()
    goro.go(lambda: (goro.sleep(0.02), r.send("r")))
    assert goro.select(goro.send(full, v), goro.send(None, v), goro.recv(r)) == (2, "r", True)
    assert sys.getrefcount(v) == base
    with pytest.raises(TimeoutError):
        goro.select(goro.send(full, v), goro.send(full, v), timeout=0.02)
    assert sys.getrefcount(v) == base
    s = goro.Chan()
    got = goro.Chan(1)
    goro.go(lambda: (goro.sleep(0.02), got.send(s.recv())))
    assert goro.select(goro.send(full, v), goro.send(s, v)) == (1, None, True)
    assert got.recv(timeout=5) is v
    assert sys.getrefcount(v) == base
    goro.go(lambda: (goro.sleep(0.02), s.close()))
    assert goro.select(goro.send(full, v), goro.send(s, v)) == (1, None, False)
    assert sys.getrefcount(v) == base


def test_many_cases_and_bad_cases_after_sends():
    """Up to 8 cases are served on the stack, more by the core's typed Select: both choose the
    ready case, and a bad case after send cases raises and leaves no reference behind."""
    import sys

    for n in (1, 7, 8, 9, 20):
        chans = [goro.Chan(1) for _ in range(n)]
        chans[n - 1].send("last")
        assert goro.select(*[goro.recv(c) for c in chans]) == (n - 1, "last", True)
        i, _, ok = goro.select(*[goro.send(c, i) for i, c in enumerate(chans)])
        assert ok and chans[i].recv() == i  # every channel has room: one took its value
        assert all(c.try_recv() == (None, False) for c in chans)
    v = object()
    base = sys.getrefcount(v)
    a = goro.Chan(1)
    with pytest.raises(TypeError):
        goro.select(goro.send(a, v), goro.send(a, v), 3)
    with pytest.raises(TypeError):
        goro.select(goro.send(a, v), goro.send(goro.with_cancel().done(), v))
    assert sys.getrefcount(v) == base
    assert a.try_recv() == (None, False)  # nothing was sent
