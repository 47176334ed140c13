"""asyncio forms: send_async, recv_async, async for; timeouts; cancellation consumes nothing."""
import asyncio
import time

import pytest

import goro


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_recv_async_from_goroutine_and_send_async_to_goroutine():
    async def main():
        ch = goro.Chan()
        goro.go(lambda: (goro.sleep(0.01), ch.send("hi")))
        assert await ch.recv_async() == "hi"
        out = goro.Chan(1)
        goro.go(lambda: out.send(ch.recv()))
        await ch.send_async("back")
        return out.recv(timeout=5)

    assert run(main()) == "back"


def test_async_for_and_closed():
    async def main():
        ch = goro.Chan(3)

        def prod():
            for i in range(50):
                ch.send(i)
            ch.close()

        goro.go(prod)
        got = [v async for v in ch]
        with pytest.raises(goro.Closed):
            await ch.recv_async()
        with pytest.raises(goro.Closed):
            await ch.send_async(1)
        return got

    assert run(main()) == list(range(50))


def test_timeouts():
    async def main():
        ch = goro.Chan()
        t = time.monotonic()
        with pytest.raises(TimeoutError):
            await ch.recv_async(timeout=0.03)
        assert time.monotonic() - t >= 0.025
        with pytest.raises(TimeoutError):
            await ch.send_async(1, timeout=0.01)
        with pytest.raises(TimeoutError):
            await ch.recv_async(timeout=0)
        assert ch.try_recv() == (None, False)

    run(main())


def test_cancelled_recv_consumes_nothing():
    async def main():
        ch = goro.Chan(1)
        task = asyncio.ensure_future(ch.recv_async())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        ch.send("kept")  # must go to a live receiver, not the cancelled one
        assert ch.recv(timeout=1) == "kept"
        # many cancelled waiters: none of them eats a value
        tasks = [asyncio.ensure_future(ch.recv_async()) for _ in range(50)]
        await asyncio.sleep(0.01)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for i in range(3):
            assert ch.try_send(i)
            assert ch.recv(timeout=1) == i

    run(main())


def test_cancelled_send_delivers_nothing():
    async def main():
        ch = goro.Chan()
        task = asyncio.ensure_future(ch.send_async("ghost"))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ch.try_recv() == (None, False)
        with pytest.raises(TimeoutError):
            ch.recv(timeout=0.02)

    run(main())


def test_cancel_racing_senders_loses_no_value():
    """Receivers are cancelled while goroutines send: every value sent is received once."""
    n = 2000

    async def main():
        ch = goro.Chan()
        got = []
        done = goro.WaitGroup()
        done.add(1)

        def prod():
            for i in range(n):
                ch.send(i)
            done.done()

        goro.go(prod)
        while len(got) < n:
            t = asyncio.ensure_future(ch.recv_async())
            await asyncio.sleep(0)
            t.cancel()
            try:
                got.append(await t)
            except asyncio.CancelledError:
                pass
        return got

    got = run(main())
    assert sorted(got) == list(range(n))


def test_many_loops_in_threads():
    import threading

    ch = goro.Chan()
    results = []

    def loop_thread():
        async def main():
            return [await ch.recv_async() for _ in range(100)]

        results.append(asyncio.run(main()))

    ts = [threading.Thread(target=loop_thread) for _ in range(3)]
    for t in ts:
        t.start()
    for i in range(300):
        ch.send(i)
    for t in ts:
        t.join(30)
    assert sorted(sum(results, [])) == list(range(300))


def test_waitgroup_wait_async():
    async def main():
        wg = goro.WaitGroup()
        await wg.wait_async()  # at zero: at once
        wg.add(3)
        for _ in range(3):
            goro.go(lambda: (goro.sleep(0.01), wg.done()))
        await wg.wait_async(timeout=10)
        assert wg.count == 0
        wg.add(1)
        with pytest.raises(TimeoutError):
            await wg.wait_async(timeout=0.02)
        with pytest.raises(TimeoutError):
            await wg.wait_async(timeout=0)
        # a cancelled wait consumes nothing: the WaitGroup still releases the others
        t = asyncio.ensure_future(wg.wait_async())
        other = asyncio.ensure_future(wg.wait_async())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        wg.done()
        await asyncio.wait_for(other, 10)

    run(main())


def test_mutex_lock_async_and_async_with():
    async def main():
        mu = goro.Mutex()
        await mu.lock_async()
        assert mu.locked
        goro.go(lambda: (goro.sleep(0.02), mu.unlock()))
        await mu.lock_async(timeout=10)  # handed over by the goroutine's unlock
        with pytest.raises(TimeoutError):
            await mu.lock_async(timeout=0.02)
        with pytest.raises(TimeoutError):
            await mu.lock_async(timeout=0)
        mu.unlock()
        counter = [0]

        async def bump():
            for _ in range(50):
                async with mu:
                    v = counter[0]
                    await asyncio.sleep(0)
                    counter[0] = v + 1

        def gbump():
            for _ in range(50):
                with mu:
                    counter[0] += 1

        wg = goro.WaitGroup()
        wg.add(2)
        for _ in range(2):
            goro.go(lambda: (gbump(), wg.done()))
        await asyncio.gather(bump(), bump(), bump())
        await wg.wait_async(timeout=10)
        assert counter[0] == 250
        assert not mu.locked

    run(main())


def test_cancelled_lock_async_loses_no_lock():
    """A lock handed to a waiter whose await is being cancelled is given back, not lost."""

    async def main():
        mu = goro.Mutex()
        # Handed over before the loop settles the future, then cancelled: deterministic.
        mu.lock()
        t = asyncio.ensure_future(mu.lock_async())
        await asyncio.sleep(0.01)
        mu.unlock()  # the waiter wins the lock now, on this thread
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        assert not mu.locked
        assert mu.try_lock()
        mu.unlock()
        # Cancelled while still queued: the next unlock skips it.
        mu.lock()
        t = asyncio.ensure_future(mu.lock_async())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        mu.unlock()
        assert not mu.locked
        # Racing: unlocks from a goroutine against cancels, at every interleaving.
        for i in range(300):
            mu.lock()
            t = asyncio.ensure_future(mu.lock_async())
            await asyncio.sleep(0)
            goro.go(mu.unlock)
            for _ in range(i % 4):
                await asyncio.sleep(0)
            t.cancel()
            try:
                await t
                got = True
            except asyncio.CancelledError:
                got = False
            if got:
                assert mu.locked
                mu.unlock()
            assert mu.lock(timeout=5) is None  # free, or freed by the handed-over waiter
            mu.unlock()

    run(main())


def test_pool_wait_async():
    async def main():
        done = []
        with goro.Pool(workers=2) as pool:
            for i in range(6):
                pool.submit(lambda i=i: (goro.sleep(0.01), done.append(i)))
            await pool.wait_async(timeout=10)
            assert sorted(done) == list(range(6))
            await pool.wait_async()  # nothing pending: at once

    run(main())


def test_select_async():
    async def main():
        a, b = goro.Chan(), goro.Chan()
        goro.go(lambda: (goro.sleep(0.01), b.send("b")))
        assert await goro.select_async(goro.recv(a), goro.recv(b)) == (1, "b", True)
        out = goro.Chan(1)
        goro.go(lambda: out.send(a.recv()))
        i, v, ok = await goro.select_async(goro.recv(b), goro.send(a, "to a"), timeout=10)
        assert (i, v, ok) == (1, None, True)
        assert out.recv(timeout=5) == "to a"
        with pytest.raises(TimeoutError):
            await goro.select_async(goro.recv(a), goro.recv(None), timeout=0.02)
        with pytest.raises(TimeoutError):
            await goro.select_async(goro.recv(a), timeout=0)
        a.close()
        assert await goro.select_async(goro.recv(a), goro.recv(b)) == (0, None, False)

    run(main())


def test_select_async_cancelled_and_timed_out_send_nothing():
    import gc
    import weakref

    class Obj:
        pass

    async def main():
        ch = goro.Chan()
        o = Obj()
        w = weakref.ref(o)
        t = asyncio.ensure_future(goro.select_async(goro.send(ch, o), goro.send(None, o)))
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
        with pytest.raises(TimeoutError):
            await goro.select_async(goro.send(ch, o), goro.recv(ch), timeout=0.01)
        assert ch.try_recv() == (None, False)
        del o, t
        await asyncio.sleep(0)  # the loop's handle that resumed us holds the last future
        gc.collect()
        assert w() is None

    run(main())
