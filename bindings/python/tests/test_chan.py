"""Chan: the contract's semantics (CONTRACT.md, Python)."""
import threading
import time

import pytest

import goro


def test_buffered_fifo_len_cap():
    ch = goro.Chan(3)
    assert ch.cap == 3 and len(ch) == 0
    for v in ("a", 2, None):
        ch.send(v)
    assert len(ch) == 3
    assert [ch.recv(), ch.recv(), ch.recv()] == ["a", 2, None]


def test_unbuffered_handoff_between_goroutines():
    ch = goro.Chan()
    assert ch.cap == 0
    goro.go(lambda: [ch.send(i) for i in range(100)])
    assert [ch.recv() for _ in range(100)] == list(range(100))


def test_objects_keep_identity():
    ch = goro.Chan(1)
    obj = object()
    ch.send(obj)
    assert ch.recv() is obj


def test_close_semantics():
    ch = goro.Chan(2)
    ch.send(1)
    ch.close()
    with pytest.raises(goro.Closed):
        ch.send(2)
    with pytest.raises(goro.Closed):
        ch.close()
    assert ch.recv() == 1  # drains first
    with pytest.raises(goro.Closed):
        ch.recv()
    assert ch.recv_ok() == (None, False)
    with pytest.raises(goro.Closed):
        ch.try_recv()
    with pytest.raises(goro.Closed):
        ch.try_send(3)
    assert ch.closed


def test_recv_ok():
    ch = goro.Chan(1)
    ch.send(5)
    assert ch.recv_ok() == (5, True)


def test_try_forms():
    ch = goro.Chan(1)
    assert ch.try_recv() == (None, False)
    assert ch.try_send("x") is True
    assert ch.try_send("y") is False
    assert ch.try_recv() == ("x", True)
    u = goro.Chan()
    assert u.try_send(1) is False  # nobody waiting


def test_close_wakes_waiters():
    ch = goro.Chan()
    out = goro.Chan(10)

    def r():
        out.send(ch.recv_ok())

    for _ in range(5):
        goro.go(r)
    time.sleep(0.05)
    ch.close()
    assert sorted(out.recv() for _ in range(5)) == [(None, False)] * 5


def test_timeouts_consume_nothing():
    ch = goro.Chan(1)
    t = time.monotonic()
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0.05)
    assert time.monotonic() - t >= 0.045
    ch.send(1)
    with pytest.raises(TimeoutError):
        ch.send(2, timeout=0.02)
    with pytest.raises(TimeoutError):
        ch.send(2, timeout=0)
    assert ch.recv(timeout=1) == 1
    assert len(ch) == 0
    with pytest.raises(TimeoutError):
        ch.recv(timeout=0)
    assert goro.TimeoutError is TimeoutError


def test_unbuffered_send_timeout_delivers_nothing():
    ch = goro.Chan()
    with pytest.raises(TimeoutError):
        ch.send("lost?", timeout=0.02)
    assert ch.try_recv() == (None, False)


def test_iteration_until_closed():
    ch = goro.Chan(4)

    def prod():
        for i in range(10):
            ch.send(i)
        ch.close()

    goro.go(prod)
    assert list(ch) == list(range(10))


def test_threads_and_goroutines_share_a_channel():
    ch = goro.Chan(8)
    n = 2000
    out = goro.Chan(4 * n)

    def consume():
        for v in ch:
            out.send(v)

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    wg = goro.WaitGroup()
    for _ in range(2):
        goro.go(consume)
    for k in range(4):
        wg.add(1)

        def prod(k=k):
            try:
                for i in range(n):
                    ch.send(k * n + i)
            finally:
                wg.done()

        if k % 2:
            goro.go(prod)
        else:
            threading.Thread(target=prod).start()
    wg.wait(timeout=60)
    ch.close()
    for t in threads:
        t.join()
    got = []
    while True:
        v, ok = out.try_recv()
        if not ok:
            break
        got.append(v)
    time.sleep(0.05)
    while True:
        v, ok = out.try_recv()
        if not ok:
            break
        got.append(v)
    assert sorted(got) == list(range(4 * n))


def test_bad_arguments():
    with pytest.raises(ValueError):
        goro.Chan(-1)
    with pytest.raises(TypeError):
        goro.Chan("3")
    ch = goro.Chan(1)
    with pytest.raises(ValueError):
        ch.recv(timeout=-1)
    with pytest.raises(ValueError):
        ch.recv(timeout=float("nan"))
    with pytest.raises(TypeError):
        ch.recv(timeout="soon")
    assert "goro.Chan" in repr(ch)
    assert goro.Chan[int] is goro.Chan


def test_values_left_in_a_dropped_channel_are_released():
    import gc
    import weakref

    class Obj:
        pass

    o = Obj()
    w = weakref.ref(o)
    ch = goro.Chan(1)
    ch.send(o)
    del o, ch
    gc.collect()
    assert w() is None


def test_signal_handlers_run_while_the_main_thread_waits():
    """A blocked call runs the signal handlers and keeps waiting (registered once); a handler
    that raises ends it with that exception, consuming nothing."""
    import os
    import signal
    import threading

    ran = []
    old = signal.signal(signal.SIGUSR1, lambda *_: ran.append(1))
    try:
        ch = goro.Chan()
        threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        goro.go(lambda: (goro.sleep(0.15), ch.send("after the signal")))
        assert ch.recv(timeout=10) == "after the signal"
        assert ran == [1]

        class Stop(Exception):
            pass

        def stop(*_):
            raise Stop()

        signal.signal(signal.SIGUSR1, stop)
        threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(Stop):
            ch.recv(timeout=10)
        threading.Timer(0.02, os.kill, (os.getpid(), signal.SIGUSR1)).start()
        with pytest.raises(Stop):
            ch.send("never", timeout=10)
        assert ch.try_recv() == (None, False)  # the interrupted send delivered nothing
        goro.go(lambda: ch.send("kept"))
        assert ch.recv(timeout=10) == "kept"  # the interrupted recv left no receiver behind
    finally:
        signal.signal(signal.SIGUSR1, old)
