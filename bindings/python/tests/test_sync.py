"""WaitGroup and Mutex."""
import threading

import pytest

import goro


def test_waitgroup():
    wg = goro.WaitGroup()
    wg.wait()  # zero: at once
    total = []
    for i in range(100):
        wg.add(1)

        def f(i=i):
            goro.defer(wg.done)
            goro.sleep(0.001)
            total.append(i)

        goro.go(f)
    wg.wait(timeout=10)
    assert sorted(total) == list(range(100))
    assert wg.count == 0


def test_waitgroup_misuse_and_timeout():
    wg = goro.WaitGroup()
    with pytest.raises(RuntimeError):
        wg.done()
    with pytest.raises(RuntimeError):
        wg.add(-2)
    wg.add(2)
    with pytest.raises(TimeoutError):
        wg.wait(timeout=0.01)
    assert wg.count == 2


def test_mutex_counts_under_contention():
    mu = goro.Mutex()
    n = [0]
    wg = goro.WaitGroup()

    def inc():
        goro.defer(wg.done)
        for _ in range(200):
            with mu:
                v = n[0]
                goro.yield_()  # switch while holding it
                n[0] = v + 1

    for _ in range(10):
        wg.add(1)
        goro.go(inc)
    wg.add(1)

    def thread_inc():
        try:
            for _ in range(200):
                mu.lock()
                n[0] += 1
                mu.unlock()
        finally:
            wg.done()

    threading.Thread(target=thread_inc).start()
    wg.wait(timeout=30)
    assert n[0] == 11 * 200


def test_mutex_misuse_try_and_timeout():
    mu = goro.Mutex()
    with pytest.raises(RuntimeError):
        mu.unlock()
    assert mu.try_lock() is True
    assert mu.try_lock() is False
    assert mu.locked
    with pytest.raises(TimeoutError):
        mu.lock(timeout=0.01)
    goro.run(mu.unlock)  # another goroutine may unlock, as in Go
    assert not mu.locked
