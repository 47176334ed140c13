"""sleep, after, Ticker."""
import time

import pytest

import goro


def test_sleep_thread_and_goroutine():
    t = time.monotonic()
    goro.sleep(0.02)
    assert time.monotonic() - t >= 0.019
    t = time.monotonic()
    goro.run(goro.sleep, 0.02)
    assert time.monotonic() - t >= 0.019
    goro.sleep(0)
    goro.sleep(-1)


def test_many_goroutines_sleep_concurrently():
    wg = goro.WaitGroup()
    t = time.monotonic()
    for _ in range(1000):
        wg.add(1)
        goro.go(lambda: (goro.sleep(0.1), wg.done()))
    wg.wait(timeout=10)
    assert time.monotonic() - t < 2.0


def test_after():
    t = time.monotonic()
    ch = goro.after(0.03)
    v = ch.recv(timeout=5)
    assert time.monotonic() - t >= 0.029
    assert isinstance(v, float) and v >= t + 0.029
    assert goro.after(0).recv(timeout=1) <= time.monotonic()
    assert goro.select(goro.recv(goro.after(10)), goro.recv(goro.after(0.01)))[0] == 1


def test_ticker():
    tk = goro.Ticker(0.01)
    ticks = [tk.C.recv(timeout=2) for _ in range(5)]
    assert ticks == sorted(ticks)
    tk.stop()
    goro.sleep(0.03)
    tk.C.try_recv()  # at most one left over
    assert tk.C.try_recv() == (None, False)
    goro.sleep(0.03)
    assert tk.C.try_recv() == (None, False)
    assert not tk.C.closed
    with pytest.raises(ValueError):
        goro.Ticker(0)
    with pytest.raises(ValueError):
        goro.sleep(float("nan"))
