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
