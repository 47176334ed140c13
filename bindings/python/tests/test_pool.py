"""Pool: submit, map, wait, close, errors."""
import time

import pytest

import goro


def test_submit_and_wait():
    out = []
    with goro.Pool(workers=4) as p:
        assert p.workers == 4
        for i in range(100):
            p.submit(out.append, i)
        p.wait()
        assert sorted(out) == list(range(100))
        p.wait()  # any number of times
    with pytest.raises(goro.Closed):
        p.submit(print)


def test_map_in_order_and_errors():
    p = goro.Pool()

    def slow_sq(x):
        goro.sleep(0.001 * (x % 3))
        return x * x

    assert list(p.map(slow_sq, range(50))) == [x * x for x in range(50)]
    assert list(p.map(lambda a, b: a + b, [1, 2], [10, 20])) == [11, 22]
    it = p.map(lambda x: 1 / x, [1, 0, 2])
    assert next(it) == 1.0
    with pytest.raises(ZeroDivisionError):
        next(it)
    p.close()
    p.close()


def test_errors_reported(hook):
    p = goro.Pool(workers=2)
    p.submit(lambda: 1 / 0)
    p.submit(lambda: None)
    p.wait()
    assert [type(e) for _, e in hook] == [ZeroDivisionError]


def test_backpressure():
    p = goro.Pool(workers=1, queue=1)
    gate = goro.Chan()
    p.submit(gate.recv)  # the worker blocks
    p.submit(lambda: None)  # fills the queue
    t = time.monotonic()
    goro.go(lambda: (goro.sleep(0.05), gate.send(1)))
    p.submit(lambda: None)  # waits for room
    assert time.monotonic() - t >= 0.04
    p.wait()
    p.close()


def test_bad_args():
    with pytest.raises(ValueError):
        goro.Pool(workers=0)
    with pytest.raises(ValueError):
        goro.Pool(queue=-1)
    p = goro.Pool(1)
    with pytest.raises(TypeError):
        p.submit(3)
    p.close()


def test_job_arguments_and_results_are_released_at_once():
    """What a pool job or a goroutine leaves behind (its callable, arguments, result) is
    released when it is done with it, not parked in PyO3's deferred-decref pool until some
    later goro call (the waits below are plain time.sleep, which is no goro call)."""
    import time
    import weakref

    class Obj:
        pass

    def gone(w):
        deadline = time.monotonic() + 5
        while w() is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        return w() is None

    pool = goro.Pool(workers=1)
    o = Obj()
    w = weakref.ref(o)
    pool.submit(lambda x: None, o)
    del o
    assert gone(w)
    box = [Obj()]
    w = weakref.ref(box[0])
    goro.go(box.pop)  # its result is the object
    assert gone(w)
    pool.close()
